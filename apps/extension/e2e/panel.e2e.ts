import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { POLL_INTERVAL_MS } from '../src/utils/messages.ts';
import { CREATOR, LEO, MIA, SAM } from './fixtures/onlyfans.ts';
import {
  devToken,
  joinByInvite,
  freePort,
  launchWithExtension,
  rest,
  routeOnlyFans,
  startApi,
  type Api,
  type Browser,
} from './harness.ts';

const OWNER = '0a0a0a0a-0000-4000-8000-000000000001';
const TEAMMATE = '0b0b0b0b-0000-4000-8000-000000000002';
const CHATTER = '0c0c0c0c-0000-4000-8000-000000000003';
const screenshots = fileURLToPath(new URL('../docs/', import.meta.url));
const CHAT = `https://onlyfans.com/my/chats/chat/${SAM.id}/`;
const PANEL = '#fannotes-panel';

let dataDir: string;
let port: number;
let api: Api;
let browser: Browser;
let page: Page;
let ownerToken: string;
let teammateToken: string;
let accountId: string;
const timings: Record<string, number> = {};

/** Every live note of a fan, read through REST as any other client would. */
async function restNotes(fanId: string | number): Promise<{ id: string; content: string; source: string }[]> {
  const data = await rest(api.url, ownerToken, 'POST', '/sync-notes', { fanId: String(fanId) });
  return data.notes;
}

/** When (ms after navigation start) the panel first lists a note: polled every frame in the page. */
async function notesVisibleAt(target: Page): Promise<number> {
  const handle = await target.waitForFunction(
    () => {
      const root = document.getElementById('fannotes-panel')?.shadowRoot;
      return root?.querySelector('li.note[data-note-id]') ? performance.now() : 0;
    },
    undefined,
    { polling: 'raf', timeout: 20_000 },
  );
  return Math.round(await handle.jsonValue());
}

const note = (text: string) => page.locator(`${PANEL} li.note`, { hasText: text });
const status = () => page.locator(`${PANEL} .status`);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fannotes-e2e-api-'));
  port = await freePort();
  api = await startApi(dataDir, port);
  ownerToken = await devToken(dataDir, OWNER);
  teammateToken = await devToken(dataDir, TEAMMATE);

  // The CRM side, through REST: the creator's account, a teammate, Sam, and two notes about him.
  const account = await rest(api.url, ownerToken, 'POST', '/accounts', {
    onlyFansUserId: String(CREATOR.id),
    username: CREATOR.username,
  });
  accountId = account.id;
  await joinByInvite(api.url, ownerToken, accountId, teammateToken, 'chatter');
  await rest(api.url, ownerToken, 'POST', '/fans', {
    accountId,
    fanId: String(SAM.id),
    username: SAM.username,
    name: SAM.name,
  });
  await rest(api.url, ownerToken, 'POST', '/update-note', {
    fanId: String(SAM.id),
    content: 'Tips on Fridays after payday',
    type: 'payment',
  });
  await rest(api.url, ownerToken, 'POST', '/update-note', {
    fanId: String(SAM.id),
    content: 'Loves gym content; ask about his marathon',
    type: 'preferences',
    color: '#12B76A',
    isPinned: true,
  });

  browser = await launchWithExtension();
  await browser.worker.evaluate(
    async (settings) => {
      await (globalThis as any).chrome.storage.local.set({ settings });
    },
    { apiUrl: api.url, appOrigin: '', devToken: ownerToken },
  );

  // onlyfans.com is HSTS: its pages and JSON come from fixtures, through the browser's own stack.
  await routeOnlyFans(browser.context);
  page = await browser.context.newPage();
}, 120_000);

afterAll(async () => {
  process.stdout.write(`\npage load -> notes visible: ${JSON.stringify(timings)} (ms)\n`);
  await browser?.close();
  await api?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the notes panel on onlyfans.com', () => {
  test('shows the notes written through REST, pinned first, with type and colour', async () => {
    await page.goto(CHAT);
    timings.firstOpen = await notesVisibleAt(page);
    await note('Tips on Fridays').waitFor();
    const items = page.locator(`${PANEL} li.note`);
    await expect.poll(() => items.count()).toBeGreaterThanOrEqual(2);
    const first = items.first();
    expect(await first.textContent()).toContain('Loves gym content');
    expect(await first.locator('.badge.pinned').count()).toBe(1);
    expect(await first.locator('.badge.type').textContent()).toBe('preferences');
    expect(await first.getAttribute('style')).toContain('#12B76A');
    await page.locator(`${PANEL} h2`, { hasText: 'Sam (gym)' }).waitFor();
  });

  test("shows the fixture's OnlyFans note, marked as such", async () => {
    const onlyFans = page.locator(`${PANEL} li.note[data-source="onlyfans"]`);
    await onlyFans.waitFor({ timeout: 15_000 });
    expect(await onlyFans.locator('.content').textContent()).toBe(SAM.notice);
    expect(await onlyFans.locator('.badge.onlyfans').textContent()).toBe('OnlyFans note');
    // The server stored it as an OnlyFans note, once.
    const stored = (await restNotes(SAM.id)).filter((n) => n.source === 'onlyfans');
    expect(stored.map((n) => n.content)).toEqual([SAM.notice]);
    await status().filter({ hasText: 'Synced' }).waitFor();
    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'panel-light.png') });
  });

  test('a note added in the panel is visible through REST', async () => {
    await page
      .locator(`${PANEL} textarea[aria-label="New note"]`)
      .fill('Wants a custom video for his birthday');
    await page.locator(`${PANEL} select[aria-label="Type of the new note"]`).selectOption('content');
    await page.locator(`${PANEL} button[type="submit"]`, { hasText: 'Add' }).click();
    await note('Wants a custom video').waitFor();
    await page
      .locator(`${PANEL} li.note[data-pending="false"]`, { hasText: 'Wants a custom video' })
      .waitFor({ timeout: 15_000 });
    const stored = (await restNotes(SAM.id)).filter(
      (n) => n.content === 'Wants a custom video for his birthday',
    );
    expect(stored).toHaveLength(1);
  });

  test("a teammate's note written through REST appears after a refresh", async () => {
    await rest(api.url, teammateToken, 'POST', '/update-note', {
      fanId: String(SAM.id),
      content: 'Teammate: asked for a discount, said no',
    });
    await page.locator(`${PANEL} button[aria-label="Refresh notes"]`).click();
    await note('Teammate: asked for a discount').waitFor({ timeout: 15_000 });
  });

  test("a teammate's note appears in the open panel with no action (live updates; the 20 s poll when the stream is down)", async () => {
    await rest(api.url, teammateToken, 'POST', '/update-note', {
      fanId: String(SAM.id),
      content: 'Teammate: prefers voice notes',
    });
    await note('Teammate: prefers voice notes').waitFor({ timeout: POLL_INTERVAL_MS + 10_000 });
  });

  test("a teammate's note written just after a sync shows on reopening, throttle or not (issue 15)", async () => {
    await rest(api.url, teammateToken, 'POST', '/update-note', {
      fanId: String(SAM.id),
      content: 'Teammate: birthday next week',
    });
    // Within the 30 s throttle of the last sync: the panel still asks the API for the stored notes.
    await page.reload();
    await note('Teammate: birthday next week').waitFor({ timeout: 10_000 });
  });

  test('with the API stopped a new note shows as pending, and after the API returns it is stored exactly once', async () => {
    await api.stop();
    await page.locator(`${PANEL} textarea[aria-label="New note"]`).fill('Written while the API was down');
    await page.locator(`${PANEL} textarea[aria-label="New note"]`).press('Control+Enter');
    await page
      .locator(`${PANEL} li.note[data-pending="true"]`, { hasText: 'Written while the API was down' })
      .waitFor();
    // Retries (the runner's, and the live stream's fallback poll) show "Syncing" while they run: what
    // the chatter must be told in between is that the API is offline and one note waits.
    await page
      .locator(`${PANEL} .status[data-state="offline"]`, { hasText: /Offline · 1 pending|1 pending/ })
      .waitFor({ timeout: 15_000 });

    api = await startApi(dataDir, port);
    // No user action: the background retries by itself (backoff, timers and alarms).
    await page
      .locator(`${PANEL} li.note[data-pending="false"]`, { hasText: 'Written while the API was down' })
      .waitFor({ timeout: 60_000 });
    await status().filter({ hasText: 'Synced' }).waitFor({ timeout: 15_000 });
    const stored = (await restNotes(SAM.id)).filter((n) => n.content === 'Written while the API was down');
    expect(stored).toHaveLength(1);
  });

  test('reopening the chat shows the cached notes at once', async () => {
    await page.reload();
    timings.cachedOpen = await notesVisibleAt(page);
    expect(await note('Written while the API was down').count()).toBe(1);
  });

  test('follows single-page navigation to a fan profile, registering a fan new to the CRM', async () => {
    await page.locator('a[data-spa]', { hasText: 'Mia (profile)' }).click();
    await page.waitForURL(`https://onlyfans.com/${MIA.username}`);
    await page.locator(`${PANEL} h2`, { hasText: 'Mia' }).waitFor();
    await page
      .locator(`${PANEL} .empty`, { hasText: 'No notes about this fan yet' })
      .waitFor({ timeout: 15_000 });
    // The background registered Mia under the creator's account (from OnlyFans' /users/me).
    expect(await restNotes(MIA.id)).toEqual([]);
    await page.goBack();
    await page.locator(`${PANEL} h2`, { hasText: 'Sam (gym)' }).waitFor();
  });

  test('dark theme: the panel follows the page', async () => {
    await page.goto(`${CHAT}?theme=dark`);
    await notesVisibleAt(page);
    await status().filter({ hasText: 'Synced' }).waitFor({ timeout: 15_000 });
    expect(await page.locator(PANEL).getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(screenshots, 'panel-dark.png') });
  });
});

describe('a chatter made a viewer on one account while offline (issue 14)', () => {
  const chatOf = (fan: { id: number }) => `https://onlyfans.com/my/chats/chat/${fan.id}/`;
  const write = async (text: string) => {
    await page.locator(`${PANEL} textarea[aria-label="New note"]`).fill(text);
    await page.locator(`${PANEL} textarea[aria-label="New note"]`).press('Control+Enter');
    await page.locator(`${PANEL} li.note[data-pending="true"]`, { hasText: text }).waitFor();
  };
  const unsaved = () => page.locator(`${PANEL} .unsaved`);
  let secondAccount: string;

  test("the other fans' notes arrive; the refused fan's note is shown as not saved, with the reason and a copy button", async () => {
    // The owner runs two creator pages: Sam and Mia are fans of the first, Leo of the second, and a
    // chatter works on both (through REST, as the CRM's web app would).
    const second = await rest(api.url, ownerToken, 'POST', '/accounts', {
      onlyFansUserId: '900002',
      username: 'creator_two',
    });
    secondAccount = second.id;
    const chatterToken = await devToken(dataDir, CHATTER);
    for (const account of [accountId, secondAccount]) {
      await joinByInvite(api.url, ownerToken, account, chatterToken, 'chatter');
    }
    await rest(api.url, ownerToken, 'POST', '/fans', { accountId, fanId: String(MIA.id) });
    await rest(api.url, ownerToken, 'POST', '/fans', {
      accountId: secondAccount,
      fanId: String(LEO.id),
      username: LEO.username,
      name: LEO.name,
    });
    // The extension is signed in as the chatter now.
    await browser.worker.evaluate(
      async (settings) => {
        await (globalThis as any).chrome.storage.local.set({ settings });
      },
      { apiUrl: api.url, appOrigin: '', devToken: chatterToken },
    );
    await page.goto(CHAT);
    await note('Tips on Fridays').waitFor({ timeout: 20_000 });

    // Offline, the chatter writes about three fans, Leo first: the head of the outbox.
    await api.stop();
    await page.goto(chatOf(LEO));
    await page.locator(`${PANEL} h2`, { hasText: 'Leo' }).waitFor();
    await write('Leo: wants a shout-out on his birthday, 2 March');
    await page.goto(CHAT);
    await write('Sam: back from holiday next week');
    await page.goto(chatOf(MIA));
    await page.locator(`${PANEL} h2`, { hasText: 'Mia' }).waitFor();
    await write('Mia: prefers voice notes');
    await status()
      .filter({ hasText: /3 pending/ })
      .waitFor({ timeout: 15_000 });

    // Meanwhile the owner makes the chatter a viewer on Leo's account (an API the extension cannot
    // reach), and then the API the extension knows comes back.
    const elsewhere = await startApi(dataDir, await freePort());
    await rest(elsewhere.url, ownerToken, 'POST', `/accounts/${secondAccount}/members`, {
      userId: CHATTER,
      role: 'viewer',
    });
    await elsewhere.stop();
    api = await startApi(dataDir, port);
    // The chatter presses refresh (a user action skips the backoff the outage built up).
    await page.locator(`${PANEL} button[aria-label="Refresh notes"]`).click();

    await expect
      .poll(async () => (await restNotes(MIA.id)).map((n) => n.content), { timeout: 30_000 })
      .toEqual(['Mia: prefers voice notes']);
    expect(
      (await restNotes(SAM.id)).filter((n) => n.content === 'Sam: back from holiday next week'),
    ).toHaveLength(1);
    expect(await restNotes(LEO.id)).toEqual([]);
    await status().filter({ hasText: 'Synced' }).waitFor({ timeout: 15_000 });
    // Mia's panel says another fan has a change that was not saved, with a link to him.
    await unsaved().filter({ hasText: 'Changes for other fans: Leo (1)' }).waitFor();

    await page.goto(chatOf(LEO));
    const item = unsaved().locator('li.unsaved-item');
    await item.waitFor();
    expect(await unsaved().locator('h3').textContent()).toBe('Not saved (1)');
    expect(await item.locator('.unsaved-text').textContent()).toBe(
      'Leo: wants a shout-out on his birthday, 2 March',
    );
    expect(await item.locator('.unsaved-reason').textContent()).toContain('read notes but not write them');
    expect(await item.locator('button').allTextContents()).toEqual(['Copy text', 'Try again', 'Dismiss']);
    // The note is no longer shown as pending among Leo's notes: it is only in the list above.
    expect(await note('Leo: wants a shout-out').count()).toBe(0);
    // A viewer still reads Leo's notes (none yet), and nothing shows as an error.
    await page
      .locator(`${PANEL} .empty`, { hasText: 'No notes about this fan yet' })
      .waitFor({ timeout: 15_000 });
    await status().filter({ hasText: 'Synced' }).waitFor({ timeout: 15_000 });
    expect(await page.locator(`${PANEL} .notice`).isHidden()).toBe(true);
    await page.screenshot({ path: join(screenshots, 'panel-not-saved.png') });

    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: 'https://onlyfans.com',
    });
    await item.locator('button', { hasText: 'Copy text' }).click();
    await item.locator('.copied', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      'Leo: wants a shout-out on his birthday, 2 March',
    );
  });

  test('dismiss removes the not-saved note', async () => {
    await unsaved().locator('button', { hasText: 'Dismiss' }).click();
    await unsaved().waitFor({ state: 'hidden' });
    const stored = await browser.worker.evaluate(
      async () => (await (globalThis as any).chrome.storage.local.get('unsaved')).unsaved,
    );
    expect(stored).toEqual([]);
  });
});
