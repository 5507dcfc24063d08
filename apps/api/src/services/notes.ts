import type {
  DeleteNoteInput,
  DeletedNote,
  Note,
  UpdateNoteInput,
  UpdateOfNoteInput,
} from '@fannotes/contract';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireRight, resolveFan } from './authz.ts';
import { newNoteId, withFanWrite } from './fan-transaction.ts';
import { deleteNote, upsertNote, upsertOnlyFansNote, type WriteOutcome } from './note-writes.ts';
import { toDeletedNote, toNote, type NoteRow } from './serialize.ts';

// The single-note endpoints are one mutation each, applied exactly as a sync applies its mutations,
// so every surface gets the same conflict rules and versioning.

async function writableFan(ctx: AuthedContext, target: { fanId: string; accountId?: string | undefined }) {
  const { fan, role } = await resolveFan(ctx.deps.db, ctx.user.userId, target);
  requireRight(role, 'write');
  return fan;
}

function who(ctx: AuthedContext) {
  return { userId: ctx.user.userId, clientId: null, now: ctx.deps.now() };
}

function noteOrThrow(outcome: WriteOutcome): NoteRow {
  if (outcome.status === 'rejected') {
    if (outcome.notFound) throw new ApiError('resource_not_found', 'Note not found.');
    throw new ApiError('validation_error', `The note was not changed: ${outcome.reason}.`, {
      details: { reason: outcome.reason },
    });
  }
  return outcome.note!;
}

/**
 * POST /api/v2/update-note: creates a note, or updates the note named by `noteId`. With a stale
 * `baseVersion` and different text, the stored text stays and the caller's text is saved as a
 * conflict copy, which is what this returns (`conflictOf` set).
 */
export async function updateNote(ctx: AuthedContext, input: z.output<typeof UpdateNoteInput>): Promise<Note> {
  const fan = await writableFan(ctx, input);
  const outcome = await withFanWrite(ctx.deps.db, fan.id, who(ctx), (write) =>
    upsertNote(write, {
      noteId: input.noteId ?? newNoteId(),
      baseVersion: input.noteId ? input.baseVersion : 0,
      fields: { content: input.content, type: input.type, color: input.color, isPinned: input.isPinned },
      createIfMissing: input.noteId === undefined,
    }),
  );
  return toNote(outcome.status === 'conflict' ? outcome.copy : noteOrThrow(outcome), fan.fanId);
}

/** POST /api/v2/update-of-note: upserts a note read from OnlyFans, keyed by its OnlyFans id. */
export async function updateNoteFromOnlyFans(
  ctx: AuthedContext,
  input: z.output<typeof UpdateOfNoteInput>,
): Promise<Note> {
  const fan = await writableFan(ctx, input);
  const row = await withFanWrite(ctx.deps.db, fan.id, who(ctx), (write) => upsertOnlyFansNote(write, input));
  return toNote(row, fan.fanId);
}

/** POST /api/v2/delete-note: deletes a note, keeping a tombstone for deltas. Deleting twice is fine. */
export async function removeNote(
  ctx: AuthedContext,
  input: z.output<typeof DeleteNoteInput>,
): Promise<DeletedNote> {
  const fan = await writableFan(ctx, input);
  const outcome = await withFanWrite(ctx.deps.db, fan.id, who(ctx), (write) =>
    deleteNote(write, { noteId: input.noteId, baseVersion: input.baseVersion, mustExist: true }),
  );
  return toDeletedNote(noteOrThrow(outcome), fan.fanId);
}
