import type { MembersApi } from './api-client.ts';
import { membersKey, type MembersEntry } from './members.ts';
import { KEYS, type ClientState, type FanView } from './model.ts';
import type { Session } from './runner.ts';
import type { Store } from './store.ts';

/** At most one members lookup per account in this long. */
export const MEMBERS_MIN_INTERVAL_MS = 60_000;
/** A list older than this is read again when a view of the account changes (roles and names change). */
export const MEMBERS_MAX_AGE_MS = 15 * 60_000;

export interface MembersDeps {
  store: Store;
  session: () => Promise<Session>;
  api: (token: string) => Promise<MembersApi>;
  now: () => number;
}

/**
 * Keeps `members:<accountId>` current for the panel, beside the sync and never inside it: a sync's
 * round trips stay what they were. A view's change (a sync answer) names the user ids its notes
 * show; the members are read again when one is missing from the cached list, when the list was read
 * for another user or before the last sign-in, or when it is old, and at most once a minute per
 * account whatever happens (a deleted user's id stays missing: "Former teammate", not a lookup loop).
 */
export class MembersRefresher {
  /** Epoch ms of the last attempt per account, also for accounts with no stored list yet. */
  private readonly tried = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private signedInAt = 0;

  constructor(private readonly deps: MembersDeps) {}

  /** A session changed (a new cookie, other settings): every list is read again when next needed. */
  signedIn(): void {
    this.signedInAt = this.deps.now();
  }

  /** A view was stored: read its account's members if its notes name someone the list lacks. */
  viewChanged(view: FanView | undefined): Promise<void> {
    if (!view?.accountId) return Promise.resolve();
    const ids = new Set<string>();
    for (const note of view.notes) {
      if (note.createdBy) ids.add(note.createdBy);
      if (note.updatedBy) ids.add(note.updatedBy);
    }
    return this.need(view.accountId, ids);
  }

  need(accountId: string, userIds: Iterable<string>): Promise<void> {
    const running = this.running.get(accountId);
    if (running) return running;
    const run = this.refresh(accountId, [...userIds]).finally(() => this.running.delete(accountId));
    this.running.set(accountId, run);
    return run;
  }

  private async refresh(accountId: string, userIds: string[]): Promise<void> {
    const { store, now } = this.deps;
    const key = membersKey(accountId);
    const entry = await store.get<MembersEntry>(key);
    const client = await store.get<ClientState>(KEYS.client);
    const known = new Set(entry?.members.map((member) => member.userId));
    const current =
      entry !== undefined &&
      (client === undefined || entry.userId === client.userId) &&
      entry.fetchedAt >= this.signedInAt &&
      now() - entry.fetchedAt < MEMBERS_MAX_AGE_MS &&
      userIds.every((id) => known.has(id));
    if (current) return;
    const triedAt = Math.max(this.tried.get(accountId) ?? 0, entry?.triedAt ?? 0);
    if (now() - triedAt < MEMBERS_MIN_INTERVAL_MS) return;

    this.tried.set(accountId, now());
    const session = await this.deps.session();
    if (!session.ok) return;
    try {
      const members = await (await this.deps.api(session.token)).listMembers(accountId);
      await store.set({
        [key]: {
          accountId,
          userId: session.userId,
          members: members.map(({ userId, displayName, role }) => ({ userId, displayName, role })),
          fetchedAt: now(),
          triedAt: now(),
        } satisfies MembersEntry,
      });
    } catch {
      // Offline, or no longer a member: the list stays as it was (names still read better than ids),
      // and the next try waits its minute.
      if (entry) await store.set({ [key]: { ...entry, triedAt: now() } satisfies MembersEntry });
    }
  }
}
