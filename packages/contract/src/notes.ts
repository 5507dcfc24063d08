import { z } from 'zod';
import { AccountId, FanId, NoteId, Timestamp } from './ids.ts';
import { noteSources, noteTypes } from './note-kinds.ts';
import { optional } from './optional.ts';
import { userText } from './text.ts';

/** Longest note content, in characters after trimming. */
export const MAX_NOTE_LENGTH = 5000;
/**
 * Longest OnlyFans note we mirror. OnlyFans publishes no limit; we accept more than our own limit so
 * that importing a long OnlyFans note never truncates it.
 */
export const MAX_ONLYFANS_NOTE_LENGTH = 20000;

/**
 * Most live (not deleted) notes one fan may have; a write that would bring one more to life is refused
 * (a `rejected` mutation, or 400 validation_error). A team writes a few notes a week about a fan: 2,000
 * is years of a busy chat, and it bounds what a full read of a fan costs (at most 2,000 notes of
 * 5,000 characters: a few 1 MiB pages) against a user who would fill a fan to slow everyone down.
 */
export const MAX_LIVE_NOTES_PER_FAN = 2000;

export const NoteType = z.enum(noteTypes);
export type NoteType = z.infer<typeof NoteType>;

export const NoteSource = z.enum(noteSources);
export type NoteSource = z.infer<typeof NoteSource>;

export const NoteColor = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, { message: 'must be a colour as #RRGGBB' })
  .transform((value) => value.toUpperCase());

export const NoteContent = userText('content', MAX_NOTE_LENGTH);
export const OnlyFansNoteContent = userText('content', MAX_ONLYFANS_NOTE_LENGTH);

/** OnlyFans' id of a note (one per creator and fan today: we use the fan's id unless told otherwise). */
export const OnlyFansNoteId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_:.-]+$/, { message: 'must be letters, digits, _ : . or -' });

export const Note = z.object({
  id: z.string().meta({ example: 'note_7d8e9f1a-0000-4000-8000-456789abcdef' }),
  fanId: z.string(),
  accountId: z.string(),
  content: z.string(),
  type: NoteType,
  color: z.string().nullable(),
  isPinned: z.boolean(),
  source: NoteSource,
  onlyFansNoteId: z.string().nullable(),
  /** Set on a copy made when this text conflicted with a concurrent edit of the named note. */
  conflictOf: z.string().nullable(),
  /** The fan's version at this note's last change; deltas are read by it. */
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  createdBy: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type Note = z.infer<typeof Note>;

/** POST /api/v2/update-note: create a CRM note, or update one when `noteId` is given. */
export const UpdateNoteInput = z.strictObject({
  fanId: FanId,
  accountId: optional(AccountId),
  noteId: optional(NoteId),
  /** The note's `version` this edit is based on; without it the edit applies to the current note. */
  baseVersion: optional(z.number().int().min(0)),
  content: NoteContent,
  type: optional(NoteType),
  /** `null` clears the colour; left out, a new note has none and an edited one keeps its own. */
  color: NoteColor.nullable()
    .optional()
    .meta({ description: 'A colour as #RRGGBB; `null` clears it, left out it stays as it is.' }),
  isPinned: optional(z.boolean()),
});
export type UpdateNoteInput = z.input<typeof UpdateNoteInput>;

/** POST /api/v2/update-of-note: upsert a note read from OnlyFans, keyed by its OnlyFans id. */
export const UpdateOfNoteInput = z.strictObject({
  fanId: FanId,
  accountId: optional(AccountId),
  onlyFansNoteId: OnlyFansNoteId,
  content: OnlyFansNoteContent,
});
export type UpdateOfNoteInput = z.input<typeof UpdateOfNoteInput>;

/** POST /api/v2/delete-note: delete a note (kept as a tombstone so deltas can report it). */
export const DeleteNoteInput = z.strictObject({
  fanId: FanId,
  accountId: optional(AccountId),
  noteId: NoteId,
  baseVersion: optional(z.number().int().min(0)),
});
export type DeleteNoteInput = z.input<typeof DeleteNoteInput>;

export const DeletedNote = z.object({
  id: z.string(),
  fanId: z.string(),
  accountId: z.string(),
  deletedAt: Timestamp,
  version: z.number().int(),
});
export type DeletedNote = z.infer<typeof DeletedNote>;
