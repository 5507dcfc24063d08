import { DrizzleQueryError, is, SQL, type Query } from 'drizzle-orm';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database, Transaction } from './open.ts';
import { pipelinedStatements } from './query-count.ts';

type Rows = Record<string, unknown>[];

/**
 * What a pipelined transaction's work hands back: its last statement (drizzle's SQL, or its text with
 * the parameters bound), and the result made of its rows.
 */
export interface LastStatement<T> {
  last: SQL | Query;
  /** Makes the result from the last statement's rows; pure (the transaction may already be over). */
  finish: (rows: Rows) => T;
}

/**
 * A transaction in two round trips fewer than BEGIN, statements, COMMIT: BEGIN goes out with the first
 * statement and COMMIT right behind the last, neither waited for on its own. A push (services/sync.ts)
 * is then two round trips, its two statements, where it was four.
 *
 * `work` runs its statements on `tx` as in `db.transaction` and returns the last one, unsent, with
 * `finish`; the runner sends it and COMMIT together. The result is `finish(rows)` once COMMIT has
 * succeeded. If anything fails (work throws, or the last statement or COMMIT fails), nothing is
 * committed and the error is thrown: a failed statement aborts the transaction, and PostgreSQL answers
 * the COMMIT behind it with a rollback.
 *
 * On postgres.js the transaction holds one reserved connection, whose statements are marked to be
 * written without waiting for the one before (the patched driver's `pipeline` option: the pool itself
 * never pipelines, patches/README.md). On PGlite, in-process, it is `db.transaction`.
 */
export async function pipelinedTransaction<T>(
  db: Database,
  work: (tx: Transaction) => Promise<LastStatement<T>>,
): Promise<T> {
  const driver = pipelineDrivers.get(db);
  if (!driver) {
    return db.transaction(async (tx) => {
      const { last, finish } = await work(tx);
      if (is(last, SQL)) return finish(rowsOf(await tx.execute(last)));
      // What tx.execute does with the text it makes of an SQL (drizzle's PgSession.execute).
      const { session } = tx as unknown as { session: QuerySession };
      return finish(rowsOf(await session.prepareQuery(last, undefined, undefined, false).execute()));
    });
  }
  return driver.run(work);
}

interface QuerySession {
  prepareQuery(
    query: Query,
    fields: undefined,
    name: undefined,
    arrayMode: false,
  ): { execute(): Promise<unknown> };
}

interface PipelineDriver {
  run<T>(work: (tx: Transaction) => Promise<LastStatement<T>>): Promise<T>;
}

const pipelineDrivers = new WeakMap<Database, PipelineDriver>();

/** Registers `db` (opened by openPostgres on `client`) for pipelined transactions. */
export function enablePipelinedTransactions(
  db: Database,
  client: postgres.Sql,
  options: { prepare: boolean },
): void {
  // drizzle's own transactions build their handle so (PostgresJsSession.transaction): the same
  // dialect, schema and options, on the transaction's connection.
  type SessionArgs = ConstructorParameters<typeof PostgresJsSession>;
  const session = (
    db as unknown as { session: { dialect: SessionArgs[1]; schema: SessionArgs[2]; options: SessionArgs[3] } }
  ).session;
  const internals = { dialect: session.dialect, schema: session.schema, options: session.options };
  const statementOptions = { prepare: options.prepare, pipeline: true };

  pipelineDrivers.set(db, {
    async run(work) {
      const reserved = await client.reserve();
      const connection = pipelined(reserved, statementOptions);
      // A session on a reserved connection, as drizzle's transactions are on theirs (whose types want a
      // TransactionSql: its statements only call `unsafe`).
      const txSession = new PostgresJsSession(
        connection,
        internals.dialect,
        internals.schema,
        internals.options,
      );
      const tx = new PostgresJsTransaction(
        internals.dialect,
        txSession as never,
        internals.schema,
      ) as unknown as Transaction;
      try {
        const began = pipelinedStatements(() => connection.unsafe('begin').execute());
        // BEGIN fails only with its connection, and then so does the statement behind it.
        began.catch(() => {});
        const { last, finish } = await work(tx);
        await began;
        const query = is(last, SQL) ? internals.dialect.sqlToQuery(last) : last;
        // Written in this order, in one tick: the last statement, then COMMIT.
        const statement = connection.unsafe(query.sql, query.params as never[]).execute();
        const committed = pipelinedStatements(() => connection.unsafe('commit').execute());
        const [rows, commit] = await Promise.allSettled([statement, committed]);
        // As drizzle reports a failed statement (the driver's error is its cause).
        if (rows.status === 'rejected')
          throw new DrizzleQueryError(query.sql, query.params, rows.reason as Error);
        if (commit.status === 'rejected') throw commit.reason;
        // COMMIT in an aborted transaction is a rollback, answered without an error; it cannot be
        // here, since the statement before it succeeded, but the tag says what happened.
        if ((commit.value as { command?: string }).command !== 'COMMIT') {
          throw new Error(
            `the transaction ended in ${String((commit.value as { command?: string }).command)}`,
          );
        }
        return finish(rows.value);
      } catch (error) {
        // Answered, the ROLLBACK also says the session is sound (after a COMMIT that became a rollback,
        // it is a no-op with a warning); refused, the connection is going, and release() leaves it to
        // the pool to reconnect (the patched reserve()). Released on a socket error before its close,
        // it was handed the next statement, which then failed too.
        await connection.unsafe('rollback').catch(() => {});
        throw error;
      } finally {
        reserved.release();
      }
    },
  });
}

/** `reserved` with every statement sent with `options` (prepared or not, pipelined). */
function pipelined(reserved: postgres.ReservedSql, options: object): postgres.Sql {
  const unsafe = reserved.unsafe.bind(reserved);
  const methods = Object.create(reserved) as postgres.Sql;
  (methods as { unsafe: unknown }).unsafe = (query: string, parameters?: unknown[], extra?: object) =>
    unsafe(query, parameters as never, { ...extra, ...options });
  return methods;
}

function rowsOf(result: unknown): Rows {
  return Array.isArray(result) ? (result as Rows) : (result as { rows: Rows }).rows;
}
