import type { DetectedFan } from './detect-fan.ts';
import type { NoteEdit, OnlyFansCreator, Settings } from './model.ts';
import type { ObservedUser } from './onlyfans-json.ts';

/**
 * Panel (isolated content script) -> background, over `runtime.sendMessage`. The background answers
 * every request with a `Reply`; the panel learns the outcome of a sync from storage, not from replies.
 */
export type PanelRequest =
  /** A fan's page is open: remember what OnlyFans shows about them and sync if the policy allows. */
  | { type: 'fan-open'; fan: DetectedFan; creator: OnlyFansCreator | null }
  /** Create a note (`noteId` absent) or change one. */
  | { type: 'note-save'; fanId: string; noteId?: string; edit: NoteEdit }
  | { type: 'note-delete'; fanId: string; noteId: string }
  /** Of a note and its conflict copy, keep `keepId`'s text on the original and delete the copy. */
  | { type: 'conflict-keep'; fanId: string; originalId: string; copyId: string; keep: 'original' | 'copy' }
  /**
   * The panel's tab came back into view: read its fan's stored notes (cheap), so teammates' changes
   * made meanwhile show at once. While it stays visible, the background's live updates keep it current.
   */
  | { type: 'fan-poll'; fanId: string }
  /** The refresh button: a forced full sync. */
  | { type: 'refresh'; fanId: string }
  /** An edit the API did not save (`id`: its mutation id): forget it, or send the same change again. */
  | { type: 'unsaved-dismiss'; id: number }
  | { type: 'unsaved-retry'; id: number }
  | { type: 'open-options' };

/**
 * Options page (settings, Team screen) -> background, which stays the only writer of storage. The
 * background takes these from the extension's own pages only, never from a content script.
 */
export type OptionsRequest =
  /** Settings as typed (the page asked for the host permissions first, within the click). */
  | { type: 'settings-save'; settings: Settings }
  /** The account (agency) this browser works in for an OnlyFans creator the user has several of. */
  | { type: 'account-choose'; creatorId: string; accountId: string };

export type ExtensionRequest = PanelRequest | OptionsRequest;

export const optionsRequestTypes: readonly OptionsRequest['type'][] = ['settings-save', 'account-choose'];

/** While the live-update stream is down, how often the background reads each shown fan's notes. */
export const POLL_INTERVAL_MS = 20_000;

/**
 * Panel -> background, over a `runtime.Port` named LIVE_PORT that the panel keeps open while it shows
 * a fan: while any is open the background holds the live-update stream. A port message wakes a stopped
 * MV3 worker's idle timer, so the panel sends one at least every KEEPALIVE_INTERVAL_MS; when the port
 * breaks (the worker was stopped), the panel connects again, which starts the worker again.
 */
export type PortMessage =
  /** What the panel shows (null: no fan) and whether its tab is visible (only visible fans are polled). */
  { type: 'showing'; fanId: string | null; visible: boolean } | { type: 'keepalive' };

export const LIVE_PORT = 'fannotes-live';
/** Under the 30 s after which Chrome stops an idle extension worker. */
export const KEEPALIVE_INTERVAL_MS = 20_000;

export function isPortMessage(data: unknown): data is PortMessage {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as Record<string, unknown>;
  if (message.type === 'keepalive') return true;
  return (
    message.type === 'showing' &&
    (message.fanId === null || typeof message.fanId === 'string') &&
    typeof message.visible === 'boolean'
  );
}

export type Reply = { ok: true } | { ok: false; error: string };

export const OBSERVER_SOURCE = 'fannotes-observer';
export const PANEL_SOURCE = 'fannotes-panel';

/**
 * Main-world observer -> panel, over `window.postMessage`. The page can post these too, so the panel
 * checks `event.source === window`, the origin and the shape, and trusts none of it beyond display and
 * the fan's id: nothing here is a secret or a credential.
 */
export type ObserverMessage =
  | { source: typeof OBSERVER_SOURCE; kind: 'users'; users: ObservedUser[]; me: ObservedUser | null }
  | { source: typeof OBSERVER_SOURCE; kind: 'navigation'; href: string };

/** Panel -> observer: send me everything you have seen so far (the two scripts start in either order). */
export interface PanelHello {
  source: typeof PANEL_SOURCE;
  kind: 'hello';
}

export function isObserverMessage(data: unknown): data is ObserverMessage {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as Record<string, unknown>;
  if (message.source !== OBSERVER_SOURCE) return false;
  if (message.kind === 'navigation') return typeof message.href === 'string';
  if (message.kind !== 'users' || !Array.isArray(message.users)) return false;
  const me = message.me;
  return message.users.every(isUser) && (me === null || isUser(me));
}

function isUser(value: unknown): value is ObservedUser {
  if (typeof value !== 'object' || value === null) return false;
  const user = value as Record<string, unknown>;
  return (
    typeof user.id === 'string' &&
    /^[1-9][0-9]{0,19}$/.test(user.id) &&
    ['username', 'name', 'displayName', 'notice'].every(
      (field) => user[field] === undefined || typeof user[field] === 'string',
    )
  );
}
