import { z } from 'zod';
import { AccountId, FanId, NoteId, Timestamp, Uuid } from './ids.ts';
import { Note, NoteColor, NoteContent, NoteType, OnlyFansNoteContent, OnlyFansNoteId } from './notes.ts';
import { flag, optional } from './optional.ts';

/** Most mutations one sync request may carry. */
export const MAX_MUTATIONS_PER_SYNC = 100;
/** Most notes one sync response returns; a longer delta is cut, with `more: true`. */
export const MAX_NOTES_PER_SYNC = 5000;
/**
 * Most bytes of notes one sync response returns, counted as each live note's text in UTF-8 plus a
 * fixed allowance for its other fields (a deleted note: its id); a longer delta is cut, with
 * `more: true`. The first note of a page is always sent, whatever its size.
 */
export const MAX_SYNC_PAGE_BYTES = 1024 * 1024;
/** Most OnlyFans notes one snapshot may carry. */
export const MAX_ONLYFANS_NOTES_PER_SYNC = 100;

/**
 * The fields of a note a client writes; the server keeps everything else. `content` may be left out
 * when only pin, colour or type change on an existing note, so a restyle never races anyone's text.
 */
export const NoteFields = z.strictObject({
  content: optional(NoteContent),
  type: optional(NoteType),
  /** `null` clears the colour; left out, the colour stays. */
  color: NoteColor.nullable()
    .optional()
    .meta({ description: 'A colour as #RRGGBB; `null` clears it, left out it stays as it is.' }),
  isPinned: optional(z.boolean()),
});
export type NoteFields = z.input<typeof NoteFields>;

/** Client mutation ids count 1, 2, 3... per `clientId`. */
export const MutationId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const UpsertMutation = z.strictObject({
  id: MutationId,
  op: z.literal('upsert'),
  noteId: NoteId,
  /** The note's `version` the client last saw; 0 for a note the client created. */
  baseVersion: z.number().int().min(0),
  note: NoteFields,
});

export const DeleteMutation = z.strictObject({
  id: MutationId,
  op: z.literal('delete'),
  noteId: NoteId,
  baseVersion: z.number().int().min(0),
});

export const Mutation = z.discriminatedUnion('op', [UpsertMutation, DeleteMutation]);
export type Mutation = z.infer<typeof Mutation>;

/** A fan's note as seen on OnlyFans right now. */
export const OnlyFansNoteSnapshot = z.strictObject({
  onlyFansNoteId: OnlyFansNoteId,
  content: OnlyFansNoteContent,
});
export type OnlyFansNoteSnapshot = z.infer<typeof OnlyFansNoteSnapshot>;

/** Opaque to clients: pass back the `cursor` of the last response. */
export const Cursor = z.string().min(1).max(200);

/**
 * POST /api/v2/sync-notes. Plain REST callers send `{ fanId, force }`; the extension adds the protocol
 * fields (see DESIGN.md, "The sync protocol").
 */
export const SyncNotesInput = z
  .strictObject({
    fanId: FanId.meta({ description: 'The fan whose notes to synchronise (their OnlyFans user id).' }),
    accountId: optional(AccountId).meta({
      description: 'The account the fan belongs to; needed only when several of your accounts have this fan.',
    }),
    force: flag(false).meta({
      description: 'Force a full synchronisation even if notes were recently synced.',
    }),
    clientId: optional(Uuid).meta({ description: 'The UUID of one installed client (protocol).' }),
    cursor: optional(Cursor).meta({ description: 'The cursor of the last response (protocol).' }),
    mutations: optional(z.array(Mutation).max(MAX_MUTATIONS_PER_SYNC)).meta({
      description: 'Changes made by this client, in order of their ids (protocol).',
    }),
    onlyFansNotes: optional(z.array(OnlyFansNoteSnapshot).max(MAX_ONLYFANS_NOTES_PER_SYNC)).meta({
      description: "The fan's notes as seen on OnlyFans right now (protocol).",
    }),
  })
  .refine((input) => !input.mutations?.length || input.clientId !== undefined, {
    message: 'clientId is required with mutations',
    path: ['clientId'],
  });
export type SyncNotesInput = z.input<typeof SyncNotesInput>;

export const MutationResult = z.discriminatedUnion('status', [
  z.object({ id: z.number().int(), noteId: z.string(), status: z.literal('applied') }),
  z.object({
    id: z.number().int(),
    noteId: z.string(),
    status: z.literal('duplicate'),
    /**
     * Set when the mutation was rejected (or refused) the first time it was processed: a client that
     * lost that answer still learns that the change was not saved, and why.
     */
    reason: z.string().optional(),
  }),
  z.object({
    id: z.number().int(),
    noteId: z.string(),
    status: z.literal('conflict'),
    /** The new note holding the client's text. */
    conflictNoteId: z.string(),
  }),
  z.object({ id: z.number().int(), noteId: z.string(), status: z.literal('rejected'), reason: z.string() }),
]);
export type MutationResult = z.infer<typeof MutationResult>;

export const SyncNotesData = z.object({
  /** True when this call was a full synchronisation; false for a throttled read of stored notes. */
  synchronized: z.boolean(),
  noteCount: z.number().int(),
  notes: z.array(Note),
  timestamp: Timestamp,
  cursor: z.string(),
  /** True when `notes` is the full live set (no, unknown or expired cursor) rather than a delta. */
  reset: z.boolean(),
  deletedNoteIds: z.array(z.string()),
  /**
   * The last mutation id of `clientId` that the server has processed; null without a client, and on a
   * throttled read (which looks at no client: it acknowledges nothing).
   */
  lastMutationId: z.number().int().nullable(),
  results: z.array(MutationResult),
  throttled: z.boolean(),
  /** When the next full synchronisation is allowed; null when it is allowed now. */
  nextSyncAt: Timestamp.nullable(),
  /** True when the delta was cut at the page limit (notes or bytes): call again with `cursor`. */
  more: z.boolean(),
});
export type SyncNotesData = z.infer<typeof SyncNotesData>;
