import {
  MAX_STREAMS_PER_USER,
  type FanChange,
  type LiveEvent,
  type StreamEndReason,
} from '@fannotes/contract';
import type { Logger } from '../logger.ts';
import { ApiError } from '../errors.ts';

/**
 * What a subscription yields: the contract's events. Keep-alives are the transport's (tRPC's SSE
 * pings, the REST stream's `: ping` comments), not the hub's.
 */
export type LiveSignal = LiveEvent;
type ChangeSignal = Extract<LiveSignal, { type: 'change' }>;

/** The hub's time: `now` in ms since the epoch, and timers. Tests pass a manual one. */
export interface LiveClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** Wall time and real timers that never keep the process alive. */
export const systemClock: LiveClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** The accounts each of `userIds` is a member of now (users with none may be left out). */
export type MembershipLoader = (userIds: readonly string[]) => Promise<Map<string, readonly string[]>>;

export interface LiveHubOptions {
  loadMemberships: MembershipLoader;
  clock?: LiveClock;
  logger?: Logger;
  /**
   * Pokes for one fan closer together than this are coalesced: the first goes out at once, the rest of
   * the window as one poke with the highest version at its end (default 25 ms).
   */
  coalesceMs?: number;
  /** How often every open stream's memberships are read again, in one query (default 2 s; at most 5 s). */
  membershipRefreshMs?: number;
  maxStreamsPerUser?: number;
  /** Signals one stream may have waiting before they collapse into one `resync` (default 256). */
  maxQueued?: number;
  /** The reconnect hint at shutdown: this plus up to as much again at random, so clients spread out. */
  shutdownRetryMs?: number;
  random?: () => number;
}

export interface SubscribeRequest {
  userId: string;
  /** One fan only, already resolved among the user's fans (services/authz.ts). */
  filter?: { accountId: string; fanId: string } | undefined;
  /** The token's `exp`, in ms: the stream ends then. */
  expiresAt: number;
}

const fanKey = (change: { accountId: string; fanId: string }) => `${change.accountId}/${change.fanId}`;

/**
 * One open stream. Its queue keeps at most one change per fan (a newer version replaces the waiting
 * one) and collapses into a single `resync` when the consumer falls `maxQueued` behind: a slow
 * consumer costs bounded memory and still never misses a change silently.
 *
 *   open --(end: token expired / shutdown)--> ending --(end event read)--> done
 *     \------------------(close(): consumer left)--------------------------/
 */
export class LiveSubscription implements AsyncIterableIterator<LiveSignal> {
  private queue: LiveSignal[] = [];
  private readonly queuedChanges = new Map<string, ChangeSignal>();
  private waiter: ((result: IteratorResult<LiveSignal>) => void) | undefined;
  private ending = false;
  private done = false;
  /** Accounts this stream is indexed under in the hub. */
  readonly indexedAccounts = new Set<string>();
  expiryTimer: unknown;

  constructor(
    private readonly hub: LiveHub,
    readonly userId: string,
    readonly filter: { accountId: string; fanId: string } | undefined,
    readonly expiresAt: number,
    private readonly maxQueued: number,
  ) {}

  /** Queues a signal for the consumer (called by the hub). */
  push(signal: LiveSignal): void {
    if (this.ending) return;
    switch (signal.type) {
      case 'change': {
        const queued = this.queuedChanges.get(fanKey(signal));
        if (queued) {
          queued.version = Math.max(queued.version, signal.version);
          return;
        }
        if (this.queue.length >= this.maxQueued) return this.push({ type: 'resync' });
        const copy = { ...signal };
        this.queuedChanges.set(fanKey(copy), copy);
        return this.deliver(copy);
      }
      case 'resync':
        // The consumer will pull everything it shows: what waits before the resync is covered by it.
        this.queue = [];
        this.queuedChanges.clear();
        return this.deliver(signal);
      case 'end':
        this.ending = true;
        return this.deliver(signal);
    }
  }

  private deliver(signal: LiveSignal): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.queue.push(signal);
      return;
    }
    this.waiter = undefined;
    if (signal.type === 'change') this.queuedChanges.delete(fanKey(signal));
    waiter({ value: signal, done: false });
  }

  next(): Promise<IteratorResult<LiveSignal>> {
    const signal = this.queue.shift();
    if (signal) {
      if (signal.type === 'change') this.queuedChanges.delete(fanKey(signal));
      return Promise.resolve({ value: signal, done: false });
    }
    if (this.done || this.ending) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The consumer is gone (client disconnected, or it stopped reading): frees the user's slot. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.ending = true;
    this.queue = [];
    this.queuedChanges.clear();
    this.hub.remove(this);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** The server ends the stream: its last event says why and when to come back. */
  end(reason: StreamEndReason, retryAfterMs: number): void {
    if (this.ending) return;
    this.push({ type: 'end', reason, retryAfterMs });
    this.hub.remove(this);
  }

  return(): Promise<IteratorResult<LiveSignal>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

interface UserEntry {
  accounts: Set<string>;
  streams: Set<LiveSubscription>;
  /** The refresh generation `accounts` was read in: an older read arriving late never overwrites it. */
  generation: number;
}

/**
 * Fans pokes out to this process's open streams, indexed by account. Every stream belongs to a user;
 * the accounts each user is a member of are read when a stream opens and again for all users with open
 * streams every `membershipRefreshMs`, in one query, so a removed member stops getting an account's
 * pokes within that interval (issue #15: within 5 s). Pokes carry no data: a pull is authorized as usual.
 */
export class LiveHub {
  private readonly clock: LiveClock;
  private readonly coalesceMs: number;
  private readonly refreshMs: number;
  private readonly maxStreams: number;
  private readonly maxQueued: number;
  private readonly shutdownRetryMs: number;
  private readonly random: () => number;
  private readonly users = new Map<string, UserEntry>();
  private readonly byAccount = new Map<string, Set<LiveSubscription>>();
  /** Per fan, an open coalescing window: the highest version seen in it since its first poke went out. */
  private readonly windows = new Map<string, { held: ChangeSignal | undefined; lastSent: number }>();
  private generation = 0;
  private refreshing: Promise<void> | undefined;
  private timers: unknown[] = [];
  private closed = false;

  constructor(private readonly options: LiveHubOptions) {
    this.clock = options.clock ?? systemClock;
    this.coalesceMs = options.coalesceMs ?? 25;
    this.refreshMs = Math.min(options.membershipRefreshMs ?? 2_000, 5_000);
    this.maxStreams = options.maxStreamsPerUser ?? MAX_STREAMS_PER_USER;
    this.maxQueued = options.maxQueued ?? 256;
    this.shutdownRetryMs = options.shutdownRetryMs ?? 1_000;
    this.random = options.random ?? Math.random;
    this.every(this.refreshMs, () => this.refreshMemberships());
  }

  /**
   * Opens a stream for a user (429 past `maxStreamsPerUser` open ones). The slot is taken before the
   * first await, so concurrent opens cannot overshoot the cap.
   */
  async subscribe(request: SubscribeRequest): Promise<LiveSubscription> {
    if (this.closed) {
      throw new ApiError('service_unavailable', 'The server is shutting down.', {
        retryAfterSeconds: Math.ceil(this.shutdownRetryMs / 1000),
      });
    }
    if (request.expiresAt <= this.clock.now()) {
      throw new ApiError('authentication_required', 'The access token has expired.');
    }
    let user = this.users.get(request.userId);
    if (user && user.streams.size >= this.maxStreams) {
      throw new ApiError(
        'rate_limit_exceeded',
        `Too many open streams: at most ${this.maxStreams} per user. Close one (one stream covers all your accounts).`,
        { retryAfterSeconds: 5, details: { reason: 'open streams', limit: this.maxStreams } },
      );
    }
    if (!user) {
      user = { accounts: new Set(), streams: new Set(), generation: -1 };
      this.users.set(request.userId, user);
    }
    const stream = new LiveSubscription(
      this,
      request.userId,
      request.filter,
      request.expiresAt,
      this.maxQueued,
    );
    user.streams.add(stream);
    try {
      const generation = ++this.generation;
      const loaded = await this.options.loadMemberships([request.userId]);
      this.applyMemberships(request.userId, loaded.get(request.userId) ?? [], generation);
    } catch (error) {
      stream.close();
      throw error;
    }
    if (this.closed) {
      stream.close();
      throw new ApiError('service_unavailable', 'The server is shutting down.', { retryAfterSeconds: 1 });
    }
    // The consumer may have left while the memberships were read (and with it the user's entry).
    const current = this.users.get(request.userId);
    if (!current?.streams.has(stream)) return stream;
    this.index(stream, current.accounts);
    stream.expiryTimer = this.clock.setTimeout(
      () => stream.end('token_expired', 0),
      Math.max(0, request.expiresAt - this.clock.now()),
    );
    return stream;
  }

  /** A committed version bump (from the listener). */
  poke(change: FanChange): void {
    const key = fanKey(change);
    const window = this.windows.get(key);
    if (window) {
      if (change.version > (window.held?.version ?? window.lastSent))
        window.held = { type: 'change', ...change };
      return;
    }
    this.send({ type: 'change', ...change });
    this.openWindow(key, change.version);
  }

  private openWindow(key: string, lastSent: number): void {
    this.windows.set(key, { held: undefined, lastSent });
    this.clock.setTimeout(() => {
      const window = this.windows.get(key);
      this.windows.delete(key);
      if (window?.held && !this.closed) {
        this.send(window.held);
        this.openWindow(key, window.held.version);
      }
    }, this.coalesceMs);
  }

  private send(change: ChangeSignal): void {
    const streams = this.byAccount.get(change.accountId);
    if (!streams) return;
    const now = this.clock.now();
    for (const stream of streams) {
      if (stream.filter && stream.filter.fanId !== change.fanId) continue;
      // Its timer may run late; the token's exp holds regardless.
      if (stream.expiresAt <= now) stream.end('token_expired', 0);
      else stream.push(change);
    }
  }

  /** Pokes may have been lost (the listener reconnected): every stream's client pulls what it shows. */
  resync(reason: string): void {
    this.options.logger?.warn({ reason, streams: this.size }, 'live: every stream told to resync');
    this.broadcast({ type: 'resync' });
  }

  private broadcast(signal: LiveSignal): void {
    for (const user of this.users.values()) for (const stream of user.streams) stream.push(signal);
  }

  /** Reads the memberships of every user with an open stream, in one query. Runs on a timer; tests call it. */
  refreshMemberships(): Promise<void> {
    if (this.refreshing || this.users.size === 0) return this.refreshing ?? Promise.resolve();
    const generation = ++this.generation;
    const userIds = [...this.users.keys()];
    this.refreshing = this.options
      .loadMemberships(userIds)
      .then((loaded) => {
        for (const userId of userIds) this.applyMemberships(userId, loaded.get(userId) ?? [], generation);
      })
      .catch((error: unknown) => {
        this.options.logger?.warn({ err: error }, 'live: membership refresh failed');
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /**
   * Reads one user's memberships now (they just joined an account): their open streams on this process
   * hear the new account's pokes at once, not at the next refresh. Never fails: the timer catches up.
   */
  async refreshUser(userId: string): Promise<void> {
    if (!this.users.has(userId)) return;
    const generation = ++this.generation;
    try {
      const loaded = await this.options.loadMemberships([userId]);
      this.applyMemberships(userId, loaded.get(userId) ?? [], generation);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'live: membership refresh failed');
    }
  }

  private applyMemberships(userId: string, accountIds: readonly string[], generation: number): void {
    const user = this.users.get(userId);
    if (!user || user.generation > generation) return;
    user.generation = generation;
    const next = new Set(accountIds);
    const removed = [...user.accounts].filter((id) => !next.has(id));
    const added = accountIds.filter((id) => !user.accounts.has(id));
    user.accounts = next;
    if (removed.length === 0 && added.length === 0) return;
    for (const stream of user.streams) {
      for (const accountId of removed) this.unindexAccount(stream, accountId);
      this.index(stream, added);
    }
  }

  private index(stream: LiveSubscription, accountIds: Iterable<string>): void {
    for (const accountId of accountIds) {
      if (stream.filter && stream.filter.accountId !== accountId) continue;
      let streams = this.byAccount.get(accountId);
      if (!streams) this.byAccount.set(accountId, (streams = new Set()));
      streams.add(stream);
      stream.indexedAccounts.add(accountId);
    }
  }

  private unindexAccount(stream: LiveSubscription, accountId: string): void {
    const streams = this.byAccount.get(accountId);
    streams?.delete(stream);
    if (streams?.size === 0) this.byAccount.delete(accountId);
    stream.indexedAccounts.delete(accountId);
  }

  /** Forgets a stream (it ended or its consumer left). */
  remove(stream: LiveSubscription): void {
    this.clock.clearTimeout(stream.expiryTimer);
    for (const accountId of [...stream.indexedAccounts]) this.unindexAccount(stream, accountId);
    const user = this.users.get(stream.userId);
    if (!user?.streams.delete(stream)) return;
    if (user.streams.size === 0) this.users.delete(stream.userId);
  }

  /**
   * Graceful shutdown: every stream ends with `shutdown` and a reconnect hint spread over
   * [shutdownRetryMs, 2 * shutdownRetryMs), so clients come back to the other processes gradually.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers = [];
    for (const user of [...this.users.values()]) {
      for (const stream of [...user.streams]) {
        stream.end('shutdown', Math.round(this.shutdownRetryMs * (1 + this.random())));
      }
    }
  }

  /** Open streams. */
  get size(): number {
    let size = 0;
    for (const user of this.users.values()) size += user.streams.size;
    return size;
  }

  /** The accounts a user's streams get pokes for, as last read (tests, diagnostics). */
  accountsOf(userId: string): ReadonlySet<string> | undefined {
    return this.users.get(userId)?.accounts;
  }

  /** Runs `fn` every `ms` until close (`fn`'s promise, if any, is awaited before the next round). */
  private every(ms: number, fn: () => unknown): void {
    const slot = this.timers.length;
    const tick = () => {
      void Promise.resolve(fn()).finally(() => {
        if (!this.closed) this.timers[slot] = this.clock.setTimeout(tick, ms);
      });
    };
    this.timers[slot] = this.clock.setTimeout(tick, ms);
  }
}
