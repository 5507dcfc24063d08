export type MutationDisposition<M> = { mutation: M; action: 'apply' } | { mutation: M; action: 'duplicate' };

export interface SequencedMutations<M> {
  /** Every mutation before the gap (or all of them), in the order given, each marked apply or duplicate. */
  toProcess: MutationDisposition<M>[];
  /** The first mutation that skipped an id; it and everything after it were left out. */
  stoppedAtGap: { expected: number; got: number } | null;
  /**
   * The client's last processed id once every `apply` has run: store it and return it to the client.
   * An applied mutation the server then rejects still counts, so a client never wedges on it.
   */
  lastMutationId: number;
}

/**
 * Exactly-once, in-order processing of one client's mutations. A client numbers its mutations 1, 2,
 * 3... and resends everything not yet acknowledged, so a request may start with ids already processed.
 * Clients send ids in ascending order; the array is read in the order given and never sorted, because
 * a client that sends them out of order has lost track of its own queue, and the gap rule then stops
 * at the first id it cannot place rather than guessing.
 *
 *   id <= last processed         -> duplicate (a resend, or a repeat inside this request)
 *   id == last processed + 1     -> apply, and it becomes the last processed
 *   id >  last processed + 1     -> gap: stop; nothing from here on is processed, not even duplicates,
 *                                   so the client resends from the gap and gets one answer for each
 */
export function sequenceMutations<M extends { id: number }>(
  lastMutationId: number,
  mutations: readonly M[],
): SequencedMutations<M> {
  const toProcess: MutationDisposition<M>[] = [];
  let last = lastMutationId;
  for (const mutation of mutations) {
    if (mutation.id <= last) {
      toProcess.push({ mutation, action: 'duplicate' });
    } else if (mutation.id === last + 1) {
      toProcess.push({ mutation, action: 'apply' });
      last = mutation.id;
    } else {
      return { toProcess, stoppedAtGap: { expected: last + 1, got: mutation.id }, lastMutationId: last };
    }
  }
  return { toProcess, stoppedAtGap: null, lastMutationId: last };
}
