import { listenFanChanges, type DatabaseHandle } from '@fannotes/db';
import type { Logger } from '../logger.ts';
import { LiveHub, type LiveHubOptions } from './hub.ts';
import { accountsOfUsers } from './memberships.ts';

export interface Live {
  hub: LiveHub;
  /**
   * Ends every stream with a reconnect hint, then stops listening. Call before closing the HTTP server:
   * open streams would otherwise keep it from closing.
   */
  close(): Promise<void>;
}

/**
 * Live updates for this process: one LISTEN on `fan_changes` (one dedicated connection on PostgreSQL,
 * whatever the number of streams) feeding one hub. The listener is in force before this resolves.
 */
export async function startLive(options: {
  database: DatabaseHandle;
  logger: Logger;
  hub?: Omit<LiveHubOptions, 'loadMemberships' | 'logger'>;
  /** See ListenOptions in @fannotes/db (default: 5 s on PostgreSQL, off on PGlite). */
  probeIntervalMs?: number;
}): Promise<Live> {
  const { database, logger } = options;
  const log = logger.child({ component: 'live' });
  const hub = new LiveHub({
    ...options.hub,
    loadMemberships: (userIds) => accountsOfUsers(database.db, userIds),
    logger: log,
  });
  let listener;
  try {
    listener = await listenFanChanges(
      database,
      {
        onChange: (change) => hub.poke(change),
        onResync: (reason) => hub.resync(reason),
        onError: (error) => log.warn({ err: error }, 'live: listener'),
      },
      options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs },
    );
  } catch (error) {
    hub.close();
    throw error;
  }
  return {
    hub,
    close: async () => {
      hub.close();
      await listener.close();
    },
  };
}
