import { expect, test } from 'vitest';
import { baseVersionFor, type QueuedChange } from './base-version.ts';

test.each<{ name: string; serverVersion: number | undefined; outbox: QueuedChange[]; base: number }>([
  { name: 'a new note is based on nothing', serverVersion: undefined, outbox: [], base: 0 },
  {
    name: 'a note with nothing queued is based on the version the server sent',
    serverVersion: 7,
    outbox: [],
    base: 7,
  },
  {
    name: 'a note with a queued change keeps that change’s base, even after a newer version arrived',
    serverVersion: 9,
    outbox: [{ noteId: 'note_1', baseVersion: 4 }],
    base: 4,
  },
  {
    name: 'the latest queued change of the note decides',
    serverVersion: 9,
    outbox: [
      { noteId: 'note_1', baseVersion: 2 },
      { noteId: 'note_2', baseVersion: 8 },
      { noteId: 'note_1', baseVersion: 5 },
    ],
    base: 5,
  },
  {
    name: 'queued changes of other notes do not count',
    serverVersion: 9,
    outbox: [{ noteId: 'note_2', baseVersion: 3 }],
    base: 9,
  },
  {
    name: 'a second edit of a note created offline is based on nothing too',
    serverVersion: undefined,
    outbox: [{ noteId: 'note_1', baseVersion: 0 }],
    base: 0,
  },
])('$name', ({ serverVersion, outbox, base }) => {
  expect(baseVersionFor('note_1', serverVersion, outbox)).toBe(base);
});
