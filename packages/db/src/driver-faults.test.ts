import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { accounts } from './schema/index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

// postgres.js (patched, patches/postgres@3.4.9.patch) after a statement fails while its rows are still
// arriving: the next statement on that connection must get exactly its own rows. Unpatched, the
// driver's row counter outlived the failure and the next result began with that many holes; after a
// terminated backend, the next statement got the old session's FATAL error instead of its rows
// (porsager/postgres#1119, #1181). One connection (maxConnections 1), so the next statement surely
// runs where the failed one did. Real PostgreSQL only: cancels and terminations need a server.

const serverUrl = process.env.DATABASE_URL;
const TRIES = 100;
/**
 * The statement made to fail streams ROWS rows, paced by the server (1 ms every 400 rows, about 50 ms in
 * all) so that a cancel lands where it was aimed: unpaced, the server finishes into the loopback socket
 * buffers (megabytes) long before the client has read its rows, and a cancel comes too late.
 */
const ROWS = 20_000;
const STREAMING = sql`select nextval('streamed_rows') as n, repeat('x', 100) as pad,
    case when g % 400 = 0 then pg_sleep(0.001) end as pause
  from generate_series(1, ${ROWS}::int) g`;

type Failure = 'cancel' | 'timeout' | 'terminate';

/** The error each way of failing must reject the streaming statement with (when it did not finish). */
const expectedCodes: Record<Failure, string[]> = {
  cancel: ['57014'], // query_canceled
  timeout: ['57014'],
  // The server's FATAL admin_shutdown, or the close itself when that message was lost with the socket.
  terminate: ['57P01', 'CONNECTION_CLOSED'],
};

describe.skipIf(!serverUrl)('a statement failing mid-result leaves its connection sound', () => {
  let database: TestDatabase;
  let admin: postgres.Sql;
  // A second, plain postgres.js client for what the app's handle does not expose (cursors, COPY).
  let raw: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase({ maxConnections: 1 });
    admin = postgres(database.url!, { max: 1, onnotice: () => {} });
    raw = postgres(database.url!, { max: 1, onnotice: () => {} });
    // Counts the rows the server has produced (nextval is not rolled back with the failed statement),
    // so a try can wait for a given offset into the result and tell a failure mid-result from one
    // before the first row or after the last.
    await admin`create sequence streamed_rows`;
    await admin`select nextval('streamed_rows')`;
    const now = new Date();
    await database.db.insert(accounts).values(
      ['a', 'b', 'c'].map((name, index) => ({
        onlyFansUserId: String(index + 1),
        username: `fixture_${name}`,
        createdBy: crypto.randomUUID(),
        createdAt: now,
      })),
    );
  }, 60_000);
  afterAll(async () => {
    await raw?.end();
    await admin?.end();
    await database?.close();
  });

  async function producedSoFar(): Promise<number> {
    const [row] = await admin<{ n: string }[]>`select last_value::text as n from streamed_rows`;
    return Number(row!.n);
  }

  /** The pooled connection's backend, looked up from outside: the pool's own answers are the subject. */
  async function backendPid(): Promise<number> {
    const lookUp = () => admin<{ pid: number }[]>`select pid from pg_stat_activity
      where datname = current_database() and application_name = 'fannotes-api'`;
    let found = await lookUp();
    // The last try's session was terminated and nothing has reopened it yet.
    if (found.length === 0) {
      await database.db.execute(sql`select 1`);
      found = await lookUp();
    }
    expect(found).toHaveLength(1);
    return found[0]!.pid;
  }

  /**
   * Streams ROWS rows and makes the statement fail: a cancel or a termination once the server has
   * produced `offset` rows, or a session statement_timeout of `offset` ms. Resolves with its error (none if
   * it finished first) and how many rows the server had sent.
   */
  async function failMidResult(failure: Failure, offset: number) {
    const pid = await backendPid();
    if (failure === 'timeout') {
      await database.db.execute(sql`select set_config('statement_timeout', ${String(offset)}, false)`);
    }
    const before = await producedSoFar();
    let settled = false;
    const streaming = database.db
      .execute(STREAMING)
      .then(
        () => undefined,
        (error: unknown) => error,
      )
      .finally(() => {
        settled = true;
      });
    if (failure !== 'timeout') {
      // Polls the server's count rather than sleeping: the offset is in rows, whatever the speed.
      while (!settled && (await producedSoFar()) - before < offset) continue;
      // Only while it runs: terminating the idle session after a statement that won the race would fail
      // the next statement too, which is not what this test is about.
      const stop = failure === 'cancel' ? admin`pg_cancel_backend` : admin`pg_terminate_backend`;
      await admin`select ${stop}(pid) from pg_stat_activity where pid = ${pid} and state = 'active'`;
    }
    const error = await streaming;
    const sent = (await producedSoFar()) - before;
    return { error, sent };
  }

  /** The statement after the failure, raw or through drizzle's query builder: only its own rows. */
  async function nextStatementAnswers(attempt: number): Promise<unknown> {
    try {
      if (attempt % 2 === 0) {
        const rows = await database.db.execute(
          sql`select g as n, ${attempt}::int as attempt from generate_series(1, 3) g`,
        );
        const got = [...(rows as unknown[])];
        const want = [1, 2, 3].map((n) => ({ n, attempt }));
        return JSON.stringify(got) === JSON.stringify(want) ? null : got;
      }
      const rows = await database.db
        .select({ username: accounts.username, attempt: sql<number>`${attempt}::int` })
        .from(accounts)
        .orderBy(accounts.username);
      const got = [...rows];
      const want = ['fixture_a', 'fixture_b', 'fixture_c'].map((username) => ({ username, attempt }));
      return JSON.stringify(got) === JSON.stringify(want) ? null : got;
    } catch (error) {
      return `rejected: ${codeOf(error)}`;
    }
  }

  async function tryFailures(failure: Failure, offsetOf: (attempt: number) => number) {
    const wrong: { attempt: number; sent: number; got: unknown }[] = [];
    const unexpectedErrors: unknown[] = [];
    let midResult = 0;
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const { error, sent } = await failMidResult(failure, offsetOf(attempt));
      if (error !== undefined && !expectedCodes[failure].includes(codeOf(error))) {
        unexpectedErrors.push(error);
      }
      if (error !== undefined && sent > 0) midResult++;
      const got = await nextStatementAnswers(attempt);
      // A termination that landed after the last row: the statement succeeded, then its session died
      // under the next one, which is told so. That is right, and nothing of the result was left over.
      const diedAfterResult =
        failure === 'terminate' &&
        error === undefined &&
        ['rejected: CONNECTION_CLOSED', 'rejected: ECONNRESET'].includes(String(got));
      if (got !== null && !diedAfterResult) wrong.push({ attempt, sent, got: summarize(got) });
      if (failure === 'timeout') {
        await database.db.execute(sql`select set_config('statement_timeout', '10000', false)`);
      }
    }
    expect(unexpectedErrors).toEqual([]);
    expect(wrong, `${wrong.length} of ${TRIES} next statements got wrong rows`).toEqual([]);
    // The failures must really have come mid-result, or this proves nothing.
    expect(midResult, `${midResult} of ${TRIES} failed mid-result`).toBeGreaterThan(TRIES / 2);
  }

  test('a statement cancelled mid-result does not shift the rows of the next statement', async () => {
    await tryFailures('cancel', (attempt) => Math.floor((attempt / TRIES) * ROWS * 0.9));
  }, 120_000);

  test('a statement stopped by statement_timeout mid-result does not shift the rows of the next statement', async () => {
    await tryFailures('timeout', (attempt) => 5 + (attempt % 36));
  }, 120_000);

  test('after a backend terminated mid-result the next statement gets its own rows, not the old FATAL error', async () => {
    await tryFailures('terminate', (attempt) => Math.floor((attempt / TRIES) * ROWS * 0.9));
  }, 120_000);

  test('a statement failing on a row mid-result (division by zero) does not shift the rows of the next one', async () => {
    const failed = raw`select 1 / (50 - g) as x from generate_series(1, 100) g`;
    await expect(failed).rejects.toMatchObject({ code: '22012' });
    expect([...(await raw`select 1 as one`)]).toEqual([{ one: 1 }]);
  });

  test('a cursor whose callback threw, or whose batch failed, does not shift the rows of the next statement', async () => {
    const thrown = raw`select g from generate_series(1, 100) g`.cursor(10, () => {
      throw new Error('stop');
    });
    await expect(thrown).rejects.toThrow('stop');
    expect([...(await raw`select 1 as one`)]).toEqual([{ one: 1 }]);

    const failed = raw`select 1 / (50 - g) as x from generate_series(1, 100) g`.cursor(30, () => {});
    await expect(failed).rejects.toMatchObject({ code: '22012' });
    expect([...(await raw`select 2 as two`)]).toEqual([{ two: 2 }]);
  });

  test('a COPY FROM STDIN failing after its stream ended reports its error, not success at the next statement', async () => {
    await raw`create table copied (n int)`;
    const stream = await raw`copy copied (n) from stdin`.writable();
    const outcome = new Promise<string>((resolve) => {
      stream.on('finish', () => resolve('finished'));
      stream.on('error', (error: { code?: string }) => resolve(`error ${error.code}`));
    });
    stream.end('1\nnot-a-number\n');
    // Unpatched, the stream hung until the next statement's end, then finished as if the copy had worked.
    const next = raw`select count(*)::int as n from copied`.execute();
    expect(await outcome).toBe('error 22P02'); // invalid_text_representation
    expect([...(await next)]).toEqual([{ n: 0 }]);
  });
});

/** A wrong result, short enough for a failure message: its length and its first defined entries. */
function summarize(got: unknown): unknown {
  if (!Array.isArray(got)) return got;
  const defined = got.filter((row) => row !== undefined);
  return { length: got.length, holes: got.length - defined.length, rows: defined.slice(0, 3) };
}

/** The driver's or the server's code of an error, under drizzle's "Failed query" wrapper. */
function codeOf(error: unknown): string {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return String(error);
}
