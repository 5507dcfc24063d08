import type { Role } from '@fannotes/contract';

/**
 * The members of one account as the background last read them (`accounts.members`), to name the
 * authors of notes and to know the signed-in user's role. Stored under `members:<accountId>`; the
 * background refreshes it (utils/members-refresh.ts), the panel only reads it.
 */
export interface MembersEntry {
  accountId: string;
  /** Who was signed in when the list was read: "You" on the panel, and whose role `members` gives. */
  userId: string;
  members: { userId: string; displayName: string; role: Role }[];
  /** Epoch ms of the last successful read. */
  fetchedAt: number;
  /** Epoch ms of the last attempt, successful or not: attempts are at most once a minute. */
  triedAt: number;
}

export const membersKey = (accountId: string) => `members:${accountId}`;

/** Who the panel names on notes: the signed-in user, and teammates' display names when known. */
export interface People {
  /** The signed-in user's id; null when not known yet. */
  me: string | null;
  /** Display names by user id; null while the account's members were never read. */
  names: ReadonlyMap<string, string> | null;
  /** The signed-in user's role on the fan's account; null when not known. */
  role: Role | null;
}

export const nobody: People = { me: null, names: null, role: null };

export function peopleFrom(entry: MembersEntry | null | undefined, me: string | null): People {
  if (!entry) return { ...nobody, me };
  // A list read for another user still names people, but says nothing about this user's role.
  const self = me ?? entry.userId;
  return {
    me: self,
    names: new Map(entry.members.map((member) => [member.userId, member.displayName])),
    role: entry.members.find((member) => member.userId === self)?.role ?? null,
  };
}

/**
 * How a note's author is named: "You", their display name, "Former teammate" (an id no longer among
 * the members), or null while the members are unknown (the panel then shows only the time).
 */
export function personName(userId: string | null, people: People): string | null {
  if (userId === null) return null;
  if (userId === people.me) return 'You';
  if (people.names === null) return null;
  return people.names.get(userId) ?? 'Former teammate';
}

/**
 * Viewers read notes; owners, managers and chatters write them (an unknown role may write). A fan
 * whose account is not known yet (no notes) has no role to read: the API's refusal of an edit for
 * lack of rights says the same, until the chatter tries again or dismisses it.
 */
export function canWrite(
  people: People,
  refusals: readonly { fanId: string; code: string | null }[] = [],
  fanId: string | null = null,
): boolean {
  if (people.role === 'viewer') return false;
  return !refusals.some((edit) => edit.fanId === fanId && edit.code === 'permission_denied');
}
