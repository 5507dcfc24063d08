/**
 * The floors: a bare `node:http` server answering `POST /api/v2/sync-notes` as cheaply as the answer
 * allows, against which `pnpm bench` measures the API (docs/PERFORMANCE.md, "The floors"). A request
 * with mutations goes to the write floor (floor-write.ts), any other to the read floor
 * (floor-read.ts); each is one prepared statement.
 *
 * The HTTP stack is Node's own, as under the API's Fastify: one keep-alive server, the body read
 * whole and `JSON.parse`d, the answer written with `writeHead` + `end`. No routing, no auth, no
 * validation, no logging. PostgreSQL only (postgres.js, 10 connections as the API's default pool,
 * prepared statements, `plan_cache_mode = force_generic_plan` as the API's connections, int8 read
 * as a number); without DATABASE_URL the bench compares with old-baseline-server.ts instead.
 *
 * The fans' row ids are loaded once at start (`fan_id` -> row id and account): what a cache of fan
 * resolution would hold. BENCH_COUNT=1 adds `x-db-statements` / `x-db-round-trips` / `x-db-prepares`
 * headers, for the bench's round-trip probe (one request at a time).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeCursorPosition } from '@fannotes/sync-core';
import postgres from 'postgres';
import { readFloor, type FloorFan } from './floor-read.ts';
import { writeFloor } from './floor-write.ts';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required: the floors run on PostgreSQL');

let statements = 0;
let roundTrips = 0;
let prepares = 0;
const prepared = new Set<string>();
const sql = postgres(url, {
  max: 10,
  onnotice: () => {},
  connection: { application_name: 'fannotes-bench-floor', plan_cache_mode: 'force_generic_plan' },
  types: {
    // Versions and mutation ids are bigint; read as numbers, as the API does (safe integers).
    int8: {
      to: 20,
      from: [20],
      serialize: (value: number) => String(value),
      parse: (value: string) => Number(value),
    },
  },
  debug: (connection, text) => {
    statements += 1;
    const key = `${connection}:${text}`;
    // A statement's first use on a connection prepares it there first: one more round trip.
    const firstUse = !prepared.has(key);
    if (firstUse) prepares += 1;
    roundTrips += firstUse ? 2 : 1;
    prepared.add(key);
  },
});

const fans = new Map<string, FloorFan>();
for (const row of await sql<{ fanId: string; rowId: string; accountId: string }[]>`
  select fan_id as "fanId", id as "rowId", account_id as "accountId" from fans`) {
  if (!fans.has(row.fanId)) fans.set(row.fanId, row);
}

/** The token's `sub`, read without verifying it (the API verifies once per token, then caches). */
const users = new Map<string, string>();
function userOf(authorization: string | undefined): string {
  const token = authorization?.slice('Bearer '.length) ?? '';
  let user = users.get(token);
  if (user === undefined) {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub: string;
    };
    user = payload.sub;
    users.set(token, user);
  }
  return user;
}

export interface Body {
  fanId: string;
  cursor?: string;
  clientId?: string;
  mutations?: { id: number; noteId: string; note: { content: string } }[];
}

/** The floors' answer to one request, as an object: the write floor for a push, else the read floor. */
function answer(input: Body, authorization: string | undefined, fan: FloorFan) {
  return input.mutations && input.mutations.length > 0 && input.clientId
    ? writeFloor(sql, fan, {
        clientId: input.clientId,
        userId: userOf(authorization),
        mutations: input.mutations.map((m) => ({ id: m.id, noteId: m.noteId, content: m.note.content })),
      })
    : readFloor(sql, fan, input.cursor === undefined ? null : decodeCursorPosition(input.cursor));
}

const counting = process.env.BENCH_COUNT === '1';

/** `run`'s answer, with BENCH_COUNT the statements and round trips it took as headers (else none). */
async function counted<T>(run: () => Promise<T>): Promise<{ body: T; headers: Record<string, string> }> {
  const before = { statements, roundTrips, prepares };
  const body = await run();
  if (!counting) return { body, headers: {} };
  return {
    body,
    headers: {
      'x-db-statements': String(statements - before.statements),
      'x-db-round-trips': String(roundTrips - before.roundTrips),
      'x-db-prepares': String(prepares - before.prepares),
    },
  };
}
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
        const fan = fans.get(input.fanId);
        if (!fan) {
          res.writeHead(404).end();
          return;
        }
        const { body, headers } = await counted(() => answer(input, req.headers.authorization, fan));
        res
          .writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...headers })
          .end(JSON.stringify(body));
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    })();
  });
});
const listening = (port: number) => process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
if (process.env.FLOOR_STACK === '1') {
  // The same answers behind Fastify and tRPC (`pnpm bench --floor-stack`): what that stack costs alone.
  // Loaded only here: the bare floor's RSS must not carry Fastify, tRPC and zod.
  const { startFloorStack } = await import('./floor-stack.ts');
  const stack = await startFloorStack(
    (input, authorization) => {
      const fan = fans.get(input.fanId);
      if (!fan) throw new Error(`no fan ${input.fanId}`);
      return counted(() => answer(input, authorization, fan));
    },
    Number(process.env.PORT ?? 0),
  );
  listening(stack.port);
  process.on(
    'SIGTERM',
    () =>
      void stack
        .close()
        .then(() => sql.end({ timeout: 2 }))
        .then(() => process.exit(0)),
  );
} else {
  server.keepAliveTimeout = 5_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
    listening((server.address() as AddressInfo).port),
  );
  process.on('SIGTERM', () => server.close(() => void sql.end({ timeout: 2 }).then(() => process.exit(0))));
}
