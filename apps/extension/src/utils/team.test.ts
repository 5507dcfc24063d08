import type { Invite, Member, Role } from '@fannotes/contract';
import { describe, expect, test } from 'vitest';
import { apiError } from '../test/helpers.ts';
import {
  assignableRoles,
  canManage,
  canRevoke,
  inviteSummary,
  memberControls,
  readInviteText,
  teamErrorMessage,
} from './team.ts';

const ME = '11111111-1111-4111-8111-111111111111';
const member = (userId: string, role: Role): Member => ({
  accountId: 'acc',
  userId,
  role,
  displayName: 'Ana',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});
const OTHER = '22222222-2222-4222-8222-222222222222';
const CODE = 'FN-0123456789ABCDEFGHJKMNPQRS';

describe('which controls show', () => {
  test('owners and managers manage; chatters and viewers see the team only', () => {
    expect((['owner', 'manager', 'chatter', 'viewer'] as const).map(canManage)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  test('only an owner can pick "owner"', () => {
    expect(assignableRoles('owner')).toEqual(['owner', 'manager', 'chatter', 'viewer']);
    expect(assignableRoles('manager')).toEqual(['manager', 'chatter', 'viewer']);
    expect(assignableRoles('chatter')).toEqual([]);
    expect(assignableRoles('viewer')).toEqual([]);
  });

  test.each([
    ['owner', 'owner', { roles: ['owner', 'manager', 'chatter', 'viewer'], remove: 'remove' }],
    ['owner', 'chatter', { roles: ['owner', 'manager', 'chatter', 'viewer'], remove: 'remove' }],
    ['manager', 'chatter', { roles: ['manager', 'chatter', 'viewer'], remove: 'remove' }],
    ['manager', 'manager', { roles: ['manager', 'chatter', 'viewer'], remove: 'remove' }],
    // A manager cannot touch an owner: no picker, no button (the API would say 403).
    ['manager', 'owner', { roles: null, remove: null }],
    ['chatter', 'viewer', { roles: null, remove: null }],
    ['viewer', 'owner', { roles: null, remove: null }],
  ] as const)('a %s looking at a %s', (mine, theirs, expected) => {
    expect(memberControls({ userId: ME, role: mine }, member(OTHER, theirs), 1)).toEqual(expected);
  });

  test('your own row offers "Leave", never a role change; the last owner cannot leave', () => {
    for (const role of ['owner', 'manager', 'chatter', 'viewer'] as const) {
      expect(memberControls({ userId: ME, role }, member(ME, role), 2)).toEqual({
        roles: null,
        remove: 'leave',
      });
    }
    expect(memberControls({ userId: ME, role: 'owner' }, member(ME, 'owner'), 1)).toEqual({
      roles: null,
      remove: null,
    });
    expect(memberControls({ userId: ME, role: 'chatter' }, member(ME, 'chatter'), 1)).toMatchObject({
      remove: 'leave',
    });
  });

  test('an active invite is revoked by owners and managers; an owner invite only by an owner', () => {
    const invite = (role: Role, status: Invite['status'] = 'active') => ({ role, status }) as Invite;
    expect(canRevoke('manager', invite('chatter'))).toBe(true);
    expect(canRevoke('manager', invite('owner'))).toBe(false);
    expect(canRevoke('owner', invite('owner'))).toBe(true);
    expect(canRevoke('chatter', invite('viewer'))).toBe(false);
    expect(canRevoke('owner', invite('chatter', 'expired'))).toBe(false);
  });
});

describe('reading a pasted invite', () => {
  test.each([
    ['the code', CODE],
    ['in lower case, in groups', 'fn-0123 4567 89ab-cdef ghjk mnpq rs'],
    ['the link', `https://api.example.com/invite#${CODE}`],
    ['a whole message', `Join us on FanNotes: ${CODE} (valid 3 days)`],
  ])('%s', (_name, text) => {
    expect(readInviteText(text)).toEqual({ code: CODE });
  });

  test('nothing, or something else, is said in plain words', () => {
    expect(readInviteText('  ')).toEqual({ error: 'Paste the invite code or link you were sent.' });
    expect(readInviteText('FN-123')).toMatchObject({ error: expect.stringContaining('starts with FN-') });
    expect(readInviteText('https://example.com/invite')).toMatchObject({ error: expect.any(String) });
  });
});

test('an invite row says its state, time left and uses', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const invite = (status: Invite['status'], hours: number) =>
    ({
      status,
      uses: 1,
      maxUses: 5,
      expiresAt: new Date(now + hours * 3_600_000).toISOString(),
    }) as Invite;
  expect(inviteSummary(invite('active', 72), now)).toBe('3 days left · 1 of 5 used');
  expect(inviteSummary(invite('active', 5), now)).toBe('5 h left · 1 of 5 used');
  expect(inviteSummary(invite('active', 0.25), now)).toBe('15 min left · 1 of 5 used');
  expect(inviteSummary(invite('revoked', 5), now)).toBe('Revoked · 1 of 5 used');
  expect(inviteSummary(invite('used_up', 5), now)).toBe('Used up · 1 of 5 used');
});

describe('errors in plain words', () => {
  test.each([
    [
      apiError(0, 'network'),
      'The FanNotes API cannot be reached. Check your connection, or the API URL in Settings below.',
    ],
    [
      apiError(401, 'authentication_required'),
      'You are not signed in (or your session has expired). Sign in, then reload this page.',
    ],
    [apiError(429, 'rate_limit_exceeded'), 'Too many tries in a short time. Wait a minute, then try again.'],
    [apiError(503, 'service_unavailable'), 'The FanNotes API is busy right now. Try again in a moment.'],
  ])('%#', (error, message) => {
    expect(teamErrorMessage(error)).toBe(message);
  });

  test("the API's own words where they are written for people", () => {
    const withMessage = (status: number, code: string, message: string) => {
      const error = apiError(status, code);
      error.message = message;
      return error;
    };
    expect(
      teamErrorMessage(
        withMessage(403, 'permission_denied', 'Only an owner can make, change or remove an owner.'),
      ),
    ).toBe('Your role does not allow this. Only an owner can make, change or remove an owner.');
    expect(
      teamErrorMessage(withMessage(400, 'validation_error', 'An account must keep at least one owner.')),
    ).toBe('An account must keep at least one owner.');
    expect(
      teamErrorMessage(
        withMessage(404, 'resource_not_found', 'This invite code does not work: it may be mistyped.'),
      ),
    ).toContain('Ask for a new one.');
    expect(teamErrorMessage(withMessage(404, 'resource_not_found', 'Member not found.'))).toContain(
      'a teammate may have changed it',
    );
  });
});
