import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { mintToken } from '../../api/src/auth/dev-keys.ts';
import { onlyFansJson } from './fixtures/onlyfans.ts';

const apiDir = fileURLToPath(new URL('../../api/', import.meta.url));
export const extensionDir = fileURLToPath(new URL('../.output/chrome-mv3/', import.meta.url));
/** The issuer development tokens carry (apps/api/src/auth/dev-keys.ts). */
const DEV_ISSUER = 'http://127.0.0.1:54321/auth/v1';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Api {
  url: string;
  stop(): Promise<void>;
}

/**
 * The API as `pnpm start` runs it (development mode, embedded PGlite under `dataDir`), on `port`.
 * With `databaseUrl`, on that PostgreSQL database instead: then several processes may share `dataDir`
 * (it only holds the development signing secret; start the first one alone, it writes the secret).
 */
export async function startApi(dataDir: string, port: number, databaseUrl?: string): Promise<Api> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: apiDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API did not start:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`API exited (${code}) before listening:\n${output.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A development token for `userId`, signed with the secret the API keeps in `dataDir`. */
export async function devToken(dataDir: string, userId: string): Promise<string> {
  const secret = (await readFile(join(dataDir, 'dev-jwt-secret'), 'utf8')).trim();
  return mintToken({ secret, issuer: DEV_ISSUER, userId, expiresInSec: 3600 });
}

/** A REST call to the API, as any non-extension client makes it; throws on a non-2xx answer. */
export async function rest<T = any>(
  api: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${api}/api/v2${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as { data: T };
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json.data;
}

/** The user of `joinerToken` joins the account as everyone does: an invite of `inviterToken`, redeemed. */
export async function joinByInvite(
  api: string,
  inviterToken: string,
  accountId: string,
  joinerToken: string,
  role: 'owner' | 'manager' | 'chatter' | 'viewer',
): Promise<void> {
  const invite = await rest<{ code: string }>(api, inviterToken, 'POST', `/accounts/${accountId}/invites`, {
    role,
  });
  await rest(api, joinerToken, 'POST', '/invites/redeem', { code: invite.code });
}

/** Debian's Chromium (installed by .ci/run), never a downloaded browser. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((path): path is string => Boolean(path) && existsSync(path!));
  if (!found) throw new Error('Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH).');
  return found;
}

export interface Browser {
  context: BrowserContext;
  worker: Worker;
  extensionId: string;
  close(): Promise<void>;
}

/** Headless Chromium with the built extension loaded, in a fresh profile. */
export async function launchWithExtension(): Promise<Browser> {
  if (!existsSync(join(extensionDir, 'manifest.json'))) {
    throw new Error(`No built extension in ${extensionDir}: run \`pnpm build\` first.`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'fannotes-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    viewport: { width: 1280, height: 760 },
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
    ],
  });
  const worker =
    context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  const extensionId = new URL(worker.url()).host;
  return { context, worker, extensionId, close: () => context.close() };
}

/**
 * Serves onlyfans.com from the fixtures, through the browser's own stack (onlyfans.com is HSTS, so an
 * `http://` server cannot stand in for it).
 */
export async function routeOnlyFans(context: BrowserContext): Promise<void> {
  const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
  const html = await readFile(join(fixtures, 'page.html'), 'utf8');
  const appJs = await readFile(join(fixtures, 'app.js'), 'utf8');
  await context.route('https://onlyfans.com/**', async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.startsWith('/api2/v2/')) {
      const body = onlyFansJson(url);
      return body === null
        ? route.fulfill({ status: 404, json: { error: { message: 'Not found' } } })
        : route.fulfill({ json: body });
    }
    if (url.pathname === '/fixture-app.js')
      return route.fulfill({ body: appJs, contentType: 'text/javascript' });
    if (url.pathname === '/favicon.ico') return route.fulfill({ status: 404, body: '' });
    return route.fulfill({ body: html, contentType: 'text/html' });
  });
}

/** The extension's settings, written into its storage (as the options page would). */
export async function configure(
  browser: Browser,
  settings: { apiUrl: string; appOrigin?: string; devToken: string },
): Promise<void> {
  await (
    await currentWorker(browser)
  ).evaluate(
    async (value) => {
      await (globalThis as any).chrome.storage.local.set({ settings: value });
    },
    { appOrigin: '', ...settings },
  );
}

/** The extension's service worker running now (a stopped one is started again by any extension event). */
export async function currentWorker(browser: Browser): Promise<Worker> {
  const prefix = `chrome-extension://${browser.extensionId}/`;
  const running = browser.context.serviceWorkers().find((worker) => worker.url().startsWith(prefix));
  return (
    running ??
    (await browser.context.waitForEvent('serviceworker', {
      predicate: (worker) => worker.url().startsWith(prefix),
      timeout: 30_000,
    }))
  );
}

/**
 * A page of the extension (its options page): it reads the extension's storage and holds a CDP
 * session that can stop the service worker, without depending on that worker being alive.
 */
export async function extensionPage(browser: Browser): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  return page;
}

/** What the background stores about its live-update stream (utils/live-updates.ts). */
export async function liveStatus(extension: Page): Promise<{ state: string; since: number } | null> {
  return extension.evaluate(
    async () => ((await (globalThis as any).chrome.storage.local.get('live')).live as never) ?? null,
  );
}

export interface Link {
  /** The address a client uses instead of the target's. */
  url: string;
  /** Drops every open connection and refuses new ones: to that client, the target is unreachable. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay to `target` (http://host:port) that a test can cut and restore, to take one client
 * offline while others stay connected (the extension's requests run in its service worker, out of
 * reach of the page's network emulation).
 */
export async function cuttableLink(target: string): Promise<Link> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let isCut = false;
  const server = createServer((client) => {
    if (isCut) return client.destroy();
    const upstream = connect(Number(port), hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  const listenPort = await freePort();
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${listenPort}`,
    cut() {
      isCut = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
