import { expect, test } from 'vitest';
import { canWrite, peopleFrom, personName, type MembersEntry } from './members.ts';

const ME = 'cccccccc-0000-4000-8000-000000000003';
const ANA = 'aaaaaaaa-0000-4000-8000-000000000001';
const entry = (role: 'viewer' | 'chatter'): MembersEntry => ({
  accountId: 'acc',
  userId: ME,
  members: [
    { userId: ME, displayName: 'Me', role },
    { userId: ANA, displayName: 'Ana', role: 'owner' },
  ],
  fetchedAt: 0,
  triedAt: 0,
});

test('a viewer may not write; a chatter, or a role not known yet, may', () => {
  expect(canWrite(peopleFrom(entry('viewer'), ME))).toBe(false);
  expect(canWrite(peopleFrom(entry('chatter'), ME))).toBe(true);
  expect(canWrite(peopleFrom(null, ME))).toBe(true);
});

test('an edit refused for lack of rights on this fan means no writing here, whatever the cached role', () => {
  const refused = [{ fanId: '100', code: 'permission_denied' }];
  expect(canWrite(peopleFrom(null, ME), refused, '100')).toBe(false);
  expect(canWrite(peopleFrom(null, ME), refused, '200')).toBe(true);
  expect(canWrite(peopleFrom(null, ME), [{ fanId: '100', code: 'resource_not_found' }], '100')).toBe(true);
});

test('a list read for another user names people but gives no role to this one', () => {
  const other = 'eeeeeeee-0000-4000-8000-000000000005';
  const people = peopleFrom(entry('viewer'), other);
  expect(people.role).toBeNull();
  expect(personName(ME, people)).toBe('Me');
  expect(personName(other, people)).toBe('You');
});

test('no author id names nobody', () => {
  expect(personName(null, peopleFrom(entry('chatter'), ME))).toBeNull();
});
