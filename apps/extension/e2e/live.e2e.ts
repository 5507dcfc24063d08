import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../packages/db/src/testing.ts';
import { POLL_INTERVAL_MS } from '../src/utils/messages.ts';
import { CREATOR, SAM } from './fixtures/onlyfans.ts';
import {
  configure,
  devToken,
  joinByInvite,
  extensionPage,
  freePort,
  launchWithExtension,
  liveStatus,
  rest,
  routeOnlyFans,
  startApi,
  type Api,
  type Browser,
} from './harness.ts';

// Live updates (issue 15): a teammate's note appears in an open panel without any action, within a
// second, across API processes; and a stopped service worker gets its stream back.

const OWNER = '0a0a0a0a-0000-4000-8000-000000000001';
const TEAMMATE = '0b0b0b0b-0000-4000-8000-000000000002';
const CHAT = `https://onlyfans.com/my/chats/chat/${SAM.id}/`;
const WRITES = 20;
/** A note not visible this long after its write is counted as missed. */
const MISSED_AFTER_MS = 10_000;

/** The creator's account with a teammate and Sam, through REST as the CRM's web app would. */
async function seedTeam(api: string, ownerToken: string, teammateToken: string): Promise<void> {
  const account = await rest(api, ownerToken, 'POST', '/accounts', {
    onlyFansUserId: String(CREATOR.id),
    username: CREATOR.username,
  });
  await joinByInvite(api, ownerToken, account.id, teammateToken, 'chatter');
  await rest(api, ownerToken, 'POST', '/fans', {
    accountId: account.id,
    fanId: String(SAM.id),
    username: SAM.username,
    name: SAM.name,
  });
}

/** Chromium with the extension signed in as the owner against `api`, Sam's chat open and synced. */
async function openPanel(api: string, ownerToken: string) {
  const browser = await launchWithExtension();
  await configure(browser, { apiUrl: api, devToken: ownerToken });
  await routeOnlyFans(browser.context);
  const extension = await extensionPage(browser);
  const page = await browser.context.newPage();
  await page.goto(CHAT);
  await page.locator('#fannotes-panel .status', { hasText: 'Synced' }).waitFor({ timeout: 30_000 });
  await waitForStream(extension);
  return { browser, extension, page };
}

/**
 * When (epoch ms) the background's stream was open, once it is (and opened after `after`, epoch ms):
 * awaited on the extension's storage events, in an extension page.
 */
async function waitForStream(extension: Page, after = 0, timeout = 15_000): Promise<number> {
  const since = await extension.evaluate(
    ({ after, timeout }) =>
      new Promise<number | null>((resolve) => {
        const chrome = (globalThis as any).chrome;
        const opened = (live: { state: string; since: number } | undefined) =>
          live?.state === 'open' && live.since > after ? live.since : null;
        const timer = setTimeout(() => resolve(null), timeout);
        const done = (since: number) => {
          clearTimeout(timer);
          chrome.storage.onChanged.removeListener(listener);
          resolve(since);
        };
        const listener = (changes: Record<string, { newValue?: any }>) => {
          const since = opened(changes.live?.newValue);
          if (since !== null) done(since);
        };
        chrome.storage.onChanged.addListener(listener);
        void chrome.storage.local.get('live').then((items: { live?: any }) => {
          const since = opened(items.live);
          if (since !== null) done(since);
        });
      }),
    { after, timeout },
  );
  if (since === null) throw new Error(`the live-update stream did not open within ${timeout} ms`);
  return since;
}

/**
 * When (epoch ms) the panel first lists a note with `text`: checked every frame in the page. Starts
 * watching at once; resolves null after MISSED_AFTER_MS.
 */
function visibleAt(page: Page, text: string): Promise<number | null> {
  return page.evaluate(
    ({ text, limit }) =>
      new Promise<number | null>((resolve) => {
        const start = Date.now();
        const check = () => {
          const root = document.getElementById('fannotes-panel')?.shadowRoot;
          const found = [...(root?.querySelectorAll('li.note .content') ?? [])].some(
            (node) => node.textContent === text,
          );
          if (found) return resolve(Date.now());
          if (Date.now() - start > limit) return resolve(null);
          requestAnimationFrame(check);
        };
        check();
      }),
    { text, limit: MISSED_AFTER_MS },
  );
}

/**
 * `WRITES` teammate notes through REST on `writeApi`, one after another: for each, the time from the
 * write's answer to the note in the panel's DOM. Prints one line with the figures.
 */
async function measure(label: string, page: Page, writeApi: string, teammateToken: string) {
  const latencies: number[] = [];
  let missed = 0;
  for (let i = 1; i <= WRITES; i++) {
    const text = `Teammate live note ${i} (${randomUUID().slice(0, 8)})`;
    const seen = visibleAt(page, text);
    await rest(writeApi, teammateToken, 'POST', '/update-note', { fanId: String(SAM.id), content: text });
    const written = Date.now();
    const at = await seen;
    if (at === null) missed++;
    else latencies.push(Math.max(0, at - written));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  const figures = { writes: WRITES, missed, p50: pct(50), p95: pct(95), max: sorted.at(-1) ?? NaN };
  // One line to quote: write answered -> note visible in the open panel.
  process.stdout.write(
    `\n[live e2e] ${label}: ${WRITES} writes, p50 ${figures.p50} ms, p95 ${figures.p95} ms, ` +
      `max ${figures.max} ms, missed ${missed}\n`,
  );
  return figures;
}

describe('live updates, one API process (embedded PGlite)', () => {
  let dataDir: string;
  let api: Api;
  let browser: Browser;
  let extension: Page;
  let page: Page;
  let teammateToken: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fannotes-e2e-live-'));
    api = await startApi(dataDir, await freePort());
    const ownerToken = await devToken(dataDir, OWNER);
    teammateToken = await devToken(dataDir, TEAMMATE);
    await seedTeam(api.url, ownerToken, teammateToken);
    ({ browser, extension, page } = await openPanel(api.url, ownerToken));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a teammate's notes appear in the open panel without reload: p95 under a second, none missed", async () => {
    const figures = await measure('one process (PGlite)', page, api.url, teammateToken);
    expect(figures.missed).toBe(0);
    // The 20 s poll could not do this: the stream did.
    expect(figures.p95).toBeLessThan(1_000);
    expect(POLL_INTERVAL_MS).toBeGreaterThan(10 * 1_000);
  });

  test('the service worker stopped while the panel is open gets its stream back', async () => {
    const before = (await liveStatus(extension))!;
    expect(before.state).toBe('open');
    const cdp: CDPSession = await browser.context.newCDPSession(extension);
    const versions: { versionId: string; registrationId: string; runningStatus: string }[] = [];
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions: updated }) => versions.push(...updated));
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => versions.some((v) => v.runningStatus === 'running')).toBe(true);
    const stoppedAt = Date.now();
    await cdp.send('ServiceWorker.stopAllWorkers');
    await expect.poll(() => versions.at(-1)?.runningStatus, { timeout: 10_000 }).not.toBe('running');

    // Written while the worker is stopped or restarting: the panel's port wakes it, and its new
    // stream (or the pull on opening it) brings the note, long before the 20 s poll would.
    const text = `Teammate after the worker stopped (${randomUUID().slice(0, 8)})`;
    const seen = visibleAt(page, text);
    await rest(api.url, teammateToken, 'POST', '/update-note', { fanId: String(SAM.id), content: text });
    const written = Date.now();
    const reopened = await waitForStream(extension, before.since, 10_000);
    const at = await seen;
    expect(at).not.toBeNull();
    process.stdout.write(
      `\n[live e2e] worker stopped: stream open again after ${reopened - stoppedAt} ms; ` +
        `note written after the stop visible ${at! - written} ms after its write\n`,
    );
    expect(at! - written).toBeLessThan(5_000);

    // And the new stream carries pokes: the next note arrives as fast as before.
    const next = `Teammate after the restart (${randomUUID().slice(0, 8)})`;
    const nextSeen = visibleAt(page, next);
    await rest(api.url, teammateToken, 'POST', '/update-note', { fanId: String(SAM.id), content: next });
    const nextWritten = Date.now();
    const nextAt = await nextSeen;
    expect(nextAt).not.toBeNull();
    expect(nextAt! - nextWritten).toBeLessThan(1_000);
    await cdp.detach();
  });
});

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)('live updates, two API processes on PostgreSQL (DATABASE_URL)', () => {
  let dataDir: string;
  let database: TestDatabase;
  let a: Api;
  let b: Api;
  let browser: Browser;
  let page: Page;
  let teammateToken: string;

  beforeAll(async () => {
    database = await createTestDatabase({ url: databaseUrl, maxConnections: 1 });
    dataDir = await mkdtemp(join(tmpdir(), 'fannotes-e2e-live-pg-'));
    // A first: it writes the development signing secret that B then reads from the same directory.
    a = await startApi(dataDir, await freePort(), database.url);
    b = await startApi(dataDir, await freePort(), database.url);
    const ownerToken = await devToken(dataDir, OWNER);
    teammateToken = await devToken(dataDir, TEAMMATE);
    await seedTeam(a.url, ownerToken, teammateToken);
    ({ browser, page } = await openPanel(a.url, ownerToken));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a teammate's notes written on process B appear in a panel served by process A: p95 under a second, none missed", async () => {
    const figures = await measure(
      'two processes (PostgreSQL), extension on A, writes on B',
      page,
      b.url,
      teammateToken,
    );
    expect(figures.missed).toBe(0);
    expect(figures.p95).toBeLessThan(1_000);
  });
});

if (!databaseUrl) {
  process.stdout.write(
    '\n[live e2e] two API processes on PostgreSQL: skipped, DATABASE_URL is not set ' +
      '(e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)\n',
  );
}
