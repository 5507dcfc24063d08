import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { POLL_INTERVAL_MS } from '../src/utils/messages.ts';
import { CREATOR, SAM } from './fixtures/onlyfans.ts';
import {
  configure,
  cuttableLink,
  devToken,
  extensionPage,
  freePort,
  launchWithExtension,
  rest,
  routeOnlyFans,
  startApi,
  type Api,
  type Browser,
  type Link,
} from './harness.ts';

// Two people, each in their own Chromium with the extension: Ana owns the creator's account at her
// agency, Ben joins it with her invite. Ben reaches the API through a link the test can cut, to take
// only him offline.
const ANA = '0a0a0a0a-0000-4000-8000-00000000a001';
const BEN = '0b0b0b0b-0000-4000-8000-00000000b002';
const CHAT = `https://onlyfans.com/my/chats/chat/${SAM.id}/`;
const PANEL = '#fannotes-panel';
/** Live updates carry a teammate's change; when the stream is down, the poll does within this. */
const LIVE = POLL_INTERVAL_MS + 15_000;

interface Chatter {
  browser: Browser;
  token: string;
  /** The options page (Team screen). */
  team: Page;
  /** The fan's chat on onlyfans.com, with the panel. */
  chat: Page;
}

let dataDir: string;
let api: Api;
let benLink: Link;
let accountId: string;
let inviteCode: string;
const ana = {} as Chatter;
const ben = {} as Chatter;

const note = (who: Chatter, text: string) => who.chat.locator(`${PANEL} li.note`, { hasText: text });
const byline = (who: Chatter, text: string) => note(who, text).locator('.byline').first();
const status = (who: Chatter) => who.chat.locator(`${PANEL} .status`);
const conflict = (who: Chatter, text: string) => who.chat.locator(`${PANEL} .conflict`, { hasText: text });

async function open(who: Chatter, apiUrl: string): Promise<void> {
  who.browser = await launchWithExtension();
  await configure(who.browser, { apiUrl, devToken: who.token });
  await routeOnlyFans(who.browser.context);
  who.team = await extensionPage(who.browser);
}

/** Changes the signed-in member's display name in the Team screen. */
async function setName(who: Chatter, name: string): Promise<void> {
  await who.team.locator('#you button', { hasText: 'Change your name' }).click();
  await who.team.locator('#display-name').fill(name);
  await who.team.locator('#you button[type="submit"]').click();
  await who.team.locator('#you .notice', { hasText: 'Saved.' }).waitFor();
  expect(await who.team.locator('#you .display-name').textContent()).toBe(name);
}

/** Writes a new note in the panel and waits until the API has it. */
async function addNote(who: Chatter, text: string): Promise<void> {
  await who.chat.locator(`${PANEL} textarea[aria-label="New note"]`).fill(text);
  await who.chat.locator(`${PANEL} textarea[aria-label="New note"]`).press('Control+Enter');
  await who.chat
    .locator(`${PANEL} li.note[data-pending="false"]`, { hasText: text })
    .waitFor({ timeout: 20_000 });
}

/** Opens the editor of a note: one click, even right after writing in the add box (which then folds). */
async function startEditing(who: Chatter, text: string): Promise<void> {
  await note(who, text).locator('button', { hasText: 'Edit' }).click();
  await who.chat.locator(`${PANEL} textarea[data-editor]`).waitFor({ timeout: 5_000 });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fannotes-e2e-two-'));
  api = await startApi(dataDir, await freePort());
  benLink = await cuttableLink(api.url);
  ana.token = await devToken(dataDir, ANA);
  ben.token = await devToken(dataDir, BEN);
  // Ana's agency registers the creator (as its web app would).
  const account = await rest(api.url, ana.token, 'POST', '/accounts', {
    onlyFansUserId: String(CREATOR.id),
    username: CREATOR.username,
  });
  accountId = account.id;
  await open(ana, api.url);
  await open(ben, benLink.url);
}, 180_000);

afterAll(async () => {
  await ana.browser?.close();
  await ben.browser?.close();
  await benLink?.close();
  await api?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('two chatters, each in their own browser', () => {
  test('Ana invites Ben from her Team screen; Ben pastes the code into his and joins; both name themselves', async () => {
    await ana.team.locator('#invite-form').waitFor({ timeout: 20_000 });
    await ana.team.locator('#invite-role').selectOption('chatter');
    await ana.team.locator('#invite-form button[type="submit"]').click();
    inviteCode = (await ana.team.locator('#invite-code').textContent())!;
    expect(inviteCode).toMatch(/^FN-[0-9A-Z]{26}$/);
    await setName(ana, 'Ana');

    await ben.team.getByText('You are not in any team yet.').waitFor({ timeout: 20_000 });
    await ben.team.locator('#redeem-code').fill(inviteCode);
    await ben.team.locator('#join button[type="submit"]').click();
    await ben.team
      .locator('#join .notice', { hasText: `You joined @${CREATOR.username} as Chatter.` })
      .waitFor();
    await setName(ben, 'Ben');
    await ben.team.locator('#members tr.member', { hasText: 'Ana' }).waitFor();

    // Ana's screen lists Ben by the name he chose, once it is shown again.
    await ana.team.reload();
    await ana.team.locator('#members tr.member', { hasText: 'Ben' }).waitFor({ timeout: 20_000 });
    const members = await rest(api.url, ana.token, 'GET', `/accounts/${accountId}/members`);
    expect(members.map((m: { displayName: string; role: string }) => [m.displayName, m.role]).sort()).toEqual(
      [
        ['Ana', 'owner'],
        ['Ben', 'chatter'],
      ],
    );
  });

  test("both open the fan's chat; each one's note appears in the other's panel, live, under the writer's name", async () => {
    // Ana first: her panel registers the fan in the CRM; Ben's then finds him there.
    ana.chat = await ana.browser.context.newPage();
    await ana.chat.goto(CHAT);
    await status(ana).filter({ hasText: 'Synced' }).waitFor({ timeout: 30_000 });
    ben.chat = await ben.browser.context.newPage();
    await ben.chat.goto(CHAT);
    await status(ben).filter({ hasText: 'Synced' }).waitFor({ timeout: 30_000 });

    await addNote(ana, 'Ana: tips on Fridays after payday');
    await note(ben, 'Ana: tips on Fridays').waitFor({ timeout: LIVE });
    await expect
      .poll(() => byline(ben, 'Ana: tips on Fridays').textContent())
      .toMatch(/^Ana · (just now|\d+ min ago)$/);

    await addNote(ben, 'Ben: wants a custom video for his birthday');
    await note(ana, 'Ben: wants a custom video').waitFor({ timeout: LIVE });
    await expect
      .poll(() => byline(ana, 'Ben: wants a custom video').textContent())
      .toMatch(/^Ben · (just now|\d+ min ago)$/);

    // Each sees their own notes as "You".
    expect(await byline(ana, 'Ana: tips on Fridays').textContent()).toMatch(/^You · /);
    expect(await byline(ben, 'Ben: wants a custom video').textContent()).toMatch(/^You · /);
  });

  test('crossed edits of one note: each panel names the two versions by author, and keeping one resolves both', async () => {
    const original = 'Ana: tips on Fridays';
    const anaText = 'Tips on Fridays; ask before sending PPV';
    const benText = 'Tips on Fridays; prefers bundles';
    // Both start editing the note from the same version...
    await startEditing(ana, original);
    await startEditing(ben, original);
    // ...Ben loses his connection, so Ana's save cannot reach him before his own...
    benLink.cut();
    await ana.chat.locator(`${PANEL} textarea[data-editor]`).fill(anaText);
    await ana.chat.locator(`${PANEL} textarea[data-editor]`).press('Control+Enter');
    await ana.chat
      .locator(`${PANEL} li.note[data-pending="false"]`, { hasText: anaText })
      .waitFor({ timeout: 20_000 });
    await ben.chat.locator(`${PANEL} textarea[data-editor]`).fill(benText);
    await ben.chat.locator(`${PANEL} textarea[data-editor]`).press('Control+Enter');
    await ben.chat.locator(`${PANEL} li.note[data-pending="true"]`, { hasText: benText }).waitFor();
    // ...and when it is back, his edit of the older version arrives second: a conflict copy.
    benLink.restore();
    await ben.chat.locator(`${PANEL} button[aria-label="Refresh notes"]`).click();

    const benSees = conflict(ben, benText);
    await benSees.waitFor({ timeout: 30_000 });
    expect(await note(ben, anaText).locator('.version-title').textContent()).toBe("Ana's version");
    expect(await benSees.locator('.conflict-title').textContent()).toContain('Your version');
    expect((await benSees.locator('.actions button').allTextContents()).sort()).toEqual([
      "Keep Ana's version",
      'Keep your version',
    ]);

    const anaSees = conflict(ana, benText);
    await anaSees.waitFor({ timeout: LIVE });
    expect(await note(ana, anaText).locator('.version-title').textContent()).toBe('Your version');
    expect(await anaSees.locator('.conflict-title').textContent()).toContain("Ben's version");
    expect((await anaSees.locator('.actions button').allTextContents()).sort()).toEqual([
      "Keep Ben's version",
      'Keep your version',
    ]);

    // Ana keeps Ben's text: one note with it remains, in both panels, and no conflict.
    await anaSees.locator('button', { hasText: "Keep Ben's version" }).click();
    await anaSees.waitFor({ state: 'detached', timeout: 20_000 });
    await ben.chat.locator(`${PANEL} .conflict`).first().waitFor({ state: 'detached', timeout: LIVE });
    for (const who of [ana, ben]) {
      await expect.poll(() => note(who, benText).count(), { timeout: LIVE }).toBe(1);
      await expect.poll(() => note(who, anaText).count(), { timeout: LIVE }).toBe(0);
      expect(await who.chat.locator(`${PANEL} .conflict`).count()).toBe(0);
    }
    const stored = await rest(api.url, ben.token, 'POST', '/sync-notes', { fanId: String(SAM.id) });
    const texts = stored.notes.map((n: { content: string }) => n.content);
    expect(texts.filter((t: string) => t.startsWith('Tips on Fridays'))).toEqual([benText]);
  });
});
