import type { Note, Role, SyncNotesData, SyncNotesInput } from '@fannotes/contract';
import { decodeCursor, type ServerNote } from '@fannotes/sync-core';
import { sql } from 'drizzle-orm';
import assert from 'node:assert/strict';
import type {
  NotesPage,
  ServerState,
  SyncRequest,
  SyncResponse,
  SyncServer,
  SyncedNote,
} from '../../../packages/sync-core/test/simulation.ts';
import { executeRows, textArray } from '../src/services/raw-sql.ts';
import { seedAccount, type TestApp } from './harness.ts';

// The sync protocol's generated scripts (packages/sync-core/test/protocol-run.ts) served by the real
// API: each request goes through `notes.sync` by createCaller, as the client's user, through the real
// auth middleware, on the test app's database; the state the invariants check is read from the
// database's rows (notes, the fan, sync_clients). protocol-scripts.test.ts runs them.
//
// Where the API legitimately differs from the simulation, this adapter maps it:
//   - names: the scripts name notes `note_a1` (client a's first), `note_s3` (the server's third) and
//     clients `client-a`; the API needs `note_<uuid>` and uuids. ScriptIds maps both ways, with a
//     per-script tag in every uuid (note ids are unique across the whole database);
//   - time: the app's fake clock moves STEP_MS before each request, so a read without changes is a
//     full sync or, within the 30 s throttle interval, a throttled read (`throttled`, lastMutationId
//     null); reads of the invariants (`read`) take no time;
//   - fields the model does not have (timestamps, authors, the fan's live_note_count) are checked here,
//     against what the adapter saw happen, and kept as `bookkeeping` so a replay that rewrote them
//     would show.

/** How far the clock moves before each request: three requests span the 30 s throttle interval. */
export const STEP_MS = 10_000;

/** The user each script client is: three teammates, and client d is client b's second device. */
const ROLE_OF_CLIENT: Record<string, Role> = {
  'client-a': 'owner',
  'client-b': 'chatter',
  'client-c': 'manager',
  'client-d': 'chatter',
};
const CLIENTS = Object.keys(ROLE_OF_CLIENT);

/**
 * The script's names and the API's ids, both ways. A uuid is `<tag>-<kind>-4000-8000-<number>`: the
 * script's tag, the kind (a note's author letter as its char code, `0c00` for a client) and a number.
 */
export class ScriptIds {
  private readonly pattern: RegExp;
  private readonly names = new Map<string, string>();

  constructor(readonly tag: string) {
    assert.match(tag, /^[0-9a-f]{8}$/);
    this.pattern = new RegExp(`^${tag}-([0-9a-f]{4})-4000-8000-([0-9a-f]{12})$`);
  }

  /** The API's id of the server's n-th note (`note_s<n>` in the script). */
  serverNote(n: number): string {
    return this.noteToApi(`note_s${n}`);
  }

  noteToApi(name: string): string {
    const match = /^note_([a-z])([1-9][0-9]*)$/.exec(name);
    assert.ok(match, `a note name the scripts do not make: ${name}`);
    return `note_${this.uuid(match[1]!.charCodeAt(0), Number(match[2]))}`;
  }

  noteFromApi(id: string): string {
    let name = this.names.get(id);
    if (name === undefined) {
      const [kind, n] = this.parse(id.replace(/^note_/, ''), `note id ${id}`);
      name = `note_${String.fromCharCode(kind)}${n}`;
      this.names.set(id, name);
    }
    return name;
  }

  clientToApi(name: string): string {
    const match = /^client-([a-z])$/.exec(name);
    assert.ok(match, `a client name the scripts do not make: ${name}`);
    return this.uuid(0xc00, match[1]!.charCodeAt(0));
  }

  clientFromApi(uuid: string): string {
    const [kind, n] = this.parse(uuid, `client id ${uuid}`);
    assert.equal(kind, 0xc00, `client id ${uuid}`);
    return `client-${String.fromCharCode(n)}`;
  }

  private uuid(kind: number, n: number): string {
    return `${this.tag}-${kind.toString(16).padStart(4, '0')}-4000-8000-${n.toString(16).padStart(12, '0')}`;
  }

  private parse(uuid: string, what: string): [number, number] {
    const match = this.pattern.exec(uuid);
    assert.ok(match, `${what} is not one of this script's`);
    return [parseInt(match[1]!, 16), parseInt(match[2]!, 16)];
  }
}

type Caller = Awaited<ReturnType<TestApp['caller']>>;

/** Beside the model's fields: when and by whom each note was made and last changed. */
interface Bookkeeping {
  createdAt: string;
  createdBy: Role | null;
  updatedAt: string;
  updatedBy: Role | null;
  deletedAt: string | null;
}

/** A notes row as `json_agg` writes it. */
interface NoteJson {
  id: string;
  account_id: string;
  content: string;
  type: ServerNote['type'];
  color: string | null;
  is_pinned: boolean;
  source: ServerNote['source'];
  only_fans_note_id: string | null;
  imported_content: string | null;
  conflict_of: string | null;
  version: number;
  content_version: number;
  content_client_id: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  created_by: string | null;
  updated_by: string | null;
}

/** One script's fan on the API: a fresh account (one user per role) with one fan. */
export class ApiSyncServer implements SyncServer {
  /** Requests served, and reads made for the invariants. */
  requests = 0;
  reads = 0;
  private readonly callers = new Map<Role, Caller>();
  private readonly roleOfUser: Map<string, Role>;
  /** When and by whom each version of the fan was written (from the responses that moved it). */
  private readonly writes = new Map<number, { at: number; by: Role }>();
  private version = 0;
  /** The last request served: its time and user make the notes it creates. */
  private last: { at: number; by: Role } | null = null;
  /** When and by whom each note was made, as first seen. */
  private readonly made = new Map<string, Pick<Bookkeeping, 'createdAt' | 'createdBy'>>();
  /** Notes of the last request's answer, to compare with the rows they were read from. */
  private answered: Note[] = [];

  private constructor(
    private readonly app: TestApp,
    readonly ids: ScriptIds,
    private readonly fan: Awaited<ReturnType<typeof seedAccount>>,
  ) {
    this.roleOfUser = new Map(Object.entries(fan.users).map(([role, userId]) => [userId, role as Role]));
  }

  static async create(app: TestApp, ids: ScriptIds): Promise<ApiSyncServer> {
    return new ApiSyncServer(app, ids, await seedAccount(app, '12345'));
  }

  async serve(request: SyncRequest): Promise<SyncResponse> {
    this.app.clock.advance(STEP_MS);
    const role = ROLE_OF_CLIENT[request.clientId];
    assert.ok(role, `a client the scripts do not make: ${request.clientId}`);
    const input: SyncNotesInput = {
      fanId: this.fan.fan.fanId,
      clientId: this.ids.clientToApi(request.clientId),
      ...(request.cursor === undefined ? {} : { cursor: request.cursor }),
      mutations: request.mutations.map((mutation) => ({
        ...mutation,
        noteId: this.ids.noteToApi(mutation.noteId),
      })),
      ...(request.onlyFansNotes === undefined ? {} : { onlyFansNotes: request.onlyFansNotes }),
    };
    const { data } = await (await this.caller(role)).notes.sync(input);
    this.requests += 1;
    const at = this.app.clock.now().getTime();
    this.last = { at, by: role };
    const page = this.page(data);
    this.answered = data.notes;
    assert.equal(data.throttled, !data.synchronized, 'throttled');
    // The response's cursor is the fan's version after it: a new one was written by this request.
    const version = decodeCursor(data.cursor);
    assert.ok(version !== null, `cursor ${data.cursor}`);
    if (version > this.version) this.writes.set(version, this.last);
    return {
      ...page,
      results: data.results.map((result) => ({
        ...result,
        noteId: this.ids.noteFromApi(result.noteId),
        ...(result.status === 'conflict'
          ? { conflictNoteId: this.ids.noteFromApi(result.conflictNoteId) }
          : {}),
      })),
      lastMutationId: data.lastMutationId,
      ...(data.throttled ? { throttled: true } : {}),
    };
  }

  /** A plain read (no client, no changes) by the account's viewer. */
  async read(cursor?: string): Promise<NotesPage> {
    const { data } = await (
      await this.caller('viewer')
    ).notes.sync({ fanId: this.fan.fan.fanId, ...(cursor === undefined ? {} : { cursor }) });
    this.reads += 1;
    assert.equal(data.lastMutationId, null, 'lastMutationId of a read without a client');
    assert.deepEqual(data.results, []);
    return this.page(data);
  }

  async state(): Promise<ServerState> {
    const clientIds = textArray(CLIENTS.map((name) => this.ids.clientToApi(name)));
    const [row] = await executeRows(
      this.app.database.db,
      sql`select f.version, f.live_note_count, f.purged_through_version, f.account_id,
        (select coalesce(json_agg(n order by n.id), '[]'::json)
          from notes n where n.fan_row_id = f.id) as notes,
        (select coalesce(json_agg(json_build_object('client_id', c.client_id, 'user_id', c.user_id,
            'last_mutation_id', c.last_mutation_id)), '[]'::json)
          from sync_clients c where c.client_id = any(${clientIds}::uuid[])) as clients
      from fans f where f.id = ${this.fan.fan.id}`,
    );
    assert.ok(row, 'the fan row');
    const rows = row.notes as NoteJson[];
    const version = Number(row.version);
    const notes = new Map<string, ServerNote>();
    const bookkeeping = new Map<string, Bookkeeping>();
    for (const note of rows) {
      const id = this.ids.noteFromApi(note.id);
      notes.set(id, {
        id,
        content: note.content,
        type: note.type,
        color: note.color,
        isPinned: note.is_pinned,
        source: note.source,
        onlyFansNoteId: note.only_fans_note_id,
        importedContent: note.imported_content,
        conflictOf: note.conflict_of === null ? null : this.ids.noteFromApi(note.conflict_of),
        version: Number(note.version),
        contentVersion: Number(note.content_version),
        contentClientId:
          note.content_client_id === null ? null : this.ids.clientFromApi(note.content_client_id),
        deleted: note.deleted_at !== null,
      });
      bookkeeping.set(id, this.bookkeeping(id, note));
      assert.equal(note.account_id, row.account_id, `note ${id}'s account`);
    }
    // The fan's count of live notes, kept by every write, is the count of its live rows.
    const live = rows.filter((note) => note.deleted_at === null).length;
    assert.equal(Number(row.live_note_count), live, 'fans.live_note_count');
    // Nothing is purged in a script: no tombstone gets 30 days old.
    assert.equal(Number(row.purged_through_version), 0, 'fans.purged_through_version');
    const lastMutationIdByClient = new Map<string, number>();
    for (const client of row.clients as { client_id: string; user_id: string; last_mutation_id: number }[]) {
      const name = this.ids.clientFromApi(client.client_id);
      assert.equal(this.fan.users[ROLE_OF_CLIENT[name]!], client.user_id, `${name}'s user`);
      if (Number(client.last_mutation_id) > 0)
        lastMutationIdByClient.set(name, Number(client.last_mutation_id));
    }
    // The notes of the last response are the rows they were read from (they have not changed since).
    for (const note of this.answered) {
      const id = this.ids.noteFromApi(note.id);
      const stored = bookkeeping.get(id);
      assert.ok(stored && !notes.get(id)!.deleted, `note ${id} of the last response is a live row`);
      assert.deepEqual(
        {
          fanId: note.fanId,
          accountId: note.accountId,
          createdAt: Date.parse(note.createdAt),
          updatedAt: Date.parse(note.updatedAt),
          createdBy: note.createdBy === null ? null : this.roleOfUser.get(note.createdBy),
          updatedBy: note.updatedBy === null ? null : this.roleOfUser.get(note.updatedBy),
        },
        {
          fanId: this.fan.fan.fanId,
          accountId: row.account_id,
          createdAt: Date.parse(stored.createdAt),
          updatedAt: Date.parse(stored.updatedAt),
          createdBy: stored.createdBy,
          updatedBy: stored.updatedBy,
        },
        `note ${id} as answered and as stored`,
      );
    }
    this.answered = [];
    this.version = version;
    return { notes, version, lastMutationIdByClient, bookkeeping };
  }

  private async caller(role: Role): Promise<Caller> {
    let caller = this.callers.get(role);
    if (!caller) {
      caller = await this.app.caller(this.fan.users[role]);
      this.callers.set(role, caller);
    }
    return caller;
  }

  /** The page of an answer in the script's names, by id (the API sends notes in display order). */
  private page(data: SyncNotesData): NotesPage {
    // Scripts hold a few dozen notes: far below a page's 5,000 notes and 1 MiB.
    assert.equal(data.more, false, 'more');
    assert.equal(data.noteCount, data.notes.length, 'noteCount');
    const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return {
      cursor: data.cursor,
      reset: data.reset,
      notes: data.notes.map((note) => this.synced(note)).sort((a, b) => byId(a.id, b.id)),
      deletedNoteIds: data.deletedNoteIds.map((id) => this.ids.noteFromApi(id)).sort(byId),
    };
  }

  private synced(note: Note): SyncedNote {
    const { content, type, color, isPinned, source, onlyFansNoteId, version } = note;
    return {
      id: this.ids.noteFromApi(note.id),
      content,
      type,
      color,
      isPinned,
      source,
      onlyFansNoteId,
      conflictOf: note.conflictOf === null ? null : this.ids.noteFromApi(note.conflictOf),
      version,
    };
  }

  /**
   * A note's timestamps and authors, checked against what the adapter saw: a note was made by the
   * request that first showed it (its time, its user) and keeps that; its last change is the time and
   * user of the write that gave it its version; a tombstone was deleted by that change.
   */
  private bookkeeping(id: string, note: NoteJson): Bookkeeping {
    const role = (userId: string | null) => (userId === null ? null : (this.roleOfUser.get(userId) ?? null));
    const iso = (value: string) => new Date(value).toISOString();
    const kept: Bookkeeping = {
      createdAt: iso(note.created_at),
      createdBy: role(note.created_by),
      updatedAt: iso(note.updated_at),
      updatedBy: role(note.updated_by),
      deletedAt: note.deleted_at === null ? null : iso(note.deleted_at),
    };
    let made = this.made.get(id);
    if (!made) {
      assert.ok(this.last, `note ${id} before any request`);
      made = { createdAt: new Date(this.last.at).toISOString(), createdBy: this.last.by };
      this.made.set(id, made);
    }
    const write = this.writes.get(Number(note.version));
    assert.ok(write, `note ${id} has version ${note.version}, which no response handed out`);
    assert.deepEqual(
      kept,
      {
        ...made,
        updatedAt: new Date(write.at).toISOString(),
        updatedBy: write.by,
        deletedAt: note.deleted_at === null ? null : new Date(write.at).toISOString(),
      },
      `note ${id}'s timestamps and authors`,
    );
    return kept;
  }
}
