import { accounts, fans, memberships, type Database } from '@fannotes/db';
import { and, eq } from 'drizzle-orm';
import { withFanWrite } from '../services/fan-transaction.ts';
import { applyNoteChanges } from '../services/note-writes.ts';

/** The demo account's owner in development mode; the start banner's token is for this user. */
export const DEMO_OWNER_ID = '11111111-1111-4111-8111-111111111111';
export const DEMO_FAN_ID = '12345';
const DEMO_ACCOUNT = { onlyFansUserId: '100000001', username: 'demo_creator' };

/**
 * On the first start in development mode: a demo account owned by DEMO_OWNER_ID, with fan 12345 and
 * a few notes, so the banner's curl returns something real. Later starts leave the data alone.
 */
export async function seedDemo(db: Database, now: Date): Promise<void> {
  const [existing] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(
      and(eq(accounts.onlyFansUserId, DEMO_ACCOUNT.onlyFansUserId), eq(accounts.createdBy, DEMO_OWNER_ID)),
    );
  if (existing) return;
  const [account] = await db
    .insert(accounts)
    .values({ ...DEMO_ACCOUNT, createdBy: DEMO_OWNER_ID, createdAt: now })
    .returning();
  await db
    .insert(memberships)
    .values({ accountId: account!.id, userId: DEMO_OWNER_ID, role: 'owner', createdAt: now, updatedAt: now });
  const [fan] = await db
    .insert(fans)
    .values({
      accountId: account!.id,
      fanId: DEMO_FAN_ID,
      username: 'u12345',
      name: 'Sam',
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await withFanWrite({ db }, fan!.id, { userId: DEMO_OWNER_ID, clientId: null, now }, (write) =>
    applyNoteChanges(write, {
      lastMutationId: 0,
      mutations: demoNotes.map((note, index) => ({
        id: index + 1,
        op: 'upsert' as const,
        noteId: `note_00000000-0000-4000-8000-00000000000${index + 1}`,
        baseVersion: 0,
        note,
      })),
      onlyFansSnapshot: {
        notes: [{ onlyFansNoteId: DEMO_FAN_ID, content: 'VIP. Prefers evenings.' }],
        complete: true,
      },
    }),
  );
}

const demoNotes = [
  {
    content: 'Subscriber likes fitness content and usually tips on workout videos.',
    type: 'preferences',
    isPinned: true,
  },
  {
    content: 'Birthday 14 May: send a discounted bundle the week before.',
    type: 'personal',
    color: '#00AFF0',
  },
  { content: 'Bought the March PPV set; asks for custom videos now and then.', type: 'payment' },
] as const;
