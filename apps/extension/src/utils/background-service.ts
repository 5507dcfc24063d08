import { defaultThrottlePolicy } from '@fannotes/sync-core';
import { browser } from 'wxt/browser';
import { createSyncApi } from './api-client.ts';
import { realAfter } from './after.ts';
import { LiveUpdates } from './live-updates.ts';
import { MembersRefresher } from './members-refresh.ts';
import {
  LIVE_PORT,
  isPortMessage,
  optionsRequestTypes,
  type ExtensionRequest,
  type Reply,
} from './messages.ts';
import { KEYS, isViewKey, type FanView, type LiveStatus } from './model.ts';
import { Outbox } from './outbox.ts';
import { handleRequest } from './requests.ts';
import { SyncRunner, type Session } from './runner.ts';
import { currentSession } from './session.ts';
import { loadSettings } from './settings.ts';
import { store } from './store.ts';

const ALARM = 'fannotes-sync';
/** While the outbox is not empty, an alarm looks at it at least this often (the worker may be stopped). */
const SAFETY_NET = 'fannotes-outbox';
const SAFETY_NET_MINUTES = 1;

/**
 * The background service worker: owns every API call. Listeners are registered synchronously at start
 * (an event that woke a stopped worker is delivered only to listeners present by then).
 */
export function startBackground(): void {
  // Stored state of an earlier version is brought to this one before anything else uses it (each key
  // also waits for its own upgrade on first use, so nothing reads or writes an old shape meanwhile).
  void store.migrate();
  const viewKeys = async () => Object.keys(await browser.storage.local.get(null)).filter(isViewKey);
  const outbox = new Outbox(store, () => crypto.randomUUID());

  const session = async (): Promise<Session> =>
    currentSession(await loadSettings(store), (url) => browser.cookies.getAll({ url }), Date.now());

  let timer: ReturnType<typeof setTimeout> | undefined;
  const runner: SyncRunner = new SyncRunner({
    store,
    outbox,
    session,
    api: async (token) => createSyncApi((await loadSettings(store)).apiUrl, () => Promise.resolve(token)),
    viewKeys,
    schedule: (at) => {
      // A timer for short waits while the worker lives; the alarm for when it has been stopped.
      clearTimeout(timer);
      timer = setTimeout(() => void runner.pump(), Math.max(0, at - Date.now()));
      void browser.alarms.create(ALARM, { when: Math.max(at, Date.now() + 1_000) });
    },
    now: () => Date.now(),
    random: () => Math.random(),
    policy: defaultThrottlePolicy,
  });

  // Live updates: one stream while any panel holds a port open (utils/live-updates.ts).
  const live = new LiveUpdates({
    store,
    session,
    apiUrl: async () => (await loadSettings(store)).apiUrl,
    fetch: (input, init) => fetch(input, init),
    pull: (fanId) => runner.request(fanId),
    now: () => Date.now(),
    random: () => Math.random(),
    after: realAfter,
  });
  // Who wrote what: the members of each account whose notes are shown, looked up beside the sync.
  const members = new MembersRefresher({
    store,
    session,
    api: async (token) => createSyncApi((await loadSettings(store)).apiUrl, () => Promise.resolve(token)),
    now: () => Date.now(),
  });

  // A new worker has no stream yet, whatever the last one said.
  void store.set({ [KEYS.live]: { state: 'idle', since: Date.now() } satisfies LiveStatus });
  browser.runtime.onConnect.addListener((port) => {
    if (port.name !== LIVE_PORT) return;
    port.onMessage.addListener((message: unknown) => {
      if (isPortMessage(message) && message.type === 'showing') {
        live.panelChanged(port, { fanId: message.fanId, visible: message.visible });
      }
    });
    port.onDisconnect.addListener(() => live.panelChanged(port, null));
  });
  globalThis.addEventListener?.('online', () => live.retryNow());

  browser.runtime.onMessage.addListener((message: unknown, sender, sendResponse: (reply: Reply) => void) => {
    if (typeof message !== 'object' || message === null || !('type' in message)) return false;
    const request = message as ExtensionRequest;
    // Settings and the account choice come from the extension's own pages, never from a web page's tab.
    const fromExtensionPage = sender.url?.startsWith(browser.runtime.getURL('/')) ?? false;
    if ((optionsRequestTypes as readonly string[]).includes(request.type) && !fromExtensionPage) {
      sendResponse({ ok: false, error: 'Not allowed from this page.' });
      return false;
    }
    void handleRequest(
      {
        store,
        outbox,
        runner,
        session,
        openOptions: () => browser.runtime.openOptionsPage(),
        viewKeys,
        now: () => Date.now(),
      },
      request,
    ).then(sendResponse);
    return true;
  });

  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === ALARM || alarm.name === SAFETY_NET) void runner.pump();
  });

  // Signing in again (a new session cookie) or changing the options resumes a paused sync.
  browser.cookies.onChanged.addListener(({ cookie }) => {
    if (!cookie.name.startsWith('sb-')) return;
    members.signedIn();
    void runner.pump(true);
    void live.sessionChanged();
  });
  browser.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    for (const [key, change] of Object.entries(changes)) {
      // `view:<fanId>$` would be a storage item's version, not a view.
      if (isViewKey(key)) void members.viewChanged(change.newValue as FanView | undefined);
    }
    if (KEYS.settings in changes) {
      members.signedIn();
      void runner.pump(true);
      void live.sessionChanged();
    }
    if (KEYS.outbox in changes) {
      const pending = (changes[KEYS.outbox]?.newValue as unknown[] | undefined)?.length ?? 0;
      if (pending > 0) void browser.alarms.create(SAFETY_NET, { periodInMinutes: SAFETY_NET_MINUTES });
      else void browser.alarms.clear(SAFETY_NET);
    }
  });

  // A worker (re)started with changes still pending sends them.
  void runner.pump();
}
