import type { Mutation, Note, NoteType } from '@fannotes/contract';
import type { FanSyncState } from '@fannotes/sync-core';

/**
 * Everything the extension keeps, in `browser.storage.local`. The background is the only writer;
 * the panel reads these keys and re-renders on `storage.onChanged`, so a panel shows cached notes
 * at once, even while the background worker is still starting.
 *
 *   settings        Settings
 *   client          ClientState         (clientId and the mutation counter, per signed-in user)
 *   outbox          OutboxEntry[]       (the signed-in user's unacknowledged mutations, in id order)
 *   unsaved         UnsavedEdit[]       (the signed-in user's edits the API refused, until dismissed)
 *   status          SyncStatus
 *   retry           RetryState          (backoff, so a restarted worker keeps honouring it)
 *   creator         OnlyFans creator last seen logged in ({ id, username })
 *   accounts        { [creatorId]: accountId } for the signed-in user
 *   live            LiveStatus          (the live-update stream, for the panel's status chip)
 *   view:<fanId>    FanView
 *   members:<accountId>  MembersEntry    (authors' names and the user's role; utils/members.ts)
 *   panelCollapsed  boolean             (written by the panel: folded to its edge tab; utils/panel-prefs.ts)
 *   parked:<userId> another user's client, outbox and unsaved list (outbox.ts)
 *
 * Each key is a versioned WXT storage item (store.ts: its format history and migrations); its
 * version is kept beside it under `<key>$`.
 */
export const KEYS = {
  settings: 'settings',
  client: 'client',
  outbox: 'outbox',
  unsaved: 'unsaved',
  status: 'status',
  retry: 'retry',
  creator: 'creator',
  accounts: 'accounts',
  live: 'live',
} as const;

export const viewKey = (fanId: string) => `view:${fanId}`;

/** A stored fan view's key (not the meta key `view:<fanId>$` that holds its format version). */
export const isViewKey = (key: string) => key.startsWith('view:') && !key.endsWith('$');

export interface Settings {
  /** Base URL of the FanNotes API, e.g. `https://api.example.com` (no trailing slash). */
  apiUrl: string;
  /** The web app whose Supabase session cookie signs the extension in, e.g. `https://app.example.com`. */
  appOrigin: string;
  /** A pasted access token (development); used instead of the cookie when set. */
  devToken: string;
}

export const defaultSettings: Settings = {
  apiUrl: 'http://localhost:3000',
  appOrigin: '',
  devToken: '',
};

export interface ClientState {
  /** The JWT `sub` this client id belongs to: the API refuses a client id of another user. */
  userId: string;
  clientId: string;
  /** The id the next mutation gets; ids count 1, 2, 3... per client id. */
  nextMutationId: number;
}

export interface OutboxEntry {
  fanId: string;
  mutation: Mutation;
  /** Epoch ms: shown as the pending note's time, and orders it among the others. */
  enqueuedAt: number;
}

/**
 * An edit the API will not save, kept whole (so its text can be shown and copied) until its author
 * dismisses it or tries again. It left the outbox: the server counted its id as processed.
 */
export interface UnsavedEdit {
  fanId: string;
  /** The mutation as last sent; its id (unique among the client's unsaved edits) names it. */
  mutation: Mutation;
  enqueuedAt: number;
  /**
   * `refused`: the API refused every change to the fan (the user's role, membership, the fan gone or
   * ambiguous), so trying again may work once that changes; `rejected`: this change alone (a stale
   * delete, the fan at its cap of notes).
   */
  kind: 'refused' | 'rejected';
  /** The API's error code of a refusal (`permission_denied`...); null for a rejection. */
  code: string | null;
  /** Why, in the API's words (the panel says it in plain words). */
  reason: string;
  /** Epoch ms when the API said no. */
  at: number;
}

export interface OnlyFansCreator {
  id: string;
  username?: string;
}

/** One fan's notes as the server last told us, and what the extension needs to sync them. */
export interface FanView {
  fanId: string;
  accountId: string | null;
  username: string | null;
  name: string | null;
  /** OnlyFans' note on the fan as last observed; null while unknown. */
  notice: string | null;
  /** The `notice` the server last accepted as the OnlyFans snapshot; null when never sent. */
  sentNotice: string | null;
  /**
   * The `notice` the server refused to take from this user (a viewer may read, not write): not sent
   * again, so that their syncs of the fan are plain reads. Absent in views stored before it existed.
   */
  refusedNotice?: string | null;
  /** Live notes, server state only (pending changes are in the outbox and overlaid by the panel). */
  notes: Note[];
  cursor: string | null;
  /** When this extension last ran a full sync of the fan: planSync's input. */
  sync: FanSyncState;
  /** ISO time of the last successful answer about this fan. */
  syncedAt: string | null;
  /** Why the last sync of this fan failed, for the panel; null after a success. */
  error: string | null;
  /**
   * A teammate changed the fan's notes up to this version (a poke) while no panel showed them: the
   * cached notes are behind until a pull reaches it. Absent in views stored before live updates.
   */
  staleVersion?: number | null;
  /**
   * Written by versions before the `unsaved` list (issue 14): refused mutations of the last answer.
   * Still shown when a stored view has it; the next answer about the fan drops it.
   */
  rejected?: { noteId: string; reason: string }[];
}

export function emptyView(fanId: string): FanView {
  return {
    fanId,
    accountId: null,
    username: null,
    name: null,
    notice: null,
    sentNotice: null,
    notes: [],
    cursor: null,
    sync: { lastFullSyncAt: null, lastForcedSyncAt: null },
    syncedAt: null,
    error: null,
  };
}

/**
 *   idle ──request──> syncing ──ok──> idle (synced, or pending > 0 while draining)
 *                        │──network──> offline   (retry by alarm, with backoff)
 *                        │──401──────> signed-out (no retry until the session changes)
 *                        └──other────> error      (409/429/503/5xx retry; 403/400 wait for the user)
 */
export type SyncState = 'idle' | 'syncing' | 'offline' | 'signed-out' | 'error';

export interface SyncStatus {
  state: SyncState;
  /** Why, for offline, signed-out and error. */
  message: string | null;
  /** Epoch ms of the next automatic attempt, when one is scheduled. */
  retryAt: number | null;
}

/** The live-update stream (utils/live-updates.ts): `open` means pokes arrive and nothing polls. */
export type LiveState = 'idle' | 'connecting' | 'open' | 'waiting' | 'signed-out';

export interface LiveStatus {
  state: LiveState;
  /** Epoch ms of the change to this state. */
  since: number;
}

export interface RetryState {
  /** Failed attempts in a row. */
  attempt: number;
  /** Epoch ms before which no automatic attempt runs. */
  notBefore: number;
  /** A wait the server asked for (Retry-After): user actions do not skip it. */
  serverAsked: boolean;
}

/** What the panel may ask the background to write; the background turns it into a mutation. */
export interface NoteEdit {
  content?: string;
  type?: NoteType;
  color?: string | null;
  isPinned?: boolean;
}
