import { browser } from 'wxt/browser';
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { FanTracker } from '../utils/fan-tracker.ts';
import { LiveLink } from '../utils/live-link.ts';
import { membersKey, peopleFrom, type MembersEntry } from '../utils/members.ts';
import { realAfter } from '../utils/after.ts';
import {
  isObserverMessage,
  LIVE_PORT,
  PANEL_SOURCE,
  type PanelHello,
  type Reply,
  type PanelRequest,
} from '../utils/messages.ts';
import {
  KEYS,
  viewKey,
  type ClientState,
  type FanView,
  type LiveStatus,
  type OutboxEntry,
  type SyncStatus,
  type UnsavedEdit,
} from '../utils/model.ts';
import { panelCollapsed } from '../utils/panel-prefs.ts';
import { createPanel } from './panel.ts';

/**
 * Wires the panel to the page and the background: the observer's messages and the URL say which fan
 * is shown; storage (written by the background) says what to show, at once from cache and again on
 * every change; the panel's actions go to the background as requests.
 */
export function startPanel(ctx: ContentScriptContext): void {
  const send = async (request: PanelRequest): Promise<Reply> => {
    try {
      return (
        (await browser.runtime.sendMessage<PanelRequest, Reply | undefined>(request)) ?? {
          ok: false,
          error: 'No answer from the extension.',
        }
      );
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  };
  const fanId = () => tracker.current?.fanId ?? '';
  const panel = createPanel(document, {
    save: (noteId, edit) => send({ type: 'note-save', fanId: fanId(), ...(noteId ? { noteId } : {}), edit }),
    remove: (noteId) => send({ type: 'note-delete', fanId: fanId(), noteId }),
    keep: (originalId, copyId, keep) =>
      send({ type: 'conflict-keep', fanId: fanId(), originalId, copyId, keep }),
    refresh: () => send({ type: 'refresh', fanId: fanId() }),
    openOptions: () => send({ type: 'open-options' }),
    dismissUnsaved: (id) => send({ type: 'unsaved-dismiss', id }),
    retryUnsaved: (id) => send({ type: 'unsaved-retry', id }),
    collapsedChanged: (collapsed) => void panelCollapsed.setValue(collapsed),
  });
  // Folded in one tab, folded in all: the panel starts as the chatter left it.
  void panelCollapsed.getValue().then((collapsed) => panel.setCollapsed(collapsed));
  const unwatchCollapsed = panelCollapsed.watch((collapsed) => panel.setCollapsed(collapsed));

  let loads = 0;
  const load = async () => {
    const fan = tracker.current;
    if (!fan) return panel.render(null);
    const load = ++loads;
    const items = await browser.storage.local.get([
      viewKey(fan.fanId),
      KEYS.outbox,
      KEYS.status,
      KEYS.unsaved,
      KEYS.live,
      KEYS.client,
    ]);
    const view = (items[viewKey(fan.fanId)] as FanView | undefined) ?? null;
    const me = (items[KEYS.client] as ClientState | undefined)?.userId ?? null;
    const members = view?.accountId
      ? ((await browser.storage.local.get(membersKey(view.accountId)))[membersKey(view.accountId)] as
          MembersEntry | undefined)
      : undefined;
    const unsaved = (items[KEYS.unsaved] as UnsavedEdit[] | undefined) ?? [];
    // Other fans with unsaved edits are named from their cached views, when there are any.
    const others = [...new Set(unsaved.map((item) => item.fanId))].filter((id) => id !== fan.fanId);
    const views = others.length > 0 ? await browser.storage.local.get(others.map(viewKey)) : {};
    const fanNames = Object.fromEntries(
      others.flatMap((id) => {
        const other = views[viewKey(id)] as FanView | undefined;
        const name = other?.name ?? (other?.username ? `@${other.username}` : null);
        return name ? [[id, name]] : [];
      }),
    );
    if (load !== loads || tracker.current?.fanId !== fan.fanId) return;
    panel.render({
      fan: tracker.current,
      view,
      outbox: (items[KEYS.outbox] as OutboxEntry[] | undefined) ?? [],
      status: (items[KEYS.status] as SyncStatus | undefined) ?? null,
      live: (items[KEYS.live] as LiveStatus | undefined)?.state ?? null,
      unsaved,
      fanNames,
      people: peopleFrom(members, me),
    });
  };

  // While a fan is shown, a port tells the background so, which keeps its live-update stream open.
  const link = new LiveLink({
    connect: () => browser.runtime.connect({ name: LIVE_PORT }),
    after: realAfter,
    now: () => Date.now(),
  });
  const showing = () => link.show(tracker.current?.fanId ?? null, document.visibilityState === 'visible');

  const tracker = new FanTracker('', (fan, creator) => {
    void load();
    showing();
    if (fan) void send({ type: 'fan-open', fan, creator });
  });

  const onStorage = (changes: Record<string, unknown>, area: string) => {
    const fan = tracker.current;
    if (area !== 'local' || !fan) return;
    const shown = [viewKey(fan.fanId), KEYS.outbox, KEYS.status, KEYS.unsaved, KEYS.live, KEYS.client];
    if (
      shown.some((key) => key in changes) ||
      Object.keys(changes).some((key) => key.startsWith('members:') && !key.endsWith('$'))
    )
      void load();
  };
  browser.storage.onChanged.addListener(onStorage);
  ctx.onInvalidated(() => {
    browser.storage.onChanged.removeListener(onStorage);
    unwatchCollapsed();
    link.close();
    panel.destroy();
  });

  ctx.addEventListener(window, 'message', (event: MessageEvent) => {
    if (event.source !== window || event.origin !== location.origin || !isObserverMessage(event.data)) return;
    tracker.observe(event.data);
  });
  window.postMessage({ source: PANEL_SOURCE, kind: 'hello' } satisfies PanelHello, location.origin);
  // The background keeps a shown fan current (live updates, or its 20 s poll while the stream is
  // down, for visible tabs only); a tab coming back reads its fan's stored notes at once.
  ctx.addEventListener(document, 'visibilitychange', () => {
    showing();
    const fan = tracker.current;
    if (fan && document.visibilityState === 'visible') void send({ type: 'fan-poll', fanId: fan.fanId });
  });
  // The observer reports navigations; WXT's location watcher (the Navigation API in Chromium) catches
  // any it could not see, without polling the URL.
  ctx.addEventListener(window, 'wxt:locationchange', ({ newUrl }) => tracker.setHref(newUrl.href));
  tracker.setHref(location.href);
  void load();
}
