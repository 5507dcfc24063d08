import type { FanView, SyncStatus } from './model.ts';

export interface StatusLabel {
  /** The chip's state, for its colour: synced, pending, syncing, offline, error, signed-out. */
  state: string;
  /** The chip's few words. */
  text: string;
  /** What to tell the chatter in full, under the header; null when the chip says it all. */
  detail: string | null;
}

const changes = (pending: number) => (pending === 1 ? '1 change' : `${pending} changes`);

/**
 * What the status chip says: signed out and errors first, then offline, pending, syncing, synced.
 * Offline is said in plain words (what happens to the chatter's notes), never a network error.
 */
export function statusLabel(status: SyncStatus | null, pending: number, stale = false): StatusLabel {
  const queued = pending > 0 ? `${pending} pending` : null;
  switch (status?.state) {
    case 'signed-out':
      return { state: 'signed-out', text: 'Signed out', detail: status.message };
    case 'error':
      return { state: 'error', text: queued ? `Error · ${queued}` : 'Error', detail: status.message };
    case 'offline':
      return {
        state: 'offline',
        text: queued ? `Offline · ${queued}` : 'Offline',
        detail: queued
          ? `Offline: your ${changes(pending)} ${pending === 1 ? 'is' : 'are'} saved here and will sync when the connection is back.`
          : 'Offline: your notes are saved here and will sync when the connection is back.',
      };
    case 'syncing':
      return { state: 'syncing', text: queued ? `Syncing · ${queued}` : 'Syncing…', detail: null };
    default:
      if (queued) return { state: 'pending', text: queued, detail: null };
      // A teammate changed this fan while no panel showed it: the cached notes are behind.
      if (stale) return { state: 'syncing', text: 'Updating…', detail: null };
      return status
        ? { state: 'synced', text: 'Synced', detail: null }
        : { state: 'syncing', text: 'Starting…', detail: null };
  }
}

/**
 * The lines of the notice under the header, once each: the last action's error, the status, and why
 * the fan's last sync failed. Offline, that failure is the network's own wording ("Failed to fetch"),
 * which the plain offline line already says better.
 */
export function panelNotices(
  label: StatusLabel,
  actionError: string | null,
  view: Pick<FanView, 'error' | 'rejected'> | null,
): string[] {
  const messages = [
    actionError,
    label.detail,
    label.state === 'offline' ? null : view?.error,
    // Written by versions before the unsaved list; gone with the next answer about the fan.
    ...(view?.rejected ?? []).map((r) => `A change was refused: ${r.reason}`),
  ];
  return [...new Set(messages.filter((m): m is string => Boolean(m)))];
}
