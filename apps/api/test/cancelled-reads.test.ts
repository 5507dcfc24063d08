import { fans, type DatabaseHandle } from '@fannotes/db';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { API_APPLICATION, openAdmin, rows } from '../hardening/lib/database.ts';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// Issue #13, item 2: with one pooled connection (DB_POOL_MAX=1), a sync cancelled while its notes were
// arriving made the next request on that connection, another tenant's sync of its own fan, answer 404
// (the driver's row counter outlived the failure and shifted the next result; see docs/SECURITY.md).
// Real PostgreSQL only: the cancel is pg_cancel_backend from a second connection.

const serverUrl = process.env.DATABASE_URL;
const TRIES = 100;
/** Tenant A's fan: a page of 4,000 notes of 1,500 characters (6 MB), whose rows stream for milliseconds. */
const HUGE_FAN_NOTES = 4000;
const NOTE_TEXT = 1500;

interface Answer {
  status: number;
  body: { status: string; data?: { notes: { id: string; content: string }[] }; error?: { code: string } };
}

describe.skipIf(!serverUrl)('a sync cancelled mid-read on a one-connection pool', () => {
  let app: TestApp;
  let base: string;
  let admin: DatabaseHandle;
  let tenantA: Awaited<ReturnType<typeof seedAccount>>;
  let tenantB: Awaited<ReturnType<typeof seedAccount>>;
  let notesOfB: { id: string; content: string }[];

  beforeAll(async () => {
    app = await createTestApp({ maxConnections: 1 });
    base = await app.listen();
    admin = await openAdmin(app.database.url!, 1);
    tenantA = await seedAccount(app, '1001');
    tenantB = await seedAccount(app, '2002');
    // The fixture, not the subject: A's notes written directly, one version each.
    await admin.db
      .execute(sql`insert into notes (id, fan_row_id, account_id, content, version, content_version, created_at, updated_at)
      select 'note_' || gen_random_uuid(), ${tenantA.fan.id}, ${tenantA.account.id},
        left(repeat(md5(g::text), ${Math.ceil(NOTE_TEXT / 32)}), ${NOTE_TEXT}), g, g, now(), now()
      from generate_series(1, ${HUGE_FAN_NOTES}::int) g`);
    // As autovacuum would after such an insert. Without statistics the read's generic plan sorts the
    // whole fan before its first row, and a cancel would land before the rows rather than among them.
    await admin.db.execute(sql`analyze notes`);
    // Cancels the backend `target` `offset` ms after it starts reading notes, waiting on the server: the
    // test's own event loop is busy with the very rows being read, so a client-side wait would land late.
    await admin.db.execute(sql`create function cancel_when_reading(target int, offset_ms int) returns boolean
      language plpgsql as $$
      declare
        deadline timestamptz := clock_timestamp() + interval '5 seconds';
      begin
        loop
          perform pg_stat_clear_snapshot();
          if exists (select from pg_stat_activity
                     where pid = target and state = 'active' and query like '%from "notes" n%') then
            perform pg_sleep(offset_ms / 1000.0);
            perform pg_stat_clear_snapshot();
            return (select pg_cancel_backend(pid) from pg_stat_activity where pid = target and state = 'active');
          end if;
          exit when clock_timestamp() > deadline;
        end loop;
        return false;
      end $$`);
    await app.database.db.update(fans).set({ version: HUGE_FAN_NOTES }).where(eq(fans.id, tenantA.fan.id));
    const ownerB = await app.caller(tenantB.users.owner);
    for (const content of ['Likes fitness content.', 'Tips on Fridays', 'VIP since 2024']) {
      await ownerB.notes.update({ fanId: '2002', content });
    }
    const first = await sync(tenantB.users.chatter, '2002');
    expect(first.status).toBe(200);
    notesOfB = noteTexts(first);
    expect(notesOfB.map((note) => note.content).sort()).toEqual([
      'Likes fitness content.',
      'Tips on Fridays',
      'VIP since 2024',
    ]);
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await app?.close();
  });

  async function sync(userId: string, fanId: string): Promise<Answer> {
    const response = await fetch(`${base}/api/v2/sync-notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await app.token(userId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fanId }),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  function noteTexts(answer: Answer) {
    return (answer.body.data?.notes ?? []).map(({ id, content }) => ({ id, content }));
  }

  test('a sync cancelled mid-read answers 503, and another tenant syncing next on that connection gets exactly its own notes', async () => {
    const wrongForB: { attempt: number; status: number; got: unknown }[] = [];
    const wrongForA: { attempt: number; status: number; body: unknown }[] = [];
    let cancelled = 0;
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const [backend] = await rows<{ pid: number }>(
        admin.db,
        sql`select pid from pg_stat_activity
          where datname = current_database() and application_name = ${API_APPLICATION}`,
      );
      const syncOfA = sync(tenantA.users.chatter, '1001');
      await admin.db.execute(sql`select cancel_when_reading(${backend!.pid}, ${attempt % 5})`);
      const a = await syncOfA;
      if (a.status === 503 && a.body.error?.code === 'service_unavailable') cancelled++;
      else if (a.status !== 200) wrongForA.push({ attempt, status: a.status, body: a.body });
      const b = await sync(tenantB.users.chatter, '2002');
      const got = b.status === 200 ? noteTexts(b) : b.body;
      if (b.status !== 200 || JSON.stringify(got) !== JSON.stringify(notesOfB)) {
        wrongForB.push({ attempt, status: b.status, got });
      }
    }
    expect(wrongForA).toEqual([]);
    expect(wrongForB, `${wrongForB.length} of ${TRIES} syncs of B went wrong`).toEqual([]);
    // The cancels must really have hit A's requests, or this proves nothing.
    expect(cancelled, `${cancelled} of ${TRIES} syncs of A cancelled`).toBeGreaterThan(TRIES / 2);
  }, 180_000);
});
