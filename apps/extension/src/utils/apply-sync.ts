import {
  OnlyFansNoteContent,
  type Note,
  type OnlyFansNoteSnapshot,
  type SyncNotesData,
} from '@fannotes/contract';
import { afterFullSync, decodeCursorPosition } from '@fannotes/sync-core';
import type { FanView } from './model.ts';

/**
 * The OnlyFans snapshot to send with the next sync, or null when there is nothing new to tell: the
 * fan's `notice` is unknown, or the server already accepted (or refused) this very text. OnlyFans keeps one note
 * per creator and fan, so its id is the fan's id; an empty notice that we know of is an empty list
 * (OnlyFans' note was cleared). A notice the contract would refuse is not sent: one bad text must
 * not make every sync of the fan fail.
 */
export function pendingSnapshot(view: FanView): { notice: string; notes: OnlyFansNoteSnapshot[] } | null {
  if (view.notice === null) return null;
  const notice = view.notice.trim();
  if (notice === view.sentNotice || notice === view.refusedNotice) return null;
  if (notice === '') return { notice, notes: [] };
  const content = OnlyFansNoteContent.safeParse(notice);
  if (!content.success) return null;
  return { notice, notes: [{ onlyFansNoteId: view.fanId, content: content.data }] };
}

/**
 * The view after a successful answer. `reset` replaces the notes, a delta is merged by id (a later
 * version of a note replaces the earlier one, `deletedNoteIds` leave), so applying the same answer
 * twice changes nothing. The local throttle state records a full sync whatever the server did: what
 * it rations is this extension's calls.
 */
export function applySyncData(
  view: FanView,
  data: SyncNotesData,
  sent: { notice: string | null; forced: boolean; now: number },
): FanView {
  const notes = new Map<string, Note>();
  if (!data.reset) for (const note of view.notes) notes.set(note.id, note);
  for (const note of data.notes) notes.set(note.id, note);
  for (const id of data.deletedNoteIds) notes.delete(id);
  const accountId = view.accountId ?? data.notes[0]?.accountId ?? null;
  // Rejected mutations are the outbox's business now (its unsaved list); an older view's go.
  // A poke marked the view stale at some version: it is fresh again once the cursor holds that version.
  const { rejected: _legacy, staleVersion, ...rest } = view;
  const stale = staleVersion != null && staleVersion > coveredVersion(data.cursor);
  return {
    ...rest,
    ...(stale ? { staleVersion } : {}),
    accountId,
    notes: [...notes.values()],
    cursor: data.cursor,
    sentNotice: sent.notice ?? view.sentNotice,
    sync: afterFullSync(view.sync, { now: sent.now, forced: sent.forced }),
    syncedAt: data.timestamp,
    error: null,
  };
}

/** The last fan version a cursor holds entirely; -1 for none, or a cursor of an unknown format. */
export function coveredVersion(cursor: string | null): number {
  const position = cursor === null ? null : decodeCursorPosition(cursor);
  if (!position) return -1;
  return position.afterId === null ? position.version : position.version - 1;
}
