import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type {
  Account,
  ErrorEnvelope,
  Mutation,
  Note,
  SuccessEnvelope,
  SyncNotesData,
  SyncNotesInput,
} from '@fannotes/contract';
import { fans, notes, syncClients } from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { decodeCursor } from '@fannotes/sync-core';
import { eq, inArray, sql, type SQL } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { leasesHeld } from '../hardening/lib/database.ts';
import { mintToken } from '../src/auth/dev-keys.ts';
import { explain, type ModelNote, type Observed } from './protocol-model.ts';
import { fcParamsFor } from './fast-check.ts';
import { spawnApi, waitFor, type ApiProcess } from './spawn-api.ts';

// DESIGN.md, "The sync protocol", on real PostgreSQL and real API processes: the protocol's rules driven
// over HTTP (REST and tRPC) by several clients at once against two processes, and a process killed
// with SIGKILL in the middle of a sync. PGlite is one connection, so none of this can run there.

const SUPABASE_URL = 'http://127.0.0.1:54321';

// Each run starts three clients against two processes, so runs are few; FC_RUNS=200 makes a soak run.
// A failure prints its seed: rerun with FC_SEED=<seed> (timing still varies between runs).
const fcParams = fcParamsFor(25);

// ---------------------------------------------------------------------------------------------------
// HTTP

type Surface = 'rest' | 'trpc';

interface SyncReply {
  status: number;
  /** Seconds, from `Retry-After`. */
  retryAfter: number | null;
  data: SyncNotesData | undefined;
  code: string | undefined;
}

type RestBody = SuccessEnvelope<SyncNotesData> | ErrorEnvelope;
type TrpcBody =
  | { result: { data: SuccessEnvelope<SyncNotesData> } }
  | { error: { message: string; data: { code: string; httpStatus: number } } };

/** A mutation before the client numbers it. */
type Unnumbered =
  Omit<Extract<Mutation, { op: 'upsert' }>, 'id'> | Omit<Extract<Mutation, { op: 'delete' }>, 'id'>;

/** What every request of a test saw: any status but 200 and 409 fails the request (no 5xx, ever). */
interface Traffic {
  requests: number;
  conflicts409: number;
  bySurface: Record<Surface, number>;
  byProcess: Record<string, number>;
}

const newTraffic = (): Traffic => ({
  requests: 0,
  conflicts409: 0,
  bySurface: { rest: 0, trpc: 0 },
  byProcess: {},
});

/** One sync call, REST `POST /api/v2/sync-notes` or tRPC `POST /trpc/notes.sync`, with the same body. */
async function postSync(
  api: ApiProcess,
  token: string,
  surface: Surface,
  input: SyncNotesInput,
  traffic?: Traffic,
): Promise<SyncReply> {
  const path = surface === 'rest' ? '/api/v2/sync-notes' : '/trpc/notes.sync';
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (traffic) {
    traffic.requests++;
    traffic.bySurface[surface]++;
    traffic.byProcess[api.name] = (traffic.byProcess[api.name] ?? 0) + 1;
    if (response.status === 409) traffic.conflicts409++;
  }
  const fail = () => new Error(`${surface} ${path} on ${api.name}: ${response.status} ${text}`);
  if (response.status !== 200 && response.status !== 409) throw fail();
  const retryAfter = response.headers.get('retry-after');
  const reply: SyncReply = {
    status: response.status,
    retryAfter: retryAfter === null ? null : Number(retryAfter),
    data: undefined,
    code: undefined,
  };
  if (surface === 'rest') {
    const body = JSON.parse(text) as RestBody;
    if (body.status === 'success') reply.data = body.data;
    else reply.code = body.error.code;
  } else {
    const body = JSON.parse(text) as TrpcBody;
    if ('result' in body) reply.data = body.result.data.data;
    else reply.code = body.error.data.code;
  }
  if (response.status === 200 ? reply.data === undefined : reply.code !== 'sync_in_progress') throw fail();
  if (response.status === 409 && !(reply.retryAfter !== null && reply.retryAfter >= 1)) throw fail();
  return reply;
}

/** The client's back-off on 409 sync_in_progress: `Retry-After`, capped small (10-50 ms) so runs stay quick. */
const backOff = (reply: SyncReply) =>
  delay(Math.min((reply.retryAfter ?? 1) * 1000, 10 + Math.floor(Math.random() * 40)));

/** Sends `input` until it is answered (retrying 409s, each time on the next process); returns the answer. */
async function syncUntilAnswered(
  apis: readonly ApiProcess[],
  first: number,
  token: string,
  surface: Surface,
  input: SyncNotesInput,
  traffic: Traffic,
  timeoutMs = 30_000,
): Promise<SyncNotesData> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const reply = await postSync(apis[(first + attempt) % apis.length]!, token, surface, input, traffic);
    if (reply.data) return reply.data;
    if (Date.now() > deadline) throw new Error(`no answer but 409 for ${timeoutMs} ms`);
    await backOff(reply);
  }
}

async function postJson<T>(api: ApiProcess, token: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${path}: ${response.status} ${text}`);
  return (JSON.parse(text) as SuccessEnvelope<T>).data;
}

/** Error and fatal log lines (pino level >= 50) of these processes: a 5xx or a crash shows up here. */
const errorLogs = (apis: readonly ApiProcess[]) =>
  apis.flatMap((api) =>
    api
      .logs()
      .filter((entry) => Number(entry.level) >= 50)
      .map((entry) => ({ api: api.name, ...entry })),
  );

/** What a client compares: the fields of a note that the protocol's rules decide. */
const shapeOf = (note: Pick<Note, 'content' | 'isPinned' | 'conflictOf' | 'version'>) => ({
  content: note.content,
  isPinned: note.isPinned,
  conflictOf: note.conflictOf,
  version: note.version,
});

const byId = <T>(entries: Iterable<[string, T]>) =>
  Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));

// ---------------------------------------------------------------------------------------------------

describe.skipIf(!process.env.DATABASE_URL)('the sync protocol on real API processes and PostgreSQL', () => {
  let database: TestDatabase;
  const secret = randomBytes(32).toString('base64url');
  const baseEnv = () => ({
    NODE_ENV: 'production',
    DATABASE_URL: database.url!,
    SUPABASE_URL,
    SUPABASE_JWT_SECRET: secret,
    LOG_LEVEL: 'info',
    // Every call is a full sync (no interval, no force floor): the lease is the only thing in the way.
    SYNC_MIN_INTERVAL_MS: '0',
    SYNC_FORCE_FLOOR_MS: '0',
    DB_POOL_MAX: '5',
    // No per-user limits: these clients retry 409s every few ms, several at once through one user,
    // which is what is under test (test/in-flight.test.ts and request-budget.test.ts show the limits).
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_CONCURRENT: '0',
  });
  const tokenFor = (userId: string) => mintToken({ secret, issuer: `${SUPABASE_URL}/auth/v1`, userId });

  beforeAll(async () => {
    database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  }, 30_000);

  /** A `select count(*)::int as count ...` (postgres.js answers with an array of rows). */
  async function count(query: SQL): Promise<number> {
    const rows: unknown = await database.db.execute<{ count: number }>(query);
    return Number((rows as { count: number }[])[0]!.count);
  }

  async function fanRow(fanId: string) {
    const [row] = await database.db.select().from(fans).where(eq(fans.fanId, fanId));
    return row!;
  }

  /** Registers an account owned by a new user, with `chatters` more members who may write notes. */
  async function newAccount(api: ApiProcess, onlyFansUserId: string, chatters: number) {
    const ownerToken = await tokenFor(randomUUID());
    const account = await postJson<Account>(api, ownerToken, '/api/v2/accounts', {
      onlyFansUserId,
      username: `creator${onlyFansUserId}`,
    });
    const tokens = [ownerToken];
    // Chatters join as everyone does: through an invite they redeem.
    const invite = await postJson<{ code: string }>(
      api,
      ownerToken,
      `/api/v2/accounts/${account.id}/invites`,
      {
        role: 'chatter',
        maxUses: Math.max(1, chatters),
      },
    );
    for (let i = 0; i < chatters; i++) {
      const token = await tokenFor(randomUUID());
      await postJson(api, token, '/api/v2/invites/redeem', { code: invite.code });
      tokens.push(token);
    }
    return { account, tokens };
  }

  // -------------------------------------------------------------------------------------------------

  describe('three clients, two processes', () => {
    let apis: ApiProcess[] = [];
    let tokens: string[] = [];
    let accountId: string;

    beforeAll(async () => {
      const spawning = [spawnApi('A', baseEnv()), spawnApi('B', baseEnv())];
      const started = await Promise.allSettled(spawning);
      apis = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      await Promise.all(spawning);
      const created = await newAccount(apis[0]!, '515151', 2);
      accountId = created.account.id;
      tokens = created.tokens;
    }, 90_000);

    afterAll(async () => {
      await Promise.all(apis.map((api) => api.stop(5_000)));
    }, 30_000);

    type LocalOp =
      | { kind: 'create'; pin: boolean | undefined }
      | { kind: 'edit'; pick: number; same: boolean; pin: boolean | undefined }
      | { kind: 'delete'; pick: number };
    interface Step {
      /** Offline changes made before this sync. */
      ops: LocalOp[];
      /** The process and surface the sync goes to first. */
      process: number;
      surface: Surface;
      /**
       * `drop`: the answer to a first send is never seen (it still runs, concurrently with the resend);
       * `replay`: an earlier request of this client is sent again, verbatim, before the sync.
       */
      fault: 'none' | 'drop' | 'replay';
      pick: number;
    }

    const pin = fc.option(fc.boolean(), { nil: undefined });
    const localOp: fc.Arbitrary<LocalOp> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), pin }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('edit' as const),
          pick: fc.nat(),
          // Sometimes the text the client last saw: a pin-only change, allowed even from a stale base.
          same: fc.nat({ max: 4 }).map((n) => n === 0),
          pin,
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
    );
    const step: fc.Arbitrary<Step> = fc.record({
      ops: fc.array(localOp, { maxLength: 4 }),
      process: fc.nat({ max: 1 }),
      surface: fc.constantFrom<Surface>('rest', 'trpc'),
      fault: fc.oneof(
        { weight: 4, arbitrary: fc.constant('none' as const) },
        { weight: 1, arbitrary: fc.constant('drop' as const) },
        { weight: 1, arbitrary: fc.constant('replay' as const) },
      ),
      pick: fc.nat(),
    });
    const program = fc.array(fc.array(step, { minLength: 1, maxLength: 8 }), { minLength: 3, maxLength: 3 });

    interface Client {
      index: number;
      clientId: string;
      token: string;
      nextId: number;
      /** Mutations not yet acknowledged (id > the server's lastMutationId), in id order. */
      outbox: Mutation[];
      /** The notes as the server last told this client, and the cursor of that answer. */
      view: Map<string, Note>;
      cursor: string | undefined;
      /** Every request body this client sent, for replays. */
      sent: SyncNotesInput[];
      /** Notes this client created (it may edit them before any answer shows them). */
      created: string[];
      /** The view and cursor after its first answer, to check a delta from an early cursor at the end. */
      early: { view: Map<string, Note>; cursor: string } | undefined;
    }

    const totals = {
      runs: 0,
      ...newTraffic(),
      strays: 0,
      replays: 0,
      mutations: 0,
      statuses: {} as Record<string, number>,
    };
    let fanNumber = 600_000;

    async function runProgram(steps: Step[][]): Promise<void> {
      const fanId = String(fanNumber++);
      const traffic = newTraffic();
      await postJson(apis[fanNumber % 2]!, tokens[0]!, '/api/v2/fans', { accountId, fanId });
      const observed: Observed[] = [];
      const strays: Promise<void>[] = [];
      const clients: Client[] = steps.map((_, index) => ({
        index,
        clientId: randomUUID(),
        token: tokens[index % tokens.length]!,
        nextId: 1,
        outbox: [],
        view: new Map(),
        cursor: undefined,
        sent: [],
        created: [],
        early: undefined,
      }));

      const request = (client: Client): SyncNotesInput => ({
        fanId,
        clientId: client.clientId,
        ...(client.cursor === undefined ? {} : { cursor: client.cursor }),
        ...(client.outbox.length === 0 ? {} : { mutations: client.outbox.slice(0, 100) }),
      });

      /** Every answer is checked against its request and kept for the reference model. */
      const record = (client: Client, input: SyncNotesInput, data: SyncNotesData) => {
        // The clients here never send null for an optional field: their input is already the output.
        const mutations = (input.mutations ?? []) as Mutation[];
        // A pull that meets another client's sync of the fan is answered from the stored notes
        // (synchronized: false); a request with changes is always a full sync.
        if (mutations.length > 0 || input.onlyFansNotes) expect(data.synchronized).toBe(true);
        expect(data.more).toBe(false);
        // Requests never skip an id, so every mutation gets exactly one result, in order.
        expect(data.results.map((result) => result.id)).toEqual(mutations.map((mutation) => mutation.id));
        expect(data.lastMutationId).toBeGreaterThanOrEqual(mutations.at(-1)?.id ?? 0);
        const version = decodeCursor(data.cursor);
        expect(version).not.toBeNull();
        observed.push({ clientId: client.clientId, mutations, data, version: version! });
      };

      /** The client takes an answer in: acknowledged mutations leave the outbox, the delta updates the view. */
      const absorb = (client: Client, data: SyncNotesData) => {
        client.outbox = client.outbox.filter((mutation) => mutation.id > data.lastMutationId!);
        if (data.reset) client.view = new Map();
        for (const id of data.deletedNoteIds) client.view.delete(id);
        for (const note of data.notes) client.view.set(note.id, note);
        client.cursor = data.cursor;
        client.early ??= { view: new Map(client.view), cursor: data.cursor };
      };

      const sync = async (client: Client, input: SyncNotesInput, first: number, surface: Surface) => {
        client.sent.push(input);
        const data = await syncUntilAnswered(apis, first, client.token, surface, input, traffic);
        record(client, input, data);
        absorb(client, data);
      };

      const change = (client: Client, op: LocalOp) => {
        const push = (mutation: Unnumbered) => client.outbox.push({ ...mutation, id: client.nextId++ });
        const text = `Client ${client.index + 1}, mutation ${client.nextId}.`;
        const pinned = (value: boolean | undefined) => (value === undefined ? {} : { isPinned: value });
        const editable = [...client.view.keys(), ...client.created.filter((id) => !client.view.has(id))];
        if (op.kind === 'delete') {
          const live = [...client.view.values()];
          if (live.length === 0) return;
          const note = live[op.pick % live.length]!;
          push({ op: 'delete', noteId: note.id, baseVersion: note.version });
        } else if (op.kind === 'create' || editable.length === 0) {
          const noteId = `note_${randomUUID()}`;
          client.created.push(noteId);
          push({ op: 'upsert', noteId, baseVersion: 0, note: { content: text, ...pinned(op.pin) } });
        } else {
          const noteId = editable[op.pick % editable.length]!;
          const seen = client.view.get(noteId);
          const content = op.same && seen ? seen.content : text;
          push({
            op: 'upsert',
            noteId,
            baseVersion: seen?.version ?? 0,
            note: { content, ...pinned(op.pin) },
          });
        }
      };

      const play = async (client: Client, step: Step) => {
        for (const op of step.ops) change(client, op);
        if (step.fault === 'drop') {
          // Sent once, answer ignored: it may still be running while the client resends below.
          const input = request(client);
          client.sent.push(input);
          strays.push(
            postSync(apis[step.process]!, client.token, step.surface, input, traffic).then((reply) => {
              if (reply.data) record(client, input, reply.data);
            }),
          );
        } else if (step.fault === 'replay' && client.sent.length > 0) {
          await sync(client, client.sent[step.pick % client.sent.length]!, 1 - step.process, step.surface);
        }
        await sync(client, request(client), step.process, step.surface);
      };

      await Promise.all(
        clients.map(async (client) => {
          for (const step of steps[client.index]!) await play(client, step);
        }),
      );
      const settled = await Promise.allSettled(strays);
      for (const result of settled) if (result.status === 'rejected') throw result.reason;

      // Quiescence: every outbox drained, then one more sync each, one after another, so that every
      // client has seen the last write.
      await Promise.all(
        clients.map(async (client) => {
          while (client.outbox.length > 0) await sync(client, request(client), client.index % 2, 'rest');
        }),
      );
      for (const client of clients) await sync(client, request(client), client.index % 2, 'trpc');

      // What PostgreSQL holds.
      const fan = await fanRow(fanId);
      const rows = await database.db.select().from(notes).where(eq(notes.fanRowId, fan.id));
      const live = byId(rows.filter((row) => row.deletedAt === null).map((row) => [row.id, shapeOf(row)]));
      const clientRows = await database.db
        .select()
        .from(syncClients)
        .where(
          inArray(
            syncClients.clientId,
            clients.map((client) => client.clientId),
          ),
        );

      // Exactly once, in order: over every answer (dropped and replayed ones included), each of a
      // client's ids has one applied/conflict/rejected result and otherwise only duplicates, and the
      // server's lastMutationId for it is its last id.
      for (const client of clients) {
        const ids = observed
          .filter((entry) => entry.clientId === client.clientId)
          .flatMap((entry) => entry.data.results.filter((result) => result.status !== 'duplicate'))
          .map((result) => result.id)
          .sort((a, b) => a - b);
        expect(ids, `client ${client.index + 1}`).toEqual(
          Array.from({ length: client.nextId - 1 }, (_, i) => i + 1),
        );
        expect(client.outbox).toEqual([]);
        expect(clientRows.find((row) => row.clientId === client.clientId)?.lastMutationId ?? 0).toBe(
          client.nextId - 1,
        );
      }

      // Server order, reconstructed from the cursors, replayed through the reference model: every
      // status is the one the rules give, and the rows are the ones the rules leave.
      const model = explain(observed);
      expect(model.problems).toEqual([]);
      for (const client of clients) {
        const order = model.processed
          .filter((processed) => processed.entry.clientId === client.clientId)
          .map((processed) => processed.mutation.id);
        expect(order, `client ${client.index + 1}: ids in server order`).toEqual(
          Array.from({ length: client.nextId - 1 }, (_, i) => i + 1),
        );
      }
      const modelRows = byId(
        [...model.state].map(([id, note]: [string, ModelNote]) => [
          id,
          {
            ...shapeOf(note),
            contentVersion: note.contentVersion,
            contentClientId: note.contentClientId,
            deleted: note.deleted,
          },
        ]),
      );
      const dbRows = byId(
        rows.map((row) => [
          row.id,
          {
            ...shapeOf(row),
            contentVersion: row.contentVersion,
            contentClientId: row.contentClientId,
            deleted: row.deletedAt !== null,
          },
        ]),
      );
      expect(dbRows).toEqual(modelRows);
      expect(fan.version).toBe(model.version);

      // No accepted text is lost: each text answered `conflict` is in a copy of the note (`conflictOf`),
      // kept even if the copy was deleted later, unless the copy was itself edited afterwards; each
      // note's text is the last text an applied upsert gave it in server order.
      const editedLater = new Set(
        model.processed
          .filter((p) => p.mutation.op === 'upsert' && p.status === 'applied')
          .map((p) => p.mutation.noteId),
      );
      for (const entry of observed) {
        for (const result of entry.data.results) {
          if (result.status !== 'conflict') continue;
          const mutation = entry.mutations.find((m) => m.id === result.id)!;
          const copy = rows.find((row) => row.id === result.conflictNoteId);
          expect(copy?.conflictOf).toBe(mutation.noteId);
          if (!editedLater.has(result.conflictNoteId) && mutation.op === 'upsert') {
            expect(copy?.content).toBe(mutation.note.content);
          }
        }
      }
      const lastText = new Map<string, string>();
      for (const p of model.processed) {
        if (p.mutation.op === 'upsert' && p.status === 'applied' && p.mutation.note.content !== undefined)
          lastText.set(p.mutation.noteId, p.mutation.note.content);
      }
      for (const [noteId, content] of lastText) {
        expect(rows.find((row) => row.id === noteId)?.content, noteId).toBe(content);
      }

      // Convergence: every client's view is the live set in PostgreSQL.
      for (const client of clients) {
        expect(
          byId([...client.view].map(([id, note]) => [id, shapeOf(note)])),
          `client ${client.index + 1}`,
        ).toEqual(live);
      }

      // Deltas: the view after a client's first answer plus one delta from that early cursor is the live
      // set, and so is a fresh full sync.
      const reader = tokens[0]!;
      for (const client of clients) {
        const early = client.early!;
        const delta = await syncUntilAnswered(
          apis,
          client.index % 2,
          reader,
          'rest',
          { fanId, cursor: early.cursor },
          traffic,
        );
        expect(delta.reset).toBe(false);
        const view = new Map(early.view);
        for (const id of delta.deletedNoteIds) view.delete(id);
        for (const note of delta.notes) view.set(note.id, note);
        expect(byId([...view].map(([id, note]) => [id, shapeOf(note)]))).toEqual(live);
      }
      const full = await syncUntilAnswered(apis, 0, reader, 'trpc', { fanId }, traffic);
      expect(full.reset).toBe(true);
      expect(byId(full.notes.map((note) => [note.id, shapeOf(note)]))).toEqual(live);

      expect(await leasesHeld(database.db)).toBe(0);

      totals.runs++;
      totals.requests += traffic.requests;
      totals.conflicts409 += traffic.conflicts409;
      for (const surface of ['rest', 'trpc'] as const)
        totals.bySurface[surface] += traffic.bySurface[surface];
      for (const [name, n] of Object.entries(traffic.byProcess))
        totals.byProcess[name] = (totals.byProcess[name] ?? 0) + n;
      totals.strays += strays.length;
      totals.replays += steps.flat().filter((s) => s.fault === 'replay').length;
      for (const client of clients) totals.mutations += client.nextId - 1;
      for (const p of model.processed) totals.statuses[p.status] = (totals.statuses[p.status] ?? 0) + 1;
    }

    test('exactly once, no lost text, deltas and convergence hold for concurrent clients over REST and tRPC on two processes', async ({
      annotate,
    }) => {
      const started = Date.now();
      await fc.assert(fc.asyncProperty(program, runProgram), { ...fcParams, endOnFailure: true });
      expect(errorLogs(apis)).toEqual([]);
      await annotate(JSON.stringify({ ...totals, ms: Date.now() - started }));
    }, 240_000);
  });

  // -------------------------------------------------------------------------------------------------

  describe('SIGKILL in the middle of a sync', () => {
    const processes: ApiProcess[] = [];
    let current: ApiProcess;
    let token: string;
    let accountId: string;
    let fanNumber = 700_000;

    const spawnNext = async () => {
      const api = await spawnApi(`K${processes.length}`, baseEnv());
      processes.push(api);
      return api;
    };

    beforeAll(async () => {
      current = await spawnNext();
      const created = await newAccount(current, '525252', 0);
      accountId = created.account.id;
      token = created.tokens[0]!;
    }, 90_000);

    afterAll(async () => {
      await Promise.all(processes.map((api) => api.stop(5_000)));
    }, 30_000);

    /** Other sessions of this database that are running a statement or are inside a transaction. */
    const busySessions = () =>
      count(sql`select count(*)::int as count from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid()
                  and (backend_xid is not null or state in ('active', 'idle in transaction', 'idle in transaction (aborted)'))`);

    /**
     * Other sessions inside a transaction of several statements that has locked or written rows: the
     * sync's transaction.
     */
    const syncTransactions = () =>
      count(sql`select count(*)::int as count from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid()
                  and backend_xid is not null and xact_start < query_start`);

    /** Polls `check` as fast as the database answers until it holds or `done` is set. */
    async function pollUntil(check: () => Promise<boolean>, done: { value: boolean }): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!done.value && Date.now() < deadline) if (await check()) return;
    }

    const createMutations = (): Mutation[] =>
      Array.from({ length: 100 }, (_, i) => ({
        id: i + 1,
        op: 'upsert',
        noteId: `note_${randomUUID()}`,
        baseVersion: 0,
        note: { content: `Offline note ${i + 1}.` },
      }));

    const newFan = async (api: ApiProcess) => {
      const fanId = String(fanNumber++);
      await postJson(api, token, '/api/v2/fans', { accountId, fanId });
      return fanId;
    };

    const kills: { name: string; when: (fanRowId: string, done: { value: boolean }) => Promise<unknown> }[] =
      [
        { name: 'immediately after sending', when: async () => {} },
        { name: 'about 20 ms after sending', when: () => delay(20) },
        {
          name: 'as soon as its transaction has locked or written rows',
          when: (_fanRowId, done) => pollUntil(async () => (await syncTransactions()) > 0, done),
        },
        {
          name: 'as soon as its notes are committed',
          when: (fanRowId, done) =>
            pollUntil(
              async () =>
                (await count(sql`select count(*)::int as count from notes where fan_row_id = ${fanRowId}`)) >
                0,
              done,
            ),
        },
      ];

    test.for(kills)(
      'killed $name: all or nothing, and the retry on another process completes it exactly once',
      { timeout: 60_000 },
      async ({ name, when }, { annotate }) => {
        const victim = current;
        // Warm the victim up with the same work, so that its timing is that of a running server.
        const warmFan = await newFan(victim);
        const warm = await syncUntilAnswered(
          [victim],
          0,
          token,
          'rest',
          { fanId: warmFan, clientId: randomUUID(), mutations: createMutations() },
          newTraffic(),
        );
        expect(warm.lastMutationId).toBe(100);
        // The process that will take the retry is started now, so that the retry follows the kill at once.
        const next = await spawnNext();

        const fanId = await newFan(victim);
        const fan = await fanRow(fanId);
        const mutations = createMutations();
        const body: SyncNotesInput = { fanId, clientId: randomUUID(), mutations };
        const done = { value: false };
        const sent = Date.now();
        const inFlight = postSync(victim, token, 'rest', body).then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        );
        void inFlight.then(() => (done.value = true));
        await Promise.race([when(fan.id, done), inFlight]);
        const answeredBeforeKill = done.value;
        victim.child.kill('SIGKILL');
        const killedAt = Date.now();
        expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
        const answer = await inFlight;
        // The killed process's sessions end (a statement in progress finishes, a transaction left open
        // is rolled back) before the database is looked at.
        await waitFor(
          'the killed process’s sessions to end',
          async () => (await busySessions()) === 0,
          10_000,
        );

        const expectedIds = mutations.map((mutation) => mutation.noteId).sort();
        const state = async () => {
          const rows = await database.db.select().from(notes).where(eq(notes.fanRowId, fan.id));
          const [client] = await database.db
            .select()
            .from(syncClients)
            .where(eq(syncClients.clientId, body.clientId!));
          return {
            ids: rows.map((row) => row.id).sort(),
            contents: new Set(rows.map((row) => row.content)).size,
            lastMutationId: client?.lastMutationId ?? 0,
            version: (await fanRow(fanId)).version,
          };
        };
        const after = await state();
        const none = { ids: [], contents: 0, lastMutationId: 0, version: 0 };
        const all = { ids: expectedIds, contents: 100, lastMutationId: 100, version: 1 };
        expect([none, all]).toContainEqual(after);
        const outcome = after.version === 1 ? 'all' : 'none';
        if ('reply' in answer) expect(outcome).toBe('all');

        // The victim's lease ended with its sessions: nothing is left to wait for.
        expect(await leasesHeld(database.db)).toBe(0);

        // The client never heard back (or did, and retries anyway): the exact same request, elsewhere.
        const traffic = newTraffic();
        const retried = await syncUntilAnswered([next], 0, token, 'rest', body, traffic);
        const retriedAt = Date.now();
        expect(traffic.conflicts409).toBe(0);
        expect(retried.results.map((result) => result.id)).toEqual(mutations.map((mutation) => mutation.id));
        expect(new Set(retried.results.map((result) => result.status))).toEqual(
          new Set([outcome === 'all' ? 'duplicate' : 'applied']),
        );
        expect(retried.lastMutationId).toBe(100);
        expect(retried.notes.map((note) => note.id).sort()).toEqual(expectedIds);
        expect(await state()).toEqual(all);

        // And once more: nothing changes.
        const replayed = await syncUntilAnswered([next], 0, token, 'trpc', body, traffic);
        expect(replayed.results.every((result) => result.status === 'duplicate')).toBe(true);
        expect(replayed.lastMutationId).toBe(100);
        expect(await state()).toEqual(all);
        expect(await leasesHeld(database.db)).toBe(0);
        expect(errorLogs([next])).toEqual([]);

        const report = {
          kill: name,
          killedAfterMs: killedAt - sent,
          answeredBeforeKill,
          outcome,
          retry409s: traffic.conflicts409,
          retryDoneAfterKillMs: retriedAt - killedAt,
        };
        await annotate(JSON.stringify(report));
        current = next;
      },
    );
  });
});
