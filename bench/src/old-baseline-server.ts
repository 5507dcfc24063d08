/**
 * The baseline of before issue 18 (`pnpm bench --old-baseline`; the floors are floor-server.ts): a
 * bare node:http server that answers `POST /api/v2/sync-notes` with one indexed query of
 * the fan's live notes (or, given a cursor, of the notes changed since), a join of `fans` and `notes`
 * sent through `sql.unsafe` unprepared (parsed on every request), and JSON.stringify. No auth,
 * no validation, no framework. On PostgreSQL it uses postgres.js like the API; without DATABASE_URL it
 * opens its own PGlite copy of the seeded data (BASELINE_PGLITE_DIR), since a PGlite directory belongs
 * to one process.
 *
 * BENCH_COUNT=1 adds `x-db-statements` / `x-db-round-trips` / `x-db-prepares` headers (counted by the
 * driver hook, as in the API), for the round-trip probe, which sends one request at a time.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';

const COLUMNS = `n.id, $1::text as "fanId", n.account_id as "accountId", n.content, n.type, n.color,
  n.is_pinned as "isPinned", n.source, n.only_fans_note_id as "onlyFansNoteId", n.conflict_of as "conflictOf",
  n.version::int4 as version, n.created_at as "createdAt", n.updated_at as "updatedAt",
  n.created_by as "createdBy", n.updated_by as "updatedBy"`;
const LIVE = `select ${COLUMNS} from notes n join fans f on f.id = n.fan_row_id
  where f.fan_id = $1 and n.deleted_at is null order by n.is_pinned desc, n.updated_at desc, n.id`;
const DELTA = `select ${COLUMNS}, n.deleted_at is not null as deleted from notes n join fans f on f.id = n.fan_row_id
  where f.fan_id = $1 and n.version > $2 order by n.version, n.id`;

type Row = Record<string, unknown>;
let statements = 0;
let roundTrips = 0;
let prepares = 0;
let query: (text: string, params: unknown[]) => Promise<Row[]>;

const url = process.env.DATABASE_URL;
if (url) {
  const prepared = new Set<string>();
  const sql = postgres(url, {
    max: 10,
    onnotice: () => {},
    debug: (connection, text, parameters) => {
      statements += 1;
      const key = `${connection}:${text}`;
      const firstUse = parameters.length > 0 && !prepared.has(key);
      if (firstUse) prepares += 1;
      roundTrips += firstUse ? 2 : 1;
      prepared.add(key);
    },
  });
  query = (text, params) => sql.unsafe(text, params as never[]);
} else {
  const dir = process.env.BASELINE_PGLITE_DIR;
  if (!dir) throw new Error('DATABASE_URL or BASELINE_PGLITE_DIR is required');
  const db = new PGlite({ dataDir: dir });
  await db.waitReady;
  query = async (text, params) => {
    statements += 1;
    roundTrips += 1;
    return (await db.query<Row>(text, params)).rows;
  };
}

const counting = process.env.BENCH_COUNT === '1';
const decodeCursor = (cursor: unknown) =>
  typeof cursor === 'string' && /^v1\.[0-9a-z]+$/.test(cursor) ? parseInt(cursor.slice(3), 36) : null;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const before = { statements, roundTrips, prepares };
    void (async () => {
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          fanId: string;
          cursor?: string;
        };
        const since = decodeCursor(input.cursor);
        let body: string;
        if (since === null) {
          const notes = await query(LIVE, [input.fanId]);
          body = JSON.stringify({ status: 'success', data: { noteCount: notes.length, notes } });
        } else {
          const rows = await query(DELTA, [input.fanId, since]);
          const notes = rows.filter((row) => !row.deleted);
          const deletedNoteIds = rows.filter((row) => row.deleted).map((row) => row.id);
          body = JSON.stringify({
            status: 'success',
            data: { noteCount: notes.length, notes, deletedNoteIds },
          });
        }
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (counting) {
          headers['x-db-statements'] = String(statements - before.statements);
          headers['x-db-round-trips'] = String(roundTrips - before.roundTrips);
          headers['x-db-prepares'] = String(prepares - before.prepares);
        }
        res.writeHead(200, headers).end(body);
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    })();
  });
});
server.keepAliveTimeout = 5_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
