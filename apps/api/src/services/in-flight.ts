import { ApiError } from '../errors.ts';

/**
 * How many requests one user may have running at once in this process (429 beyond). The request
 * budget (request-budget.ts) counts requests, not what they cost: a user firing 36 reads of a huge fan
 * at once stayed within it and held every other tenant's syncs for seconds. Bounding what is in
 * flight per user bounds the memory and the database time one user can take, whatever each request
 * costs (a page is at most 1 MiB: read-notes.ts). The extension makes one call at a time.
 */
export class InFlightLimit {
  private readonly running = new Map<string, number>();

  /** `max` requests at once per user; 0 turns the limit off. */
  constructor(private readonly max: number) {}

  /** Counts a request of `userId` as running until the returned function is called. */
  enter(userId: string): () => void {
    if (this.max === 0) return () => {};
    const running = this.running.get(userId) ?? 0;
    if (running >= this.max) {
      throw new ApiError(
        'rate_limit_exceeded',
        `Too many requests at once: at most ${this.max} may run at the same time.`,
        { retryAfterSeconds: 1, details: { reason: 'concurrent requests' } },
      );
    }
    this.running.set(userId, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(userId) ?? 1) - 1;
      if (left === 0) this.running.delete(userId);
      else this.running.set(userId, left);
    };
  }

  /** Users with a request running (the map never keeps idle users). */
  get size(): number {
    return this.running.size;
  }
}
