import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from './open.ts';

/** The channel migration 0005 notifies on, once per committed transaction that bumps a fan's version. */
export const FAN_CHANGES_CHANNEL = 'fan_changes';

/** A committed version bump, as the trigger `fans_notify_change` sends it. */
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
    if (parsed && 'probe' in parsed) {
      if (parsed.probe !== probeId) return; // another process's probe
      probesBack = Math.max(probesBack, parsed.seq);
      if (!healthy && probesBack === probesSent) {
        healthy = true;
        handlers.onResync('listener recovered');
      }
      return;
    }
    if (parsed) handlers.onChange(parsed);
    else
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

  return {
    close: async () => {
      clearInterval(timer);
      await listening.close();
    },
  };
}

function parseNotification(
  payload: string,
): FanChangeNotification | { probe: string; seq: number } | 'probe' | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.probe === 'string') {
    return typeof record.seq === 'number' ? { probe: record.probe, seq: record.seq } : 'probe';
  }
  const { accountId, fanId, version } = record;
  if (typeof accountId !== 'string' || typeof fanId !== 'string' || !Number.isSafeInteger(version)) {
    return undefined;
  }
  return { accountId, fanId, version: version as number };
}
