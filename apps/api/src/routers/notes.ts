import {
  DeleteNoteInput,
  DeletedNote,
  Note,
  SyncNotesData,
  SyncNotesInput,
  UpdateNoteInput,
  UpdateOfNoteInput,
  successEnvelope,
} from '@fannotes/contract';
import { changesSubscription } from '../live/changes.ts';
import { removeNote, updateNote, updateNoteFromOnlyFans } from '../services/notes.ts';
import { syncNotes } from '../services/sync.ts';
import { authedProcedure } from '../trpc.ts';
import { idempotencyKeyHeader, ok, protectedRoute } from './openapi-meta.ts';

export const notesRouter = {
  sync: authedProcedure
    .meta(
      protectedRoute('notes', 'POST', '/v2/sync-notes', 'Synchronise the notes of a fan', {
        extraErrors: [409, 429],
        description:
          'Returns every note about the fan (CRM and OnlyFans). Plain callers send `{ fanId, force }`; ' +
          'the extension adds the sync protocol fields (clientId, cursor, mutations, onlyFansNotes). ' +
          'Calls within the throttle interval return stored notes with `synchronized: false`.',
      }),
    )
    .input(SyncNotesInput)
    .output(successEnvelope(SyncNotesData))
    .mutation(async ({ ctx, input }) => ok(await syncNotes(ctx, input))),

  update: authedProcedure
    .meta(
      protectedRoute('notes', 'POST', '/v2/update-note', 'Create or update a CRM note', {
        description:
          'Creates a note, or updates the note named by `noteId`. Send an `Idempotency-Key` to retry safely.',
        requestHeaders: idempotencyKeyHeader,
      }),
    )
    .input(UpdateNoteInput)
    .output(successEnvelope(Note))
    .mutation(async ({ ctx, input }) => ok(await updateNote(ctx, input))),

  updateFromOnlyFans: authedProcedure
    .meta(
      protectedRoute('notes', 'POST', '/v2/update-of-note', 'Upsert a note read from OnlyFans', {
        description: 'Keyed by `onlyFansNoteId`; the note has `source: "onlyfans"`.',
      }),
    )
    .input(UpdateOfNoteInput)
    .output(successEnvelope(Note))
    .mutation(async ({ ctx, input }) => ok(await updateNoteFromOnlyFans(ctx, input))),

  delete: authedProcedure
    .meta(
      protectedRoute('notes', 'POST', '/v2/delete-note', 'Delete a note', {
        description: 'The note is kept as a tombstone so that other devices learn of the deletion.',
      }),
    )
    .input(DeleteNoteInput)
    .output(successEnvelope(DeletedNote))
    .mutation(async ({ ctx, input }) => ok(await removeNote(ctx, input))),

  /** Live pokes (issue #15); REST's `GET /api/v2/events` is served by the HTTP edge from the same hub. */
  changes: changesSubscription,
};
