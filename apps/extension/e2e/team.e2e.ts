import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mintToken } from '../../api/src/auth/dev-keys.ts';
import { CREATOR } from './fixtures/onlyfans.ts';
import {
  configure,
  currentWorker,
  extensionPage,
  freePort,
  launchWithExtension,
  rest,
  startApi,
  type Api,
  type Browser,
} from './harness.ts';

// Three people: Ana owns the creator's account at her agency, Ben is invited into it, and Cleo runs
// another agency that manages the same creator.
const ANA = '0a0a0a0a-0000-4000-8000-0000000000a1';
const BEN = '0b0b0b0b-0000-4000-8000-0000000000b2';
const CLEO = '0c0c0c0c-0000-4000-8000-0000000000c3';
const screenshots = fileURLToPath(new URL('../docs/', import.meta.url));

let dataDir: string;
let api: Api;
let browser: Browser;
let page: Page;
const tokens: Record<string, string> = {};
let accountId: string;
let inviteLink: string;

/** A development token with the name a sign-up form would have put in `user_metadata`. */
async function tokenFor(userId: string, fullName: string): Promise<string> {
  const secret = (await readFile(join(dataDir, 'dev-jwt-secret'), 'utf8')).trim();
  return mintToken({
    secret,
    issuer: 'http://127.0.0.1:54321/auth/v1',
    userId,
    expiresInSec: 3600,
    userMetadata: { full_name: fullName },
  });
}

/** Signs the extension in as `userId` (the options' token), and shows the Team screen again. */
async function signInAs(userId: string): Promise<void> {
  await configure(browser, { apiUrl: api.url, devToken: tokens[userId]! });
  await page.reload();
}

const team = () => page.locator('#team');
const memberRow = (name: string) => page.locator('#members tr.member', { hasText: name });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fannotes-e2e-team-'));
  api = await startApi(dataDir, await freePort());
  tokens[ANA] = await tokenFor(ANA, 'Ana Lopez');
  tokens[BEN] = await tokenFor(BEN, 'Ben Carter');
  tokens[CLEO] = await tokenFor(CLEO, 'Cleo Park');
  const account = await rest(api.url, tokens[ANA], 'POST', '/accounts', {
    onlyFansUserId: String(CREATOR.id),
    username: CREATOR.username,
  });
  accountId = account.id;

  browser = await launchWithExtension();
  await configure(browser, { apiUrl: api.url, devToken: tokens[ANA] });
  page = await extensionPage(browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the Team screen', () => {
  test('an owner sees their account, their role, and themselves by name', async () => {
    await page.locator('#you .display-name', { hasText: 'Ana Lopez' }).waitFor();
    expect(await page.locator('#my-role').textContent()).toBe('Your role: Owner');
    expect(await page.locator('#accounts').textContent()).toContain(`@${CREATOR.username}`);
    await memberRow('Ana Lopez').waitFor();
    expect(await memberRow('Ana Lopez').textContent()).toContain('(you)');
    // The only owner cannot leave (an account keeps one), so no button tempts her to.
    expect(await memberRow('Ana Lopez').locator('button').count()).toBe(0);
  });

  test('an owner creates an invite: its code and link are shown once, and it is listed', async () => {
    expect(await page.locator('#invite-role option').allTextContents()).toEqual([
      'Owner (everything, including owners)',
      'Manager (writes notes, manages the team)',
      'Chatter (reads and writes notes)',
      'Viewer (reads notes)',
    ]);
    await page.locator('#invite-role').selectOption('chatter');
    await page.locator('#invite-expiry').selectOption('72');
    await page.locator('#invite-uses').fill('1');
    await page.locator('#invite-form button[type="submit"]').click();
    const code = (await page.locator('#invite-code').textContent())!;
    expect(code).toMatch(/^FN-[0-9A-Z]{26}$/);
    inviteLink = (await page.locator('#invite-link').textContent())!;
    expect(inviteLink).toContain(code);
    await page.locator('#invite-list tr.invite.active', { hasText: code.slice(-4) }).waitFor();
    expect(await page.locator('#invite-list tr.invite.active').textContent()).toContain('0 of 1 used');

    await mkdir(screenshots, { recursive: true });
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.screenshot({ path: join(screenshots, 'team-light.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(screenshots, 'team-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    // Reloaded, the screen has no copy of the code: only its last characters.
    await page.reload();
    await page.locator('#invite-list tr.invite.active').waitFor();
    expect(await page.locator('#invite-code').count()).toBe(0);
  });

  test('a second user is told in plain words when a code does not work, then joins with the link', async () => {
    await signInAs(BEN);
    await page.locator('#you .display-name', { hasText: 'Ben Carter' }).waitFor();
    await team().getByText('You are not in any team yet.').waitFor();

    await page.locator('#redeem-code').fill('FN-123');
    await page.locator('#join button[type="submit"]').click();
    await page.locator('#join .error', { hasText: 'That is not an invite code' }).waitFor();
    await page.locator('#redeem-code').fill('FN-0000000000000000000000000A');
    await page.locator('#join button[type="submit"]').click();
    await page.locator('#join .error', { hasText: 'This invite does not work' }).waitFor();

    await page.locator('#redeem-code').fill(inviteLink);
    await page.locator('#join button[type="submit"]').click();
    await page.locator('#join .notice', { hasText: `You joined @${CREATOR.username} as Chatter.` }).waitFor();
    expect(await page.locator('#my-role').textContent()).toBe('Your role: Chatter');
    // Both are listed, by name; a chatter sees no controls but "Leave" on their own row.
    await memberRow('Ana Lopez').waitFor();
    expect(await memberRow('Ana Lopez').textContent()).toContain('Owner');
    expect(await memberRow('Ben Carter').textContent()).toContain('(you)');
    expect(await page.locator('#members select').count()).toBe(0);
    expect(await memberRow('Ana Lopez').locator('button').count()).toBe(0);
    expect(await memberRow('Ben Carter').locator('button').allTextContents()).toEqual(['Leave']);
    expect(await page.locator('#invite-form').count()).toBe(0);
  });

  test('the owner sees the newcomer by name, the invite used up, and makes them a manager', async () => {
    await signInAs(ANA);
    await memberRow('Ben Carter').waitFor();
    expect(await page.locator('#invite-list tr.invite').first().textContent()).toContain(
      'Used up · 1 of 1 used',
    );
    await memberRow('Ben Carter').locator('select').selectOption('manager');
    await page.locator('#accounts .notice', { hasText: 'Ben Carter is now Manager.' }).waitFor();
    const members = await rest(api.url, tokens[ANA]!, 'GET', `/accounts/${accountId}/members`);
    expect(members.map((m: { displayName: string; role: string }) => [m.displayName, m.role]).sort()).toEqual(
      [
        ['Ana Lopez', 'owner'],
        ['Ben Carter', 'manager'],
      ],
    );
  });

  test('a manager invites, but cannot pick "owner" nor touch the owner', async () => {
    await signInAs(BEN);
    await page.locator('#invite-form').waitFor();
    expect(await page.locator('#invite-role option').allTextContents()).not.toContain(
      'Owner (everything, including owners)',
    );
    expect(await memberRow('Ana Lopez').locator('select, button').count()).toBe(0);
  });

  test('removing a member asks first, then they are gone', async () => {
    await signInAs(ANA);
    await memberRow('Ben Carter').locator('button', { hasText: 'Remove' }).click();
    await memberRow('Ben Carter').getByText('Remove Ben Carter?').waitFor();
    await memberRow('Ben Carter').locator('button', { hasText: 'Cancel' }).click();
    expect(await memberRow('Ben Carter').count()).toBe(1);
    await memberRow('Ben Carter').locator('button', { hasText: 'Remove' }).click();
    await memberRow('Ben Carter').locator('button.confirm').click();
    await page.locator('#accounts .notice', { hasText: 'Ben Carter was removed.' }).waitFor();
    expect(await memberRow('Ben Carter').count()).toBe(0);
  });

  test('your own display name is changed here and shown to the team', async () => {
    await page.locator('#you button', { hasText: 'Change your name' }).click();
    await page.locator('#display-name').fill('Ana L.');
    await page.locator('#you button[type="submit"]').click();
    await page.locator('#you .notice', { hasText: 'Saved.' }).waitFor();
    expect(await page.locator('#you .display-name').textContent()).toBe('Ana L.');
    await memberRow('Ana L.').waitFor();
  });

  test('in two agencies of the logged-in creator, the owner chooses which one this browser works for', async () => {
    // Cleo's agency registers the same creator and invites Ana as a chatter.
    const other = await rest(api.url, tokens[CLEO]!, 'POST', '/accounts', {
      onlyFansUserId: String(CREATOR.id),
      username: CREATOR.username,
    });
    expect(other.id).not.toBe(accountId);
    const invite = await rest(api.url, tokens[CLEO]!, 'POST', `/accounts/${other.id}/invites`, {
      role: 'chatter',
    });
    await rest(api.url, tokens[ANA]!, 'POST', '/invites/redeem', { code: invite.code });
    // The creator logged in on OnlyFans, as the panel tells the background.
    await (
      await currentWorker(browser)
    ).evaluate(
      async (creator) => {
        await (globalThis as any).chrome.storage.local.set({ creator });
      },
      {
        id: String(CREATOR.id),
        username: CREATOR.username,
      },
    );
    await page.reload();
    const choice = page.locator('#agency-choice');
    await choice.getByText(`Which agency do you work for on @${CREATOR.username}?`).waitFor();
    await choice.getByText('owned by Cleo Park').waitFor();
    await choice.getByText('owned by you').waitFor();
    await choice.locator(`input[value="${other.id}"]`).check();
    await choice.locator('.notice', { hasText: 'Saved.' }).waitFor();
    const stored = await page.evaluate(
      async () =>
        ((await (globalThis as any).chrome.storage.local.get('accounts')).accounts as unknown) ?? null,
    );
    expect(stored).toEqual({ [String(CREATOR.id)]: other.id });
  });
});
