import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { HttpServer } from './server.ts';

// Interactive docs from the swagger-ui-dist package, served from here: no CDN.
const swaggerDir = join(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'), '..');
const docsAssets = new Map([
  ['swagger-ui.css', 'text/css'],
  ['swagger-ui-bundle.js', 'text/javascript'],
  ['favicon-32x32.png', 'image/png'],
]);
const docsPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>FanNotes Sync API</title>
<link rel="icon" href="/docs/favicon-32x32.png"><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body>
</html>`;
const docsInit = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#docs', deepLinking: true });`;
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

/** `GET /api/openapi.json` and `GET /docs` (Swagger UI on that document). */
export function registerDocs(app: HttpServer, publicUrl: string | undefined): void {
  let openApiJson: Promise<string> | undefined;
  app.get('/api/openapi.json', async (_request, reply) => {
    // Built on first request, by a module loaded then (its own chunk of the bundle, with the OpenAPI
    // generator): a process that is never asked for it does not hold them. From configuration only: a
    // document built from the first request's Host was cached for all.
    openApiJson ??= import('./openapi.ts')
      .then(({ createOpenApiDocument }) => JSON.stringify(createOpenApiDocument(`${publicUrl ?? ''}/api`)))
      .catch((error: unknown) => {
        // Not kept: the next request tries again.
        openApiJson = undefined;
        throw error;
      });
    return reply.type('application/json').send(await openApiJson);
  });
  app.get('/docs', (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', csp).send(docsPage),
  );
  app.get<{ Params: { name: string } }>('/docs/:name', async (request, reply) => {
    const { name } = request.params;
    if (name === 'init.js') return reply.type('text/javascript').send(docsInit);
    const type = docsAssets.get(name);
    if (!type) return reply.callNotFound();
    const body = await readFile(join(swaggerDir, name));
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
