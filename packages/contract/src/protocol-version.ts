/**
 * The sync protocol's version. Bump it when a change to the request or response of `notes.sync`
 * changes what an existing client must do; keep the history below.
 *
 * History:
 * 1 (2026-11): `{ fanId, force }` plus clientId, cursor, mutations, onlyFansNotes; responses with
 *   cursor, reset, deletedNoteIds, lastMutationId, results, throttled, nextSyncAt, more.
 */
export const PROTOCOL_VERSION = 1;
