import { createHash } from 'node:crypto';
import {
  MAX_NOTES_PER_SYNC,
  type MutationResult,
  type Role,
  type SyncNotesData,
  type SyncNotesInput,
} from '@fannotes/contract';
import { syncClients, type Transaction } from '@fannotes/db';
import { afterFullSync, decodeCursor, planSync } from '@fannotes/sync-core';
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { pickResolvedFan, requireRight, resolveFan, type FanRow } from './authz.ts';
import type { FanWrite } from './fan-transaction.ts';
import { acquireLease, leaseBusy, newLease, releaseLease } from './lease.ts';
import { decideNoteChanges, type DecidedChanges } from './note-writes.ts';
import { isReset, pageFromRows, readNotes, type NotesPage } from './read-notes.ts';
import { closeFullSync, lockFanAndClient, resolveFanTakingLease } from './sync-statements.ts';

type Input = z.output<typeof SyncNotesInput>;

/**
 * POST /api/v2/sync-notes. In order: resolve and authorize the fan, ask sync-core for a plan
 * (throttled read or full sync), and for a full sync take the fan's lease, then in one short
 * transaction apply the client's mutations exactly once, merge the OnlyFans snapshot, bump the fan's
 * version once, record the client's last mutation id and read the delta; release the lease.
 *
 * Database round trips: a throttled read is two (resolve, read). A full sync is at most six whatever
 * the request carries (see sync-statements.ts): resolve and lease (one statement when the request has
 * changes, since its plan is then known to be a full sync), BEGIN, lock the fan and the client, load
 * the notes the changes touch (only with changes), one closing statement, COMMIT.
 */
export async function syncNotes(ctx: AuthedContext, input: Input): Promise<SyncNotesData> {
  const { db, throttle, leaseMs } = ctx.deps;
  const now = ctx.deps.now();
  const userId = ctx.user.userId;
  const mutations = input.mutations ?? [];
  const hasChanges = mutations.length > 0 || input.onlyFansNotes !== undefined;

  let resolved: { fan: FanRow; role: Role };
  let holder: string | undefined;
  if (hasChanges) {
    const lease = newLease(now, leaseMs);
    const found = await resolveFanTakingLease(db, userId, input, lease);
    resolved = pickResolvedFan(found.rows);
    requireRight(resolved.role, 'write');
    if (found.taken) holder = lease.holder;
  } else {
    resolved = await resolveFan(db, userId, input);
  }
  const { fan } = resolved;

  const plan = planSync({
    state: {
      lastFullSyncAt: fan.lastFullSyncAt?.getTime() ?? null,
      lastForcedSyncAt: fan.lastForcedSyncAt?.getTime() ?? null,
    },
    force: input.force,
    hasChanges,
    now: now.getTime(),
    policy: throttle,
  });
  const since = input.cursor === undefined ? null : decodeCursor(input.cursor);

  if (plan.action === 'reject') {
    throw new ApiError(
      'rate_limit_exceeded',
      'This fan was force-synchronised moments ago; try again shortly.',
      {
        retryAfterSeconds: plan.retryAfterMs / 1000,
        details: { nextSyncAt: new Date(plan.nextSyncAt).toISOString() },
      },
    );
  }
  if (plan.action === 'throttled') {
    const page = await readNotes(db, fan, since);
    return {
      synchronized: false,
      throttled: true,
      nextSyncAt: new Date(plan.nextSyncAt).toISOString(),
      ...page,
      noteCount: page.notes.length,
      timestamp: now.toISOString(),
      lastMutationId: null,
      results: [],
    };
  }

  if (hasChanges && holder === undefined) await leaseBusy(db, fan.id, now);
  holder ??= await acquireLease(db, fan.id, now, leaseMs);
  // The closing statement releases the lease, so it goes with the commit; released here otherwise.
  let committed = false;
  try {
    const { page, results, lastMutationId } = await db.transaction((tx) =>
      fullSync(ctx, tx, fan.id, input, { now, since, holder: holder, forced: input.force }),
    );
    committed = true;
    return {
      synchronized: true,
      throttled: false,
      nextSyncAt: new Date(plan.nextSyncAt).toISOString(),
      ...page,
      noteCount: page.notes.length,
      timestamp: now.toISOString(),
      lastMutationId,
      results,
    };
  } finally {
    if (!committed) {
      await releaseLease(db, fan.id, holder).catch((error: unknown) => {
        // The lease expires by itself; a failed release only delays the next full sync of this fan.
        ctx.log.warn({ err: error, fanRowId: fan.id }, 'could not release sync lease');
      });
    }
  }
}

/**
 * One full sync's transaction, holding the fan row's lock throughout: applies the client's mutations
 * exactly once (sync-core decides) and merges the OnlyFans snapshot; the client's last processed id
 * (rejected ones included, so a client can never wedge on one) is stored in this same transaction as
 * the effects; then purge, bump, release the lease and read the page, in one statement.
 */
async function fullSync(
  ctx: AuthedContext,
  tx: Transaction,
  fanRowId: string,
  input: Input,
  run: { now: Date; since: number | null; holder: string; forced: boolean },
): Promise<{ page: NotesPage; results: MutationResult[]; lastMutationId: number | null }> {
  const { now, since } = run;
  const userId = ctx.user.userId;
  const locked = await lockFanAndClient(
    tx,
    fanRowId,
    input.clientId === undefined ? undefined : { clientId: input.clientId, userId, now },
  );
  if (!locked) throw new ApiError('resource_not_found', 'Fan not found.');
  const client = locked.client === null ? await loadClient(tx, input.clientId!) : locked.client;
  if (client && client.userId !== userId) {
    throw new ApiError('permission_denied', 'This clientId belongs to another user.');
  }
  const write: FanWrite = {
    tx,
    fan: locked.fan,
    version: locked.fan.version + 1,
    touched: false,
    now,
    userId,
    clientId: input.clientId ?? null,
  };

  const mutations = client ? (input.mutations ?? []) : [];
  // A snapshot identical to the last one merged brings nothing new; merging it again could only undo
  // changes made since (a replayed request), so it is skipped.
  const digest = input.onlyFansNotes ? snapshotDigest(input.onlyFansNotes) : undefined;
  const snapshot =
    digest !== undefined && digest !== locked.fan.onlyFansSnapshotDigest ? input.onlyFansNotes : undefined;
  let results: MutationResult[] = [];
  let lastMutationId = client?.lastMutationId ?? null;
  let values: DecidedChanges['values'] = [];
  let recorded: { clientId: string; lastMutationId: number } | undefined;
  if (mutations.length > 0 || snapshot) {
    const decided = await decideNoteChanges(write, {
      mutations,
      lastMutationId: client?.lastMutationId ?? 0,
      ...(snapshot ? { onlyFansSnapshot: { notes: snapshot, complete: true } } : {}),
    });
    values = decided.values;
    results = decided.output.results;
    if (client) {
      lastMutationId = decided.output.lastMutationId;
      if (lastMutationId !== client.lastMutationId) recorded = { clientId: client.clientId, lastMutationId };
    }
  }

  const next = afterFullSync(
    {
      lastFullSyncAt: write.fan.lastFullSyncAt?.getTime() ?? null,
      lastForcedSyncAt: write.fan.lastForcedSyncAt?.getTime() ?? null,
    },
    { now: now.getTime(), forced: run.forced },
  );
  const version = write.touched ? write.version : write.fan.version;
  const reset = isReset({ version, purgedThroughVersion: write.fan.purgedThroughVersion }, since);
  const closed = await closeFullSync(tx, {
    fan: write.fan,
    now,
    values,
    version,
    touched: write.touched,
    horizon: new Date(now.getTime() - ctx.deps.tombstoneTtlMs),
    fanState: {
      lastFullSyncAt: next.lastFullSyncAt === null ? null : new Date(next.lastFullSyncAt),
      lastForcedSyncAt: next.lastForcedSyncAt === null ? null : new Date(next.lastForcedSyncAt),
      onlyFansSnapshotDigest: snapshot ? digest : undefined,
    },
    client: recorded,
    lease: run.holder,
    page: reset ? { reset: true } : { reset: false, since: since! },
    limit: MAX_NOTES_PER_SYNC,
  });
  const current = { ...write.fan, version, purgedThroughVersion: closed.purgedThroughVersion };
  // This sync's purge passed the client's cursor: it must now get the full set (rare: a client away
  // for longer than the tombstone horizon).
  const page =
    !reset && isReset(current, since)
      ? await readNotes(tx, current, since)
      : await pageFromRows(tx, current, reset, closed.rows);
  return { page, results, lastMutationId };
}

/** The client's row when the combined statement could not see it (its first insert raced another). */
async function loadClient(tx: Transaction, clientId: string) {
  const [client] = await tx
    .select()
    .from(syncClients)
    .where(eq(syncClients.clientId, clientId))
    .for('update');
  if (!client) throw new ApiError('internal_error', 'The sync client row vanished.');
  return client;
}

/** Order-sensitive on purpose: the merge reads a snapshot in order (the last entry of an id wins). */
function snapshotDigest(snapshot: readonly { onlyFansNoteId: string; content: string }[]): string {
  return createHash('sha256')
    .update(JSON.stringify(snapshot.map((note) => [note.onlyFansNoteId, note.content])))
    .digest('base64url');
}
