import {
  MAX_LIVE_NOTES_PER_FAN,
  type DeleteNoteInput,
  type DeletedNote,
  type Note,
  type UpdateNoteInput,
  type UpdateOfNoteInput,
} from '@fannotes/contract';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireRight, resolveFan } from './authz.ts';
import { newNoteId, withFanWrite } from './fan-transaction.ts';
import { parseIdempotencyKey, rememberKey, replayedNote, requestDigest } from './idempotency.ts';
import { applyNoteChanges, type AppliedChanges } from './note-writes.ts';
import { toDeletedNote, toNote, type NoteRow } from './serialize.ts';

// The single-note endpoints are one mutation each (no sync client, so no exactly-once record), applied
// by the same code as a sync's mutations: every surface gets the same conflict rules and versioning.

async function writableFan(ctx: AuthedContext, target: { fanId: string; accountId?: string | undefined }) {
  const { fan, role } = await resolveFan(ctx.deps.db, ctx.user.userId, target);
  requireRight(role, 'write');
  return fan;
}

function who(ctx: AuthedContext) {
  return { userId: ctx.user.userId, clientId: null, now: ctx.deps.now() };
}

/** The note a single mutation wrote (or, for a conflict, the copy holding the caller's text). */
function writtenNote({ output, rows }: AppliedChanges, noteId: string): NoteRow {
  const [result] = output.results;
  if (result?.status === 'rejected') {
    if (result.reason === 'note not found') throw new ApiError('resource_not_found', 'Note not found.');
    throw new ApiError('validation_error', `The note was not changed: ${result.reason}.`, {
      details: { reason: result.reason },
    });
  }
  return rows.get(result?.status === 'conflict' ? result.conflictNoteId : noteId)!;
}

/**
 * POST /api/v2/update-note: creates a note, or updates the note named by `noteId`. With a stale
 * `baseVersion` and different text, the stored text stays and the caller's text is saved as a
 * conflict copy, which is what this returns (`conflictOf` set). With an `Idempotency-Key`, a repeat
 * of the same request answers with the note the first one wrote and writes nothing (idempotency.ts).
 */
export async function updateNote(ctx: AuthedContext, input: z.output<typeof UpdateNoteInput>): Promise<Note> {
  const key = parseIdempotencyKey(ctx.headers.idempotencyKey);
  const fan = await writableFan(ctx, input);
  const noteId = input.noteId ?? newNoteId();
  const keyed = key === undefined ? undefined : { key, digest: requestDigest('update-note', input) };
  const row = await withFanWrite(ctx.deps, fan.id, who(ctx), async (write) => {
    const replayed = keyed && (await replayedNote(write, keyed));
    if (replayed) {
      write.repeat = true;
      return replayed;
    }
    const applied = await applyNoteChanges(write, {
      lastMutationId: 0,
      mustExist: input.noteId !== undefined,
      mutations: [
        {
          id: 1,
          op: 'upsert',
          noteId,
          // Without a base version an update applies to the note as it is now.
          baseVersion: input.baseVersion ?? Number.MAX_SAFE_INTEGER,
          note: { content: input.content, type: input.type, color: input.color, isPinned: input.isPinned },
        },
      ],
    });
    const written = writtenNote(applied, noteId);
    if (keyed) await rememberKey(write, keyed, written.id);
    return written;
  });
  return toNote(row, fan.fanId);
}

/** POST /api/v2/update-of-note: upserts a note read from OnlyFans, keyed by its OnlyFans id. */
export async function updateNoteFromOnlyFans(
  ctx: AuthedContext,
  input: z.output<typeof UpdateOfNoteInput>,
): Promise<Note> {
  const fan = await writableFan(ctx, input);
  const { rows } = await withFanWrite(ctx.deps, fan.id, who(ctx), (write) =>
    applyNoteChanges(write, {
      lastMutationId: 0,
      mutations: [],
      // One note, not the whole list: other OnlyFans notes are not deleted by it.
      onlyFansSnapshot: { notes: [input], complete: false },
    }),
  );
  const row = [...rows.values()].find((note) => note.onlyFansNoteId === input.onlyFansNoteId);
  // Not imported: the fan is at its cap of live notes (applyChanges left it out).
  if (!row) {
    throw new ApiError(
      'validation_error',
      `The note was not imported: this fan has ${MAX_LIVE_NOTES_PER_FAN} notes, the most one fan can have.`,
      { details: { reason: 'too many notes' } },
    );
  }
  return toNote(row, fan.fanId);
}

/** POST /api/v2/delete-note: deletes a note, keeping a tombstone for deltas. Deleting twice is fine. */
export async function removeNote(
  ctx: AuthedContext,
  input: z.output<typeof DeleteNoteInput>,
): Promise<DeletedNote> {
  const fan = await writableFan(ctx, input);
  const applied = await withFanWrite(ctx.deps, fan.id, who(ctx), (write) =>
    applyNoteChanges(write, {
      lastMutationId: 0,
      mustExist: true,
      mutations: [
        {
          id: 1,
          op: 'delete',
          noteId: input.noteId,
          baseVersion: input.baseVersion ?? Number.MAX_SAFE_INTEGER,
        },
      ],
    }),
  );
  return toDeletedNote(writtenNote(applied, input.noteId), fan.fanId);
}
