import { MAX_LIVE_NOTES_PER_FAN, type Mutation } from '@fannotes/contract';
import { notes } from '@fannotes/db';
import { applyChanges, type ApplyOutput, type ServerNote } from '@fannotes/sync-core';
import { getTableColumns, or, sql, type SQL } from 'drizzle-orm';
import { newNoteId, type FanWrite } from './fan-transaction.ts';
import { decodeRow, executeRows, recordsetColumns, textArray, toColumnNames, type Bound } from './raw-sql.ts';
import type { NoteRow } from './serialize.ts';

export interface NoteChanges {
  mutations: readonly Mutation[];
  /** The client's last processed mutation id (0 without a client: `write.clientId` null). */
  lastMutationId: number;
  /** Why earlier mutations of the client among these were rejected or refused (sync_rejections). */
  earlierRejections?: ReadonlyMap<number, string> | undefined;
  onlyFansSnapshot?: { notes: readonly { onlyFansNoteId: string; content: string }[]; complete: boolean };
  /** REST edits of a given note: a note id this fan does not have is "not found", not an offline create. */
  mustExist?: boolean;
}

export interface AppliedChanges {
  output: ApplyOutput;
  /** The fan's notes that were loaded or written, in their state after this write. */
  rows: Map<string, NoteRow>;
}

/**
 * Applies one sync's writes to a locked fan in a constant number of statements, whatever the number
 * of mutations: load the notes they can touch, let sync-core decide (applyChanges), write every
 * changed note back in one upsert.
 */
export async function applyNoteChanges(write: FanWrite, changes: NoteChanges): Promise<AppliedChanges> {
  const decided = await decideNoteChanges(write, changes);
  const rows = new Map(decided.own);
  for (const row of await persist(write, decided.values)) rows.set(row.id, row);
  return { output: decided.output, rows };
}

export interface DecidedChanges {
  output: ApplyOutput;
  /** The fan's notes that were loaded, as they were before this write. */
  own: Map<string, NoteRow>;
  /** The rows to write back: every created or changed note, in its new state. */
  values: (typeof notes.$inferInsert)[];
}

/**
 * Loads the notes the changes can touch (one statement, unless the caller read a superset of them
 * under the same lock: `preloaded`) and lets sync-core decide what to write; the caller writes
 * `values` back (applyNoteChanges, or the sync's closing statement).
 */
export async function decideNoteChanges(
  write: FanWrite,
  changes: NoteChanges,
  preloaded?: readonly NoteRow[],
): Promise<DecidedChanges> {
  const loaded = preloaded
    ? preloaded.filter(inScope(changes, write.fan.id))
    : await loadScope(write, changes);
  const own = new Map<string, NoteRow>();
  const foreign = new Set<string>();
  for (const row of loaded) {
    if (row.fanRowId === write.fan.id) own.set(row.id, row);
    else foreign.add(row.id);
  }
  if (changes.mustExist) {
    for (const mutation of changes.mutations) if (!own.has(mutation.noteId)) foreign.add(mutation.noteId);
  }
  const output = applyChanges({
    liveNotes: { count: write.fan.liveNoteCount + write.liveDelta, max: MAX_LIVE_NOTES_PER_FAN },
    notes: new Map([...own.values()].map((row) => [row.id, toServerNote(row)])),
    foreignNoteIds: foreign,
    clientId: write.clientId,
    lastMutationId: changes.lastMutationId,
    earlierRejections: changes.earlierRejections,
    mutations: changes.mutations,
    onlyFansSnapshot: changes.onlyFansSnapshot,
    version: write.version,
    newNoteId,
  });
  if (output.bumped) write.touched = true;
  write.liveDelta += output.liveDelta;
  return { output, own, values: rowsToWrite(write, own, output) };
}

async function loadScope(write: FanWrite, changes: NoteChanges): Promise<NoteRow[]> {
  const condition = scopeCondition(changes, sql`${write.fan.id}`);
  if (!condition) return [];
  return write.tx.select().from(notes).where(condition);
}

/**
 * The notes changes can touch, as a condition on `notes`: those their mutations name (of any fan: one
 * of another fan is refused, not overwritten), and with an OnlyFans snapshot the fan's OnlyFans notes.
 * Undefined when there are none. One array parameter, not one per id: the statement's text (and
 * prepared plan) is the same for 1 or 100 mutations.
 */
export function scopeCondition(
  changes: Pick<NoteChanges, 'mutations' | 'onlyFansSnapshot'>,
  fanRowId: SQL,
): SQL | undefined {
  const ids = scopeNoteIds(changes.mutations);
  return boundScopeCondition(
    {
      noteIds: ids.length > 0 ? textArray(ids) : undefined,
      onlyFans: changes.onlyFansSnapshot !== undefined,
    },
    fanRowId,
  );
}

/** The ids of the notes `mutations` name, each once. */
export const scopeNoteIds = (mutations: readonly { noteId: string }[]): string[] => [
  ...new Set(mutations.map((mutation) => mutation.noteId)),
];

/**
 * scopeCondition in a statement: `noteIds` a text[] literal (textArray) or its placeholder, undefined
 * when no note is named; `onlyFans` when an OnlyFans snapshot came.
 */
export function boundScopeCondition(
  scope: { noteIds: Bound<string> | undefined; onlyFans: boolean },
  fanRowId: SQL,
): SQL | undefined {
  const conditions: SQL[] = [];
  if (scope.noteIds !== undefined) conditions.push(sql`${notes.id} = any(${scope.noteIds}::text[])`);
  if (scope.onlyFans) {
    conditions.push(sql`(${notes.fanRowId} = ${fanRowId} and ${notes.onlyFansNoteId} is not null)`);
  }
  return conditions.length === 0 ? undefined : or(...conditions);
}

/** scopeCondition as a test on a loaded row. */
function inScope(changes: NoteChanges, fanRowId: string): (row: NoteRow) => boolean {
  const ids = new Set(changes.mutations.map((mutation) => mutation.noteId));
  return (row) =>
    ids.has(row.id) ||
    (changes.onlyFansSnapshot !== undefined && row.fanRowId === fanRowId && row.onlyFansNoteId !== null);
}

function toServerNote(row: NoteRow): ServerNote {
  return {
    id: row.id,
    content: row.content,
    type: row.type,
    color: row.color,
    isPinned: row.isPinned,
    source: row.source,
    onlyFansNoteId: row.onlyFansNoteId,
    importedContent: row.importedContent,
    conflictOf: row.conflictOf,
    version: row.version,
    contentVersion: row.contentVersion,
    contentClientId: row.contentClientId,
    deleted: row.deletedAt !== null,
  };
}

/** Every created or changed note in its new state, as the row to write. */
function rowsToWrite(write: FanWrite, before: Map<string, NoteRow>, output: ApplyOutput) {
  return [...output.changed.values()].map((note): typeof notes.$inferInsert => {
    const previous = before.get(note.id);
    const visible = note.version === write.version;
    return {
      id: note.id,
      fanRowId: write.fan.id,
      accountId: write.fan.accountId,
      content: note.content,
      type: note.type,
      color: note.color,
      isPinned: note.isPinned,
      source: note.source,
      onlyFansNoteId: note.onlyFansNoteId,
      importedContent: note.importedContent,
      conflictOf: note.conflictOf,
      version: note.version,
      contentVersion: note.contentVersion,
      contentClientId: note.contentClientId,
      // A tombstone keeps its time of deletion unless this write showed it to clients again: then
      // it was brought back and deleted again here (the horizon counts from the last deletion).
      deletedAt: note.deleted ? ((visible ? null : previous?.deletedAt) ?? write.now) : null,
      createdAt: previous?.createdAt ?? write.now,
      createdBy: previous ? previous.createdBy : write.userId,
      updatedAt: visible || !previous ? write.now : previous.updatedAt,
      updatedBy: visible || !previous ? write.userId : previous.updatedBy,
    };
  });
}

const NOTE_COLUMN_LIST = sql.raw(
  Object.values(getTableColumns(notes))
    .map((column) => `"${column.name}"`)
    .join(', '),
);
const NOTE_RECORDSET = sql.raw(recordsetColumns(notes));
const { id: _id, createdAt: _createdAt, createdBy: _createdBy, ...updatable } = getTableColumns(notes);
// Every column but the identity ones takes the new value on conflict.
const NOTE_UPDATE_SET = sql.raw(
  Object.values(updatable)
    .map((column) => `"${column.name}" = excluded."${column.name}"`)
    .join(', '),
);

/**
 * The one notes upsert: every created or changed note in one statement (a statement of its own, or a
 * CTE of a sync's closing statement), returning the rows as written. A row whose id is a note of
 * another fan is never overwritten (the conflict's `where`). The rows travel as one JSON parameter, so
 * the statement's text, and its prepared plan, are the same for 1 or 100 notes. Not for no rows.
 */
export function upsertNotes(rows: Bound<string>): SQL {
  return sql`insert into ${notes} (${NOTE_COLUMN_LIST})
    select ${NOTE_COLUMN_LIST} from jsonb_to_recordset(${rows}::text::jsonb) as x(${NOTE_RECORDSET})
    on conflict (id) do update set ${NOTE_UPDATE_SET} where ${notes}.fan_row_id = excluded.fan_row_id
    returning *`;
}

/** Rows to write, as upsertNotes' one JSON parameter. */
export const noteRowsJson = (values: readonly (typeof notes.$inferInsert)[]): string =>
  JSON.stringify(values.map((row) => toColumnNames(notes, row)));

async function persist(write: FanWrite, values: (typeof notes.$inferInsert)[]): Promise<NoteRow[]> {
  if (values.length === 0) return [];
  const rows = await executeRows(write.tx, upsertNotes(noteRowsJson(values)));
  return rows.map((raw) => decodeRow(notes, raw)!);
}
