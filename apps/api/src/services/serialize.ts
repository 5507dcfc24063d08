import type { Account, DeletedNote, Fan, Member, Note, Role } from '@fannotes/contract';
import type { accounts, fans, memberships, notes } from '@fannotes/db';

export type NoteRow = typeof notes.$inferSelect;

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

export function toMember(row: typeof memberships.$inferSelect): Member {
  return {
    accountId: row.accountId,
    userId: row.userId,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
