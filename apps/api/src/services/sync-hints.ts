/**
 * What this API process last saw of a fan's last full sync, by the request's target (user, account,
 * fan id), to pick the statement of a sync without changes (services/sync.ts): a fan seen fully synced
 * within the throttle interval is most likely throttled now, and is read with the statement that only
 * reads; any other with the one that also runs the sync when it is due (readOrPlan's `refresh`), whose
 * writing parts cost a read about a tenth of its throughput (docs/PERFORMANCE.md).
 *
 * Only a hint: a wrong one costs one round trip, never a wrong answer. A read-only statement that finds
 * the fan due goes on to refreshFan; the other one, finding it throttled, only reads. Bounded: the
 * oldest entry goes first.
 */
export class SyncHints {
  private readonly lastFullSyncs = new Map<string, number>();

  constructor(private readonly capacity = 50_000) {}

  /** Whether the fan is most likely throttled at `now`: seen synced within `intervalMs` before it. */
  likelyThrottled(key: string, now: number, intervalMs: number): boolean {
    const last = this.lastFullSyncs.get(key);
    return last !== undefined && last <= now && now - last < intervalMs;
  }

  /** Records the fan's last full sync as the database said (or as this process just wrote it). */
  saw(key: string, lastFullSyncAt: Date | null): void {
    this.lastFullSyncs.delete(key);
    if (lastFullSyncAt === null) return;
    this.lastFullSyncs.set(key, lastFullSyncAt.getTime());
    if (this.lastFullSyncs.size > this.capacity) {
      this.lastFullSyncs.delete(this.lastFullSyncs.keys().next().value!);
    }
  }
}

/** The key of a request's target: hints are per user, so that one never speaks of another's fans. */
export function hintKey(userId: string, target: { fanId: string; accountId?: string | undefined }): string {
  return `${userId}\u0000${target.accountId ?? ''}\u0000${target.fanId}`;
}
