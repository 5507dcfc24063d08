import { request } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './harness.ts';

// The OpenAPI document is built once per process and served to everyone: nothing in it may come from
// a request. A forged `Host` on the first request used to set `servers` for every later client.

let app: TestApp | undefined;
afterEach(() => app?.close());

/** GET with an explicit Host header (fetch does not let a caller set one). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const serversOf = (body: string) => (JSON.parse(body) as { servers: { url: string }[] }).servers;

test('a forged Host on the first request does not reach the document: servers stay relative', async () => {
  app = await createTestApp();
  const base = await app.listen();
  const forged = await getWithHost(base, '/api/openapi.json', 'attacker.example:8443');
  expect(forged.status).toBe(200);
  expect(serversOf(forged.body)).toEqual([{ url: '/api' }]);
  const later = await getWithHost(base, '/api/openapi.json', '127.0.0.1');
  expect(later.body).toBe(forged.body);
  expect(later.body).not.toContain('attacker.example');
});

test('with PUBLIC_URL the document names it, whatever Host the request carries', async () => {
  app = await createTestApp({ publicUrl: 'https://api.fannotes.example' });
  const base = await app.listen();
  const forged = await getWithHost(base, '/api/openapi.json', 'attacker.example:8443');
  expect(serversOf(forged.body)).toEqual([{ url: 'https://api.fannotes.example/api' }]);
});
