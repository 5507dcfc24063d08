/**
 * What this API process last saw of each fan's last full sync, to pick the statement of a sync without
 * changes (services/sync.ts): a fan seen fully synced within the throttle interval is most likely
 * throttled now, and is read with the statement that only reads; any other with the one that also runs
 * the sync when it is due (readOrPlan's `refresh`), whose writing parts cost a throttled read about a
 * fifth of its throughput (docs/PERFORMANCE.md).
 *
 * Only a hint: a wrong one costs one round trip, never a wrong answer. A read-only statement that finds
 * the fan due goes on to refreshFan; the other one, finding it throttled, only reads. The statement
 * authorizes the caller whichever it is.
 *
 * Hints are per account's fan, shared by the account's members: a chatter opening a fan a teammate
 * synced a minute ago sends the light statement. A user is told only of the accounts this process saw
 * them resolve a fan in within the last MEMBERSHIP_TTL_MS, so the choice of statement (which shows in
 * its timing) never says anything of an account the user is not, or was not moments ago, a member of.
 * Both maps are bounded: the oldest entry goes first.
 */
export class SyncHints {
  /** Last full sync (epoch ms) by `account \0 fan id`. */
  private readonly lastFullSyncs = new Map<string, number>();
  /** Until when (epoch ms) `user \0 account` is taken for a membership. */
  private readonly memberships = new Map<string, number>();
  /** The accounts each user was last seen in, most recent last (a few per user). */
  private readonly accountsOf = new Map<string, string[]>();

  constructor(private readonly capacity = 50_000) {}

  /**
   * Whether the fan `target` names is most likely throttled at `now`: seen synced within `intervalMs`
   * before it, in the account named or, without one, in an account `userId` was recently seen in.
   */
  likelyThrottled(
    userId: string,
    target: { fanId: string; accountId?: string | undefined },
    now: number,
    intervalMs: number,
  ): boolean {
    const accounts = target.accountId === undefined ? this.accountsOf.get(userId) : [target.accountId];
    if (!accounts) return false;
    for (const accountId of accounts) {
      const until = this.memberships.get(memberKey(userId, accountId));
      if (until === undefined || until < now) continue;
      const last = this.lastFullSyncs.get(fanKey(accountId, target.fanId));
      if (last !== undefined && last <= now && now - last < intervalMs) return true;
    }
    return false;
  }

  /**
   * Records what a statement said of a fan `userId` resolved: its last full sync (or the one this
   * process just ran), and that the user is a member of its account.
   */
  saw(
    userId: string,
    fan: { accountId: string; fanId: string },
    lastFullSyncAt: Date | null,
    now: number,
  ): void {
    const key = fanKey(fan.accountId, fan.fanId);
    this.lastFullSyncs.delete(key);
    if (lastFullSyncAt !== null) bounded(this.lastFullSyncs, key, lastFullSyncAt.getTime(), this.capacity);

    const member = memberKey(userId, fan.accountId);
    this.memberships.delete(member);
    bounded(this.memberships, member, now + MEMBERSHIP_TTL_MS, this.capacity);
    const seen = this.accountsOf.get(userId);
    if (seen?.at(-1) !== fan.accountId) {
      const accounts = (seen ?? []).filter((id) => id !== fan.accountId);
      accounts.push(fan.accountId);
      this.accountsOf.delete(userId);
      bounded(this.accountsOf, userId, accounts.slice(-MAX_ACCOUNTS_PER_USER), this.capacity);
    }
  }
}

/** How long a user seen resolving a fan in an account is taken for its member (the token cache's 60 s). */
export const MEMBERSHIP_TTL_MS = 60_000;
/** The accounts kept per user: a chatter works for a few agencies at most. */
const MAX_ACCOUNTS_PER_USER = 8;

const fanKey = (accountId: string, fanId: string) => `${accountId}\u0000${fanId}`;
const memberKey = (userId: string, accountId: string) => `${userId}\u0000${accountId}`;

function bounded<V>(map: Map<string, V>, key: string, value: V, capacity: number): void {
  map.set(key, value);
  if (map.size > capacity) map.delete(map.keys().next().value!);
}
