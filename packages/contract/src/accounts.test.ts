import { expect, test } from 'vitest';
import { CreateInviteInput, parseInviteCode, RedeemInviteInput, UpdateProfileInput } from './accounts.ts';

const CODE = 'FN-0123456789ABCDEFGHJKMNPQRS';

test.each([
  ['the canonical code', CODE],
  ['lower case', CODE.toLowerCase()],
  ['grouped with dashes', 'FN-0123-4567-89AB-CDEF-GHJK-MNPQ-RS'],
  ['grouped with spaces, no dash after FN', 'fn 0123 4567 89ab cdef ghjk mnpq rs'],
  ['an invite link', `https://api.fannotes.example/invite#${CODE}`],
  ['a link pasted inside a sentence', `Join us: https://x.example/invite#${CODE.toLowerCase()} (3 days)`],
  ['surrounded by white space', `\n  ${CODE}\t`],
  ['a link whose host starts with fn-', `https://fn-sync-notes-api-production.example/invite#${CODE}`],
])('an invite code is read from %s', (_label, text) => {
  expect(parseInviteCode(text)).toBe(CODE);
});

test.each([
  ['empty', ''],
  ['junk', 'hello there'],
  ['too short', 'FN-0123456789ABCDEFGHJKMNPQR'],
  ['no FN prefix', '0123456789ABCDEFGHJKMNPQRS'],
  ['letters Crockford leaves out (I, L, O, U)', 'FN-0123456789ABCDEFGHIJKLMNOPQU'.slice(0, 29)],
  ['a U in the code', `FN-${'U'.repeat(26)}`],
  ['markup', `<script>FN-${'!'.repeat(26)}</script>`],
])('%s is not an invite code', (_label, text) => {
  expect(parseInviteCode(text)).toBeNull();
});

test('RedeemInviteInput gives the canonical code, and refuses anything else with a plain message', () => {
  expect(RedeemInviteInput.parse({ code: ` ${CODE.toLowerCase()} ` })).toEqual({ code: CODE });
  const refused = RedeemInviteInput.safeParse({ code: 'hello' });
  expect(refused.success).toBe(false);
  expect(refused.error?.issues[0]?.message).toBe('code must be an invite code (FN-…) or an invite link');
  expect(RedeemInviteInput.safeParse({ code: CODE, extra: 1 }).success).toBe(false);
});

test('an invite lasts 1 to 168 hours (default 72) and 1 to 100 uses (default 1)', () => {
  const accountId = '00000000-0000-4000-8000-000000000001';
  expect(CreateInviteInput.parse({ accountId, role: 'chatter' })).toEqual({
    accountId,
    role: 'chatter',
    expiresInHours: 72,
    maxUses: 1,
  });
  for (const bad of [{ expiresInHours: 0 }, { expiresInHours: 169 }, { maxUses: 0 }, { maxUses: 101 }]) {
    expect(CreateInviteInput.safeParse({ accountId, role: 'chatter', ...bad }).success).toBe(false);
  }
  expect(
    CreateInviteInput.safeParse({ accountId, role: 'chatter', expiresInHours: 168, maxUses: 100 }).success,
  ).toBe(true);
});

test('a display name is trimmed, 1 to 80 characters, and must show something', () => {
  expect(UpdateProfileInput.parse({ displayName: '  Ana  ' })).toEqual({ displayName: 'Ana' });
  expect(UpdateProfileInput.safeParse({ displayName: '\u200b' }).success).toBe(false);
  expect(UpdateProfileInput.safeParse({ displayName: 'x'.repeat(81) }).success).toBe(false);
  expect(UpdateProfileInput.safeParse({ displayName: '😀'.repeat(80) }).success).toBe(true);
});
