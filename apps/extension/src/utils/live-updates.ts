import { HEARTBEAT_INTERVAL_MS } from '@fannotes/contract';
import { coveredVersion } from './apply-sync.ts';
import { retryDelay } from './backoff.ts';
import { readLiveStream, type After, type StreamEvent, type StreamOutcome } from './live-stream.ts';
import { POLL_INTERVAL_MS } from './messages.ts';
import { KEYS, viewKey, type FanView, type LiveStatus, type LiveState } from './model.ts';
import type { Session } from './runner.ts';
import type { Store } from './store.ts';
import { updateView } from './views.ts';

/** What one open panel shows: its fan (null: none) and whether its tab is visible. */
export interface Presence {
  fanId: string | null;
  visible: boolean;
}

export interface LiveDeps {
  store: Store;
  /** The signed-in user, read fresh before every connection (a token_expired end wants a new token). */
  session: () => Promise<Session>;
  apiUrl: () => Promise<string>;
  fetch: typeof fetch;
  /** Read a fan's notes from the API into its view (the runner's `fan-poll` path). */
  pull: (fanId: string) => Promise<void>;
  now: () => number;
  random: () => number;
  after: After;
}

/**
 * Live updates for the open panels: one stream of pokes (`GET /api/v2/events`, every account of the
 * user) while any panel is connected, and the 20 s poll while that stream is down.
 *
 *   idle ──first panel──> connecting ──200──> open ──end / closed / silent──> waiting ──timer──> connecting
 *                             │──401──> signed-out ──session changed──> connecting
 *                             └─offline, 404/429/503──> waiting (backoff, never before Retry-After)
 *   any ──last panel gone──> idle (the stream is closed)
 *
 * What must stay true:
 * - while the stream is not open (connecting, waiting), every fan shown in a visible tab is pulled
 *   every POLL_INTERVAL_MS; while it is open, never (pokes say when), and each (re)opening pulls every
 *   fan shown, since pokes sent while it was down are lost;
 * - a poke pulls a shown fan unless its cursor already holds that version; a fan not shown only gets
 *   its cached view marked stale (opening a fan asks the API anyway);
 * - at most one pull per fan is in flight, plus one queued, whatever the burst of pokes;
 * - a 401 is not retried until the session changes (one attempt per change, never a loop).
 */
export class LiveUpdates {
  private readonly panels = new Map<unknown, Presence>();
  private state: LiveState = 'idle';
  /** Bumped when the last panel leaves: a loop of an older generation ends at its next step. */
  private generation = 0;
  /** Aborts the connection in progress. */
  private connection: AbortController | null = null;
  /** The token and API of the connection in progress, or of the last one. */
  private target: { token: string; apiUrl: string } | null = null;
  /** Ends the current wait (a timer, or the wait for a new session) early. */
  private wake: (() => void) | null = null;
  /** The current wait is one the server asked for (`Retry-After`, `end`). */
  private serverAsked = false;
  private cancelPoll: (() => void) | null = null;
  private readonly pulls = new Map<string, { queued: boolean }>();

  constructor(private readonly deps: LiveDeps) {}

  get status(): LiveState {
    return this.state;
  }

  /** A panel connected, changed what it shows or its tab's visibility (`null`: it went away). */
  panelChanged(panel: unknown, presence: Presence | null): void {
    if (presence === null) this.panels.delete(panel);
    else this.panels.set(panel, presence);
    if (this.panels.size === 0 && this.state !== 'idle') {
      this.generation++;
      this.connection?.abort();
      this.wake?.();
      this.setState('idle');
    } else if (this.panels.size > 0 && this.state === 'idle') {
      void this.run(this.generation);
    }
    this.updatePolling();
  }

  /**
   * The cookies or the options changed: a stream refused for its session tries again; an open stream,
   * or a wait before the next attempt, moves to a new token or API at once. A change that leaves both
   * as they were (another site's cookie) changes nothing: a `Retry-After` wait is not cut short.
   */
  async sessionChanged(): Promise<void> {
    if (this.state === 'signed-out') return this.wake?.();
    const used = this.target;
    if (used === null || this.state === 'idle') return;
    const session = await this.deps.session();
    const apiUrl = (await this.deps.apiUrl()).replace(/\/+$/, '');
    if (session.ok && session.token === used.token && apiUrl === used.apiUrl) return;
    if (this.state === 'waiting') this.wake?.();
    else this.connection?.abort();
  }

  /** The network came back: stop waiting out a network backoff (never a wait the server asked for). */
  retryNow(): void {
    if (this.state === 'waiting' && !this.serverAsked) this.wake?.();
  }

  private async run(generation: number): Promise<void> {
    let attempt = 0;
    const live = () => generation === this.generation;
    this.setState('connecting');
    while (live()) {
      const session = await this.deps.session();
      if (!live()) return;
      if (!session.ok) {
        this.setState('signed-out');
        await this.wait(null);
        continue;
      }
      const apiUrl = (await this.deps.apiUrl()).replace(/\/+$/, '');
      if (!live()) return;
      this.setState('connecting');
      const controller = new AbortController();
      this.connection = controller;
      this.target = { token: session.token, apiUrl };
      let openedAt: number | null = null;
      const outcome = await readLiveStream({
        fetch: this.deps.fetch,
        apiUrl,
        token: session.token,
        signal: controller.signal,
        now: this.deps.now,
        after: this.deps.after,
        onOpen: () => {
          openedAt = this.deps.now();
          this.setState('open');
          // Pokes sent while there was no stream are lost: read again whatever is shown.
          for (const fanId of this.shownFans(false)) this.pull(fanId);
        },
        onEvent: (event) => void this.onEvent(event),
      });
      this.connection = null;
      if (!live()) return;
      if (outcome.type === 'aborted') attempt = 0;
      // A stream that stayed up a while was healthy: its end starts the backoff afresh.
      if (openedAt !== null && this.deps.now() - openedAt >= HEARTBEAT_INTERVAL_MS) attempt = 0;
      const delay = this.delayAfter(outcome, ++attempt);
      this.serverAsked =
        outcome.type === 'end' || (outcome.type === 'refused' && outcome.retryAfterMs !== null);
      if (delay === null) {
        this.setState('signed-out');
      } else if (delay > 0) {
        this.setState('waiting');
      }
      if (delay !== 0) await this.wait(delay);
    }
  }

  /** How long to wait before connecting again; null: until the session changes. */
  private delayAfter(outcome: StreamOutcome, attempt: number): number | null {
    switch (outcome.type) {
      case 'aborted':
        return 0; // The session or the API changed under an open stream: connect at once.
      case 'end':
        return retryDelay(1, outcome.retryAfterMs, this.deps.random());
      case 'auth':
        return null;
      case 'refused':
        return retryDelay(attempt, outcome.retryAfterMs, this.deps.random());
      case 'closed':
      case 'offline':
        return retryDelay(attempt, null, this.deps.random());
    }
  }

  /** Resolves after `ms` (never, if null) or as soon as `wake` is called. */
  private wait(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const cancel = ms === null ? () => undefined : this.deps.after(ms, () => done());
      const done = () => {
        cancel();
        this.wake = null;
        resolve();
      };
      this.wake = done;
    });
  }

  private async onEvent(event: StreamEvent): Promise<void> {
    if (event.type === 'resync') {
      for (const fanId of this.shownFans(false)) this.pull(fanId);
      return;
    }
    const view = await this.deps.store.get<FanView>(viewKey(event.fanId));
    // Views are kept by fan id: a poke for the same fan id in another of the user's accounts is not it.
    if (view?.accountId && view.accountId !== event.accountId) return;
    if (view && coveredVersion(view.cursor) >= event.version) return;
    if (this.shownFans(false).includes(event.fanId)) {
      this.pull(event.fanId);
    } else if (view) {
      await updateView(this.deps.store, event.fanId, (latest) => ({
        ...latest,
        staleVersion: Math.max(latest.staleVersion ?? 0, event.version),
      }));
    }
  }

  /** Pull a fan now, or once more after the pull in flight (however many times this is called). */
  private pull(fanId: string): void {
    const running = this.pulls.get(fanId);
    if (running) {
      running.queued = true;
      return;
    }
    const entry = { queued: false };
    this.pulls.set(fanId, entry);
    void (async () => {
      try {
        do {
          entry.queued = false;
          // A failed pull is the runner's to report (status, backoff): the next poke or poll tries again.
          await this.deps.pull(fanId).catch(() => undefined);
        } while (entry.queued);
      } finally {
        this.pulls.delete(fanId);
      }
    })();
  }

  private updatePolling(): void {
    const down = this.state === 'connecting' || this.state === 'waiting';
    if (!down || this.shownFans(true).length === 0) {
      this.cancelPoll?.();
      this.cancelPoll = null;
      return;
    }
    this.cancelPoll ??= this.deps.after(POLL_INTERVAL_MS, () => {
      this.cancelPoll = null;
      for (const fanId of this.shownFans(true)) this.pull(fanId);
      this.updatePolling();
    });
  }

  private shownFans(visibleOnly: boolean): string[] {
    const fans = new Set<string>();
    for (const { fanId, visible } of this.panels.values()) {
      if (fanId !== null && (visible || !visibleOnly)) fans.add(fanId);
    }
    return [...fans];
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    this.updatePolling();
    void this.deps.store
      .set({ [KEYS.live]: { state, since: this.deps.now() } satisfies LiveStatus })
      .catch(() => undefined);
  }
}
