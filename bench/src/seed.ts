/**
 * The benchmark's data set, made the same way on every run (a seeded PRNG): accounts with several
 * members each, fans with 0 to 50 notes (some deleted, some imported from OnlyFans), plus the fans
 * the heavier scenarios need: fans with 100 notes (pushes of 100 mutations) and cold fans with 5,000.
 */

import { noteTypes } from '@fannotes/contract/note-kinds';

export interface SeedSize {
  accounts: number;
  fansPerAccount: number;
  maxNotesPerFan: number;
  /** Fans with exactly 100 live notes, for pushes of 100 mutations. */
  push100Fans: number;
  /** Never-synchronised fans with 5,000 live notes each. */
  coldFans: number;
  coldNotes: number;
  /** Users who are chatters on every account (an agency's staff): the benchmark acts as them. */
  agencyChatters: number;
}

export const POSTGRES_SIZE: SeedSize = {
  accounts: 20,
  fansPerAccount: 100,
  maxNotesPerFan: 50,
  push100Fans: 20,
  coldFans: 10,
  coldNotes: 5000,
  agencyChatters: 10,
};

/** PGlite is one in-process connection: a smaller set keeps seeding and each run short. */
export const PGLITE_SIZE: SeedSize = {
  accounts: 4,
  fansPerAccount: 100,
  maxNotesPerFan: 50,
  push100Fans: 10,
  coldFans: 4,
  coldNotes: 5000,
  agencyChatters: 10,
};

export interface SeededNote {
  id: string;
  version: number;
  deleted: boolean;
}

export interface SeededFan {
  fanId: string;
  accountId: string;
  /** The fan's version (its highest note version). */
  version: number;
  notes: SeededNote[];
  kind: 'regular' | 'push100' | 'cold';
}

export interface Seeded {
  size: SeedSize;
  fans: SeededFan[];
  /** User ids of the agency chatters (members of every account). */
  chatters: string[];
  noteCount: number;
  memberCount: number;
}

/** Runs one parameterised statement; `$1` is a JSON array of rows. */
export type Execute = (query: string, params: unknown[]) => Promise<unknown>;

// mulberry32: small, fast, good enough for making data.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'likes tips often asks for custom videos prefers mornings timezone EST birthday in May big spender ' +
  'sends long messages wants discount renewal next week loves feet content said he is a nurse has a dog ' +
  'named Max paid 50 for the bundle do not mention ex girlfriend asked about the trip follow up Friday ' +
  'replies fast usually online at night from Texas into cosplay rebill off reminded once already'
).split(' ');

export function makeSeed(size: SeedSize, now: Date): { seeded: Seeded; rows: SeedRows } {
  const random = prng(20260301);
  const int = (max: number) => Math.floor(random() * max);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`;
  const text = () => {
    const words = 4 + int(40);
    return Array.from({ length: words }, () => WORDS[int(WORDS.length)]).join(' ');
  };
  const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString();
  const DAY = 24 * 3600 * 1000;

  const rows: SeedRows = { accounts: [], memberships: [], fans: [], notes: [] };
  const chatters = Array.from({ length: size.agencyChatters }, uuid);
  const accountIds: string[] = [];
  for (let a = 0; a < size.accounts; a++) {
    const id = uuid();
    accountIds.push(id);
    const owner = uuid();
    rows.accounts.push({
      id,
      only_fans_user_id: String(900000 + a),
      username: `creator${a}`,
      created_by: owner,
      created_at: at(90 * DAY),
    });
    const members: [string, string][] = [
      [owner, 'owner'],
      [uuid(), 'manager'],
      [uuid(), 'chatter'],
      [uuid(), 'chatter'],
      [uuid(), 'viewer'],
      ...chatters.map((user): [string, string] => [user, 'chatter']),
    ];
    for (const [userId, role] of members) {
      rows.memberships.push({
        account_id: id,
        user_id: userId,
        role,
        created_at: at(90 * DAY),
        updated_at: at(90 * DAY),
      });
    }
  }

  const fans: SeededFan[] = [];
  let fanNumber = 0;
  const addFan = (kind: SeededFan['kind'], accountId: string, noteCount: number, deletedShare: number) => {
    const fanRowId = uuid();
    const fanId = String(100000 + fanNumber++);
    const notes: SeededNote[] = [];
    for (let v = 1; v <= noteCount; v++) {
      const deleted = random() < deletedShare;
      const fromOnlyFans = kind === 'regular' && random() < 0.2;
      const content = text();
      const id = `note_${uuid()}`;
      notes.push({ id, version: v, deleted });
      rows.notes.push({
        id,
        fan_row_id: fanRowId,
        account_id: accountId,
        content,
        type: noteTypes[int(5)]!,
        color: random() < 0.3 ? ['#FF0000', '#00AFF0', '#FFD700', '#22AA55'][int(4)]! : null,
        is_pinned: random() < 0.1,
        source: fromOnlyFans ? 'onlyfans' : 'onlyautomator',
        only_fans_note_id: fromOnlyFans ? String(5000000 + rows.notes.length) : null,
        imported_content: fromOnlyFans ? content : null,
        conflict_of: null,
        version: v,
        content_version: v,
        content_client_id: null,
        created_at: at(60 * DAY - v * 60_000),
        updated_at: at(30 * DAY - v * 60_000),
        // Tombstones from the last day: inside the 30-day horizon, so deltas still report them.
        deleted_at: deleted ? at(int(DAY)) : null,
        created_by: chatters[int(chatters.length)]!,
        updated_by: chatters[int(chatters.length)]!,
      });
    }
    rows.fans.push({
      id: fanRowId,
      account_id: accountId,
      fan_id: fanId,
      username: `fan${fanId}`,
      name: null,
      version: noteCount,
      purged_through_version: 0,
      live_note_count: notes.filter((note) => !note.deleted).length,
      created_at: at(60 * DAY),
      updated_at: at(DAY),
    });
    fans.push({ fanId, accountId, version: noteCount, notes, kind });
  };

  for (let a = 0; a < size.accounts; a++) {
    for (let f = 0; f < size.fansPerAccount; f++) {
      addFan('regular', accountIds[a]!, int(size.maxNotesPerFan + 1), 0.1);
    }
  }
  for (let i = 0; i < size.push100Fans; i++) addFan('push100', accountIds[i % size.accounts]!, 100, 0);
  for (let i = 0; i < size.coldFans; i++) {
    addFan('cold', accountIds[i % size.accounts]!, size.coldNotes, 0);
  }

  return {
    seeded: {
      size,
      fans,
      chatters,
      noteCount: rows.notes.length,
      memberCount: rows.memberships.length,
    },
    rows,
  };
}

export interface SeedRows {
  accounts: Record<string, unknown>[];
  memberships: Record<string, unknown>[];
  fans: Record<string, unknown>[];
  notes: Record<string, unknown>[];
}

const COLUMNS: Record<keyof SeedRows, string> = {
  accounts: 'id uuid, only_fans_user_id text, username text, created_by uuid, created_at timestamptz',
  memberships: 'account_id uuid, user_id uuid, role text, created_at timestamptz, updated_at timestamptz',
  fans:
    'id uuid, account_id uuid, fan_id text, username text, name text, version bigint, ' +
    'purged_through_version bigint, live_note_count integer, created_at timestamptz, updated_at timestamptz',
  notes:
    'id text, fan_row_id uuid, account_id uuid, content text, type text, color text, is_pinned boolean, ' +
    'source text, only_fans_note_id text, imported_content text, conflict_of text, version bigint, ' +
    'content_version bigint, content_client_id uuid, created_at timestamptz, updated_at timestamptz, ' +
    'deleted_at timestamptz, created_by uuid, updated_by uuid',
};

/** Inserts the rows in batches, each one statement with the batch as one JSON parameter. */
export async function insertSeed(execute: Execute, rows: SeedRows): Promise<void> {
  for (const table of ['accounts', 'memberships', 'fans', 'notes'] as const) {
    const columns = COLUMNS[table];
    const names = columns
      .split(', ')
      .map((column) => column.split(' ')[0])
      .join(', ');
    const all = rows[table];
    for (let start = 0; start < all.length; start += 5000) {
      const batch = all.slice(start, start + 5000);
      await execute(
        `insert into ${table} (${names}) select ${names} from jsonb_to_recordset($1::text::jsonb) as x(${columns})`,
        [JSON.stringify(batch)],
      );
    }
  }
  // Start every run from the same state: statistics taken, the seed's dead tuples gone and its writes
  // checkpointed, so that no autovacuum or checkpoint of the seed itself lands in a measured run.
  await execute('vacuum analyze', []);
  await execute('checkpoint', []).catch(() => undefined); // needs pg_checkpoint or a superuser
}
