import { expect, test } from 'vitest';
import { MAX_MUTATIONS_PER_SYNC, SyncNotesInput } from './sync.ts';

const noteId = 'note_7d8e9f1a-0000-4000-8000-456789abcdef';
const clientId = '0b6f3c1e-8f5e-4f7a-9d55-2a1b3c4d5e6f';
const upsert = (id: number) => ({ id, op: 'upsert', noteId, baseVersion: 0, note: { content: 'x' } });

test('a plain documented call needs only fanId, and force defaults to false', () => {
  expect(SyncNotesInput.parse({ fanId: '12345' })).toEqual({ fanId: '12345', force: false });
});

test('mutations require a clientId', () => {
  const result = SyncNotesInput.safeParse({ fanId: '1', mutations: [upsert(1)] });
  expect(result.error?.issues[0]).toMatchObject({
    path: ['clientId'],
    message: 'clientId is required with mutations',
  });
  expect(SyncNotesInput.safeParse({ fanId: '1', clientId, mutations: [upsert(1)] }).success).toBe(true);
});

test('at most 100 mutations per request', () => {
  const mutations = Array.from({ length: MAX_MUTATIONS_PER_SYNC + 1 }, (_, index) => upsert(index + 1));
  expect(SyncNotesInput.safeParse({ fanId: '1', clientId, mutations }).success).toBe(false);
  expect(SyncNotesInput.safeParse({ fanId: '1', clientId, mutations: mutations.slice(1) }).success).toBe(
    true,
  );
});

test.each([
  ['an upsert without a note', { id: 1, op: 'upsert', noteId, baseVersion: 0 }],
  ['a delete carrying a note', { id: 1, op: 'delete', noteId, baseVersion: 0, note: { content: 'x' } }],
  ['mutation id 0', { ...upsert(1), id: 0 }],
  ['a negative base version', { ...upsert(1), baseVersion: -1 }],
  ['an unknown op', { ...upsert(1), op: 'patch' }],
])('refuses %s', (_name, mutation) => {
  expect(SyncNotesInput.safeParse({ fanId: '1', clientId, mutations: [mutation] }).success).toBe(false);
});

test('unknown top-level fields are refused', () => {
  expect(SyncNotesInput.safeParse({ fanId: '1', forced: true }).success).toBe(false);
});
