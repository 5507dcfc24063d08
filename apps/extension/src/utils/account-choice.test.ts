import type { Account } from '@fannotes/contract';
import { expect, test } from 'vitest';
import { askMessage, chooseAccount } from './account-choice.ts';

const account = (id: string, creator: string): Account => ({
  id,
  onlyFansUserId: creator,
  username: `creator${creator}`,
  role: 'chatter',
  createdAt: '2026-01-01T00:00:00.000Z',
});
const A = account('a', '900001');
const B = account('b', '900001');
const OTHER = account('c', '900002');

test.each([
  ['no account for the creator: register one', [OTHER], undefined, { kind: 'register' }],
  ['one account for the creator: use it without asking', [OTHER, A], undefined, { kind: 'use', account: A }],
  ['one account, an old choice of another: still the one', [A], 'b', { kind: 'use', account: A }],
  [
    'several, none chosen: ask, offering only this creator’s',
    [A, OTHER, B],
    undefined,
    { kind: 'ask', accounts: [A, B] },
  ],
  ['several, one chosen: use it', [A, B], 'b', { kind: 'use', account: B }],
  [
    'several, the chosen one left (removed from it): ask again',
    [A, B],
    'gone',
    { kind: 'ask', accounts: [A, B] },
  ],
] as const)('%s', (_name, accounts, chosen, expected) => {
  expect(chooseAccount(accounts, '900001', chosen)).toEqual(expected);
});

test('the question names the creator and where to answer it', () => {
  expect(askMessage('jane')).toBe(
    'You belong to several agencies that manage @jane. Choose the one you work for in the FanNotes options (Team), then come back.',
  );
  expect(askMessage(undefined)).toContain('this creator');
});
