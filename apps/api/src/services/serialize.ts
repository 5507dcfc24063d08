import type { Account, DeletedNote, Fan, Member, Note, NoteSource, NoteType, Role } from '@fannotes/contract';
import { notes, type accounts, type fans, type memberships } from '@fannotes/db';
import { sql, type SQL } from 'drizzle-orm';

export type NoteRow = typeof notes.$inferSelect;

/**
 * The columns of `notes` that a sync's page reads: what an answer shows, and `deleted_at` for its
 * tombstones. Not the fan's row id, the imported OnlyFans text or the content version, which no answer
 * sends: a page of 5,000 notes reads and builds nothing it does not need.
 */
const PAGE_COLUMNS = [
  notes.id,
  notes.accountId,
  notes.content,
  notes.type,
  notes.color,
  notes.isPinned,
  notes.source,
  notes.onlyFansNoteId,
  notes.conflictOf,
  notes.version,
  notes.createdAt,
  notes.updatedAt,
  notes.deletedAt,
  notes.createdBy,
  notes.updatedBy,
].map((column) => column.name);

/** A row of a page statement (`pageColumns`), keyed by column name, with the driver's own values. */
export type PageRow = Readonly<Record<string, unknown>>;

/** `alias.col, ...` of the page columns, for the select list of a page statement. */
export function pageColumns(alias: string): SQL {
  return sql.raw(PAGE_COLUMNS.map((name) => `${alias}."${name}"`).join(', '));
}

export const pageRowVersion = (row: PageRow): number => Number(row.version);
export const isTombstone = (row: PageRow): boolean => row.deleted_at !== null && row.deleted_at !== undefined;

/**
 * PostgreSQL's text for a `timestamptz` in UTC (DateStyle ISO, the driver's): `2026-12-04 10:00:00.123456+00`,
 * the fraction optional, 1 to 6 digits. Years before 1 ("BC") or past 9999 do not match.
 */
const PG_UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * A timestamp as the driver returns it, in ISO 8601 with milliseconds, as drizzle's Date would give it
 * (the fraction cut, not rounded, to milliseconds). PostgreSQL's UTC text is rewritten as text: a page
 * has two timestamps a note, and parsing each into a Date to print it again was a twentieth of a
 * throttled read's time in the API process. Anything else (another offset, a Date) goes through Date.
 */
export function isoTimestamp(value: unknown): string {
  if (typeof value === 'string') {
    const utc = PG_UTC_TIMESTAMP.exec(value);
    if (utc) return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  }
  return (notes.createdAt.mapFromDriverValue(value) as Date).toISOString();
}

/** A page row as the contract's `Note`, built in one step (the same values as `toNote` of its NoteRow). */
export function noteFromPageRow(row: PageRow, fanId: string): Note {
  return {
    id: row.id as string,
    fanId,
    accountId: row.account_id as string,
    content: row.content as string,
    type: row.type as NoteType,
    color: row.color as string | null,
    isPinned: row.is_pinned as boolean,
    source: row.source as NoteSource,
    onlyFansNoteId: row.only_fans_note_id as string | null,
    conflictOf: row.conflict_of as string | null,
    version: pageRowVersion(row),
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
    createdBy: row.created_by as string | null,
    updatedBy: row.updated_by as string | null,
  };
}

export function toNote(row: NoteRow, fanId: string): Note {
  return {
    id: row.id,
    fanId,
    accountId: row.accountId,
    content: row.content,
    type: row.type,
    color: row.color,
    isPinned: row.isPinned,
    source: row.source,
    onlyFansNoteId: row.onlyFansNoteId,
    conflictOf: row.conflictOf,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
  };
}

export function toDeletedNote(row: NoteRow, fanId: string): DeletedNote {
  return {
    id: row.id,
    fanId,
    accountId: row.accountId,
    deletedAt: (row.deletedAt ?? row.updatedAt).toISOString(),
    version: row.version,
  };
}

export function toFan(row: typeof fans.$inferSelect): Fan {
  return {
    accountId: row.accountId,
    fanId: row.fanId,
    username: row.username,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toAccount(row: typeof accounts.$inferSelect, role: Role): Account {
  return {
    id: row.id,
    onlyFansUserId: row.onlyFansUserId,
    username: row.username,
    role,
    createdAt: row.createdAt.toISOString(),
  };
}

/** `displayName`: the member's profile name, or services/profiles.ts fallbackDisplayName without one. */
export function toMember(row: typeof memberships.$inferSelect, displayName: string): Member {
  return {
    accountId: row.accountId,
    userId: row.userId,
    role: row.role,
    displayName,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
