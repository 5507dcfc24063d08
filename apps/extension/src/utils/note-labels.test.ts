import { describe, expect, test } from 'vitest';
import type { DisplayNote } from './local-view.ts';
import { nobody, peopleFrom, type MembersEntry, type People } from './members.ts';
import { authorship, conflictLabels, fanLabel, keepLabel, noteBadges } from './note-labels.ts';

const ANA = 'aaaaaaaa-0000-4000-8000-000000000001';
const BEN = 'bbbbbbbb-0000-4000-8000-000000000002';
const ME = 'cccccccc-0000-4000-8000-000000000003';
const GONE = 'dddddddd-0000-4000-8000-000000000004';
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const minutesAgo = (n: number) => new Date(NOW - n * 60_000).toISOString();

const entry: MembersEntry = {
  accountId: 'acc',
  userId: ME,
  members: [
    { userId: ANA, displayName: 'Ana', role: 'chatter' },
    { userId: BEN, displayName: 'Ben', role: 'manager' },
    { userId: ME, displayName: 'Me', role: 'chatter' },
  ],
  fetchedAt: NOW,
  triedAt: NOW,
};
const people: People = peopleFrom(entry, ME);

function shown(fields: Partial<DisplayNote> = {}): DisplayNote {
  return {
    id: 'note_1',
    content: 'text',
    type: 'personal',
    color: null,
    isPinned: false,
    source: 'onlyautomator',
    conflictOf: null,
    updatedAt: minutesAgo(5),
    createdAt: minutesAgo(5),
    createdBy: ANA,
    updatedBy: ANA,
    pending: false,
    conflicts: [],
    ...fields,
  };
}

describe('badges', () => {
  test('the default type has no badge; the others do', () => {
    expect(noteBadges(shown()).map((b) => b.kind)).toEqual([]);
    expect(noteBadges(shown({ type: 'payment' }))).toEqual([{ kind: 'type', text: 'payment' }]);
  });

  test('pinned, OnlyFans, colour and pending each say so, in that order', () => {
    const badges = noteBadges(
      shown({ isPinned: true, source: 'onlyfans', color: '#12b76a', pending: true, type: 'content' }),
    );
    expect(badges.map((b) => b.text)).toEqual(['Pinned', 'content', 'OnlyFans note', 'Green', 'Pending']);
  });
});

describe('authorship', () => {
  test("a teammate's note names them with the time; the exact time is the tooltip", () => {
    const { created, edited } = authorship(shown(), people, NOW);
    expect(created?.text).toBe('Ana · 5 min ago');
    expect(created?.title).not.toBe('');
    expect(edited).toBeNull();
  });

  test('your own notes say You', () => {
    expect(authorship(shown({ createdBy: ME, updatedBy: ME }), people, NOW).created?.text).toBe(
      'You · 5 min ago',
    );
  });

  test('an edit by someone else is named, with its own time', () => {
    const label = authorship(shown({ updatedBy: BEN, updatedAt: minutesAgo(2) }), people, NOW);
    expect(label.created?.text).toBe('Ana · 5 min ago');
    expect(label.edited?.text).toBe('edited by Ben · 2 min ago');
  });

  test('a user id no longer among the members is a former teammate', () => {
    expect(authorship(shown({ createdBy: GONE, updatedBy: GONE }), people, NOW).created?.text).toBe(
      'Former teammate · 5 min ago',
    );
  });

  test('before the members were ever read, only the time shows (and You for your own)', () => {
    const unknown = { ...nobody, me: ME };
    expect(authorship(shown(), unknown, NOW).created?.text).toBe('5 min ago');
    expect(authorship(shown({ createdBy: ME }), unknown, NOW).created?.text).toBe('You · 5 min ago');
  });

  test('an OnlyFans note says where it comes from', () => {
    expect(authorship(shown({ source: 'onlyfans' }), people, NOW).created?.text).toBe(
      'From OnlyFans · 5 min ago',
    );
  });

  test('a pending new note is yours, from when it was written', () => {
    const pending = shown({ pending: true, createdBy: ME, updatedBy: ME, createdAt: NOW, updatedAt: NOW });
    expect(authorship(pending, people, NOW).created?.text).toBe('You · just now');
  });
});

describe('conflict labels', () => {
  test("each side is named by whose text it is: yours and the teammate's", () => {
    // Ana's edit was saved first (the original); yours arrived second (the copy).
    expect(conflictLabels({ updatedBy: ANA }, { createdBy: ME }, people)).toEqual({
      original: "Ana's version",
      copy: 'Your version',
    });
    expect(conflictLabels({ updatedBy: ME }, { createdBy: BEN }, people)).toEqual({
      original: 'Your version',
      copy: "Ben's version",
    });
  });

  test('the same author on both sides (two devices) is told apart by order', () => {
    expect(conflictLabels({ updatedBy: ME }, { createdBy: ME }, people)).toEqual({
      original: 'Your version (saved first)',
      copy: 'Your version (saved second)',
    });
  });

  test('the keep buttons say whose text they keep', () => {
    expect(keepLabel('Your version')).toBe('Keep your version');
    expect(keepLabel("Ana's version")).toBe("Keep Ana's version");
    expect(keepLabel("A teammate's version")).toBe("Keep a teammate's version");
  });

  test('unknown and former authors still read as a version', () => {
    expect(conflictLabels({ updatedBy: GONE }, { createdBy: ME }, people).original).toBe(
      "A former teammate's version",
    );
    expect(conflictLabels({ updatedBy: ANA }, { createdBy: ME }, { ...nobody, me: ME }).original).toBe(
      "A teammate's version",
    );
  });
});

test("the fan's name, then the handle, then the id", () => {
  expect(fanLabel({ fanId: '1', name: 'Sam (gym)', username: 'u1' })).toEqual({
    name: 'Sam (gym)',
    handle: '@u1',
  });
  expect(fanLabel({ fanId: '1', username: 'u1' })).toEqual({ name: '@u1', handle: null });
  expect(fanLabel({ fanId: '1' })).toEqual({ name: 'Fan #1', handle: null });
});
