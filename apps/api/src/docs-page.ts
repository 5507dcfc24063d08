import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Interactive docs from the swagger-ui-dist package, served from here: no CDN.
const swaggerDir = join(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'), '..');
const docsAssets: Record<string, string> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
};
const docsPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>FanNotes Sync API</title>
<link rel="icon" href="/docs/favicon-32x32.png"><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body>
</html>`;
const docsInit = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#docs', deepLinking: true });`;

export async function serveDocs(path: string, res: ServerResponse, notFound: () => void): Promise<void> {
  const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";
  if (path === '/docs' || path === '/docs/') {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp })
      .end(docsPage);
    return;
  }
  const name = path.slice('/docs/'.length);
  if (name === 'init.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(docsInit);
    return;
  }
  const type = docsAssets[name];
  if (!type) return notFound();
  const body = await readFile(join(swaggerDir, name));
  res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=86400' }).end(body);
}
