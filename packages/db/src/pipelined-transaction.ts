import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { preparedLike, type Database, type Transaction } from './client.ts';
import * as schema from './schema/index.ts';

export interface PipelinedTransaction {
  /** The transaction, for every statement but the last. */
  tx: Transaction;
  /**
   * Sends the transaction's last statement with COMMIT right behind it, and resolves to its rows once
   * both have been answered. If the statement fails, the database rolls the transaction back instead
   * (COMMIT of a failed transaction is a rollback) and this rejects with the statement's error.
   */
  commitWith: (query: SQL) => Promise<Record<string, unknown>[]>;
}

const dialect = new PgDialect();

/**
 * A transaction whose BEGIN travels to PostgreSQL with its first statement and whose COMMIT travels
 * with its last: two round trips fewer than `db.transaction`, which waits for BEGIN's answer before
 * sending anything and sends COMMIT once the work is done. The statements go through one reserved
 * connection in the order they are issued; postgres.js sends what is issued in one turn of the event
 * loop in one write, and PostgreSQL answers each with its own Sync, so a statement that fails only
 * fails its transaction. On PGlite (in process: no round trips) it is `db.transaction`.
 *
 * Anything thrown before `commitWith` rolls the transaction back.
 */
export async function pipelinedTransaction<T>(
  db: Database,
  work: (transaction: PipelinedTransaction) => Promise<T>,
): Promise<T> {
  const client = (db as unknown as { $client: unknown }).$client;
  if (!isPostgresJs(client)) {
    return db.transaction((tx) =>
      work({
        tx,
        commitWith: async (query) => {
          const result: unknown = await tx.execute(query);
          return (result as { rows: Record<string, unknown>[] }).rows;
        },
      }),
    );
  }

  // drizzle reads the driver's options from the client it wraps; a reserved connection has the pool's.
  const connection = Object.assign(preparedLike(client, await client.reserve()), { options: client.options });
  let ended = false;
  try {
    // Not awaited: it is sent with the first statement. Were it to fail, so would that statement.
    connection
      .unsafe('begin')
      .execute()
      .catch(() => undefined);
    const result = await work({
      tx: drizzlePostgres(connection, { schema }) as unknown as Transaction,
      commitWith: async (query) => {
        const { sql, params } = dialect.sqlToQuery(query);
        // Issued in this order, so sent in this order (execute() queues a statement on the connection).
        const last = connection.unsafe<Record<string, unknown>[]>(sql, params as never[]).execute();
        const commit = connection.unsafe('commit').execute();
        commit.catch(() => undefined);
        ended = true;
        const rows = await last;
        await commit;
        return rows;
      },
    });
    if (!ended) {
      ended = true;
      await connection.unsafe('commit');
    }
    return result;
  } catch (error) {
    if (!ended) await connection.unsafe('rollback').catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}

type Reservable = ReturnType<typeof postgres> & { reserve(): Promise<postgres.ReservedSql> };

function isPostgresJs(client: unknown): client is Reservable {
  return typeof (client as Partial<Reservable> | null)?.reserve === 'function';
}
