import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from './open.ts';

/**
 * The channel of fan changes. Its payloads (notify.ts sends them, after the commit): a JSON array of
 * changes, `{ "resync": reason }` (pokes may have been lost: pull everything), or a listener's probe.
 */
export const FAN_CHANGES_CHANNEL = 'fan_changes';

/** A committed version bump. */
export interface FanChangeNotification {
  accountId: string;
  fanId: string;
  version: number;
}

export interface FanChangeHandlers {
  onChange(change: FanChangeNotification): void;
  /**
   * Notifications may have been lost: the listening connection was re-established (NOTIFY is not
   * queued for a session that is not connected), or a probe did not come back. Every subscriber must
   * pull what it shows. Never silent: a gap in listening always ends in a call here.
   */
  onResync(reason: string): void;
  /** A payload that is not a fan change, or a probe that failed (logged by the caller). */
  onError?(error: Error): void;
}

export interface ListenOptions {
  /**
   * How often to send a probe through the pool and expect it back on the listening connection (default
   * 5 s on PostgreSQL, off on PGlite, which is in-process). postgres.js re-listens after a closed
   * connection, but a half-open one (a network partition without a reset) looks alive until TCP gives
   * up, minutes later: a probe that does not come back within an interval asks for a resync, and so does
   * the first one that does after that.
   */
  probeIntervalMs?: number;
  /**
   * How often to look for other processes' listeners that are gone (default 1 s on PostgreSQL, off on
   * PGlite). Pokes leave a process a few milliseconds after the write they announce (notify.ts), so a
   * process killed in between took some with it: when a listener disappears, this process's streams
   * resync. A process stopped gracefully sends its pokes first; the resync then costs a cheap pull.
   */
  peerCheckMs?: number;
}

export interface FanChangeListener {
  close(): Promise<void>;
}

/**
 * One LISTEN on `fan_changes` for this process: postgres.js holds it on one dedicated connection (outside
 * the pool) and re-establishes it after a drop; PGlite listens in-process. Callers fan out in memory.
 */
export async function listenFanChanges(
  handle: DatabaseHandle,
  handlers: FanChangeHandlers,
  options: ListenOptions = {},
): Promise<FanChangeListener> {
  if (!handle.listen) throw new Error('This database handle cannot LISTEN.');
  const probeId = randomUUID();
  let probesSent = 0;
  let probesBack = 0;
  let healthy = true;
  let listened = 0;

  const onNotify = (payload: string) => {
    const parsed = parseNotification(payload);
    if (parsed === 'probe') return;
    if (Array.isArray(parsed)) {
      for (const change of parsed) handlers.onChange(change);
      return;
    }
    if (parsed && 'resync' in parsed) {
      handlers.onResync(parsed.resync);
      return;
    }
    if (parsed && 'probe' in parsed) {
      if (parsed.probe !== probeId) return; // another process's probe
      probesBack = Math.max(probesBack, parsed.seq);
      if (!healthy && probesBack === probesSent) {
        healthy = true;
        handlers.onResync('listener recovered');
      }
      return;
    }
    handlers.onError?.(new Error(`Not a fan change on ${FAN_CHANGES_CHANNEL}: ${payload.slice(0, 200)}`));
  };
  // postgres.js calls this after every LISTEN it issues: the first, then one per re-established connection.
  const onListen = () => {
    listened += 1;
    if (listened > 1) handlers.onResync('listener reconnected');
  };
  const listening = await handle.listen(FAN_CHANGES_CHANNEL, onNotify, onListen);

  const intervalMs = options.probeIntervalMs ?? (handle.kind === 'postgres' ? 5_000 : 0);
  let timer: NodeJS.Timeout | undefined;
  if (intervalMs > 0) {
    const probe = async () => {
      if (probesBack < probesSent && healthy) {
        healthy = false;
        handlers.onError?.(
          new Error(`A probe did not come back on ${FAN_CHANGES_CHANNEL} within ${intervalMs} ms`),
        );
      }
      // While unhealthy, every interval asks for a resync: subscribers poll until the listener is back.
      if (!healthy) handlers.onResync('listener silent');
      probesSent += 1;
      const payload = JSON.stringify({ probe: probeId, seq: probesSent });
      try {
        await handle.db.execute(sql`select pg_notify(${FAN_CHANGES_CHANNEL}, ${payload})`);
      } catch (error) {
        handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    };
    timer = setInterval(() => void probe(), intervalMs);
    timer.unref();
  }

  const peerCheckMs = options.peerCheckMs ?? (handle.kind === 'postgres' ? 1_000 : 0);
  let peerTimer: NodeJS.Timeout | undefined;
  if (peerCheckMs > 0) {
    let known: Set<number> | undefined;
    let checking = false;
    const check = async () => {
      if (checking) return;
      checking = true;
      try {
        // postgres.js answers with the rows themselves (this runs on PostgreSQL only).
        const result: unknown = await handle.db.execute(
          sql`select pid from pg_stat_activity
              where datname = current_database() and query ilike ${`listen "${FAN_CHANGES_CHANNEL}"%`}`,
        );
        const rows = result as Iterable<{ pid: number }>;
        const now = new Set([...rows].map((row) => Number(row.pid)));
        const gone = known ? [...known].filter((pid) => !now.has(pid)) : [];
        known = now;
        if (gone.length > 0) handlers.onResync('a listener of another process is gone');
      } catch (error) {
        handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      } finally {
        checking = false;
      }
    };
    peerTimer = setInterval(() => void check(), peerCheckMs);
    peerTimer.unref();
    void check();
  }

  return {
    close: async () => {
      clearInterval(timer);
      clearInterval(peerTimer);
      await listening.close();
    },
  };
}

function parseNotification(
  payload: string,
): FanChangeNotification[] | { resync: string } | { probe: string; seq: number } | 'probe' | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (Array.isArray(value)) {
    const changes = value.map(changeOf);
    return changes.every((change) => change !== undefined) ? changes : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.resync === 'string') return { resync: record.resync };
  if (typeof record.probe === 'string') {
    return typeof record.seq === 'number' ? { probe: record.probe, seq: record.seq } : 'probe';
  }
  return undefined;
}

function changeOf(value: unknown): FanChangeNotification | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { accountId, fanId, version } = value as Record<string, unknown>;
  if (typeof accountId !== 'string' || typeof fanId !== 'string' || !Number.isSafeInteger(version)) {
    return undefined;
  }
  return { accountId, fanId, version: version as number };
}
