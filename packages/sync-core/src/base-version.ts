/** A mutation waiting in a client's outbox, as far as choosing a base is concerned. */
export interface QueuedChange {
  noteId: string;
  baseVersion: number;
}

/**
 * The `baseVersion` a client puts on a new change of a note: the version of the text the user was
 * shown. While the note has changes of the client's own in the outbox, the user sees (and edits) that
 * queued text, which was based on the queued change's base; a newer server version that arrived
 * meanwhile (a teammate's edit in the response to a request that did not yet carry the queued change)
 * is hidden under it and was never shown. Claiming it as seen would let this change silently replace
 * the teammate's text; keeping the queued base makes the server answer with a conflict copy instead.
 * The server lifts a client's base past the client's own text changes, so the older base never makes
 * the client conflict with itself.
 *
 *   note in the outbox? | base
 *   --------------------+----------------------------------------------------------
 *   yes                 | the baseVersion of the latest queued change of the note
 *   no, server sent it  | the note's version in the last server data
 *   no (a new note)     | 0
 */
export function baseVersionFor(
  noteId: string,
  serverVersion: number | undefined,
  outbox: readonly QueuedChange[],
): number {
  for (let index = outbox.length - 1; index >= 0; index--) {
    const queued = outbox[index]!;
    if (queued.noteId === noteId) return queued.baseVersion;
  }
  return serverVersion ?? 0;
}
