import type { After } from './after.ts';
import { KEEPALIVE_INTERVAL_MS, type PortMessage } from './messages.ts';

/** The part of `runtime.Port` the link uses (tests pass a fake). */
export interface PortLike {
  postMessage(message: PortMessage): void;
  disconnect(): void;
  onDisconnect: { addListener(listener: () => void): void };
}

export interface LinkDeps {
  /** `browser.runtime.connect({ name: LIVE_PORT })`; throws once the extension was reloaded. */
  connect: () => PortLike;
  after: After;
  now: () => number;
}

/** A port that broke sooner than this after it was made is not made again at once (no tight loop). */
export const RECONNECT_FLOOR_MS = 1_000;

/**
 * The panel's end of the live-update port. While the panel shows a fan, a port to the background is
 * open and knows the fan and the tab's visibility; a keepalive goes over it every 20 s. A port broken
 * by the other side (the worker was stopped or restarted) is made again, which wakes the worker and
 * tells it what is shown, so it reopens its stream. No fan shown: no port.
 *
 *   closed ──show(fan)──> open ──show(null) / close()──> closed
 *                          │──broken──> reconnect (at once, or after RECONNECT_FLOOR_MS) ──> open
 */
export class LiveLink {
  private port: PortLike | null = null;
  private showing: { fanId: string | null; visible: boolean } = { fanId: null, visible: false };
  private cancelTimer: (() => void) | null = null;
  private closed = false;

  constructor(private readonly deps: LinkDeps) {}

  show(fanId: string | null, visible: boolean): void {
    if (this.closed) return;
    this.showing = { fanId, visible };
    if (fanId === null) return this.drop();
    if (this.port) this.post({ type: 'showing', fanId, visible });
    else if (this.cancelTimer === null) this.open();
  }

  /** The panel goes away for good (its content script was invalidated). */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private open(): void {
    let port: PortLike;
    try {
      port = this.deps.connect();
    } catch {
      return this.close(); // The extension was reloaded or removed: this panel is orphaned.
    }
    const openedAt = this.deps.now();
    this.port = port;
    port.onDisconnect.addListener(() => {
      if (this.port !== port) return;
      this.port = null;
      this.stopTimer();
      if (this.closed || this.showing.fanId === null) return;
      const early = this.deps.now() - openedAt < RECONNECT_FLOOR_MS;
      if (!early) return this.open();
      this.cancelTimer = this.deps.after(RECONNECT_FLOOR_MS, () => {
        this.cancelTimer = null;
        if (!this.closed && this.showing.fanId !== null) this.open();
      });
    });
    this.post({ type: 'showing', ...this.showing });
    this.keepAlive();
  }

  private keepAlive(): void {
    this.cancelTimer = this.deps.after(KEEPALIVE_INTERVAL_MS, () => {
      this.cancelTimer = null;
      if (!this.port) return;
      this.post({ type: 'keepalive' });
      this.keepAlive();
    });
  }

  private post(message: PortMessage): void {
    try {
      this.port?.postMessage(message);
    } catch {
      // A port that just broke: its onDisconnect comes next and connects again.
    }
  }

  private drop(): void {
    this.stopTimer();
    const port = this.port;
    this.port = null;
    port?.disconnect();
  }

  private stopTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}
