import type { MutationResult, SyncNotesData, SyncNotesInput } from '@fannotes/contract';
import { syncClients } from '@fannotes/db';
import { afterFullSync, decodeCursor, planSync } from '@fannotes/sync-core';
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireRight, resolveFan } from './authz.ts';
import { withFanWrite, type FanWrite } from './fan-transaction.ts';
import { acquireLease, releaseLease } from './lease.ts';
import { applyNoteChanges } from './note-writes.ts';
import { readNotes } from './read-notes.ts';
import { purgeTombstones } from './tombstones.ts';

type Input = z.output<typeof SyncNotesInput>;

/**
 * POST /api/v2/sync-notes. In order: resolve and authorize the fan, ask sync-core for a plan
 * (throttled read or full sync), and for a full sync take the fan's lease, then in one short
 * transaction apply the client's mutations exactly once, merge the OnlyFans snapshot, bump the fan's
 * version once, record the client's last mutation id and read the delta; release the lease.
 */
export async function syncNotes(ctx: AuthedContext, input: Input): Promise<SyncNotesData> {
  const { db, throttle, leaseMs } = ctx.deps;
  const now = ctx.deps.now();
  const { fan, role } = await resolveFan(db, ctx.user.userId, input);
  const mutations = input.mutations ?? [];
  const hasChanges = mutations.length > 0 || input.onlyFansNotes !== undefined;
  if (hasChanges) requireRight(role, 'write');

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

  const holder = await acquireLease(db, fan.id, now, leaseMs);
  try {
    const forced = input.force;
    let purgedThroughVersion = fan.purgedThroughVersion;
    const { page, results, lastMutationId } = await withFanWrite(
      db,
      fan.id,
      { userId: ctx.user.userId, clientId: input.clientId ?? null, now },
      async (write) => {
        const applied = await applySyncChanges(write, input);
        purgedThroughVersion = await purgeTombstones(write, ctx.deps.tombstoneTtlMs);
        const current = {
          ...write.fan,
          version: write.touched ? write.version : write.fan.version,
          purgedThroughVersion,
        };
        return { ...applied, page: await readNotes(write.tx, current, since) };
      },
      (write) => {
        const next = afterFullSync(
          {
            lastFullSyncAt: write.fan.lastFullSyncAt?.getTime() ?? null,
            lastForcedSyncAt: write.fan.lastForcedSyncAt?.getTime() ?? null,
          },
          { now: now.getTime(), forced },
        );
        return {
          purgedThroughVersion,
          lastFullSyncAt: next.lastFullSyncAt === null ? null : new Date(next.lastFullSyncAt),
          lastForcedSyncAt: next.lastForcedSyncAt === null ? null : new Date(next.lastForcedSyncAt),
        };
      },
    );
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
    await releaseLease(db, fan.id, holder).catch((error: unknown) => {
      // The lease expires by itself; a failed release only delays the next full sync of this fan.
      ctx.log.warn({ err: error, fanRowId: fan.id }, 'could not release sync lease');
    });
  }
}

/**
 * Applies the client's mutations exactly once (sync-core decides) and merges the OnlyFans snapshot;
 * the client's last processed id (rejected ones included, so a client can never wedge on one) is
 * stored in this same transaction as the effects.
 */
async function applySyncChanges(
  write: FanWrite,
  input: Input,
): Promise<{ results: MutationResult[]; lastMutationId: number | null }> {
  const client = input.clientId === undefined ? undefined : await loadClient(write, input.clientId);
  const mutations = client ? (input.mutations ?? []) : [];
  if (mutations.length === 0 && !input.onlyFansNotes) {
    return { results: [], lastMutationId: client?.lastMutationId ?? null };
  }
  const { output } = await applyNoteChanges(write, {
    mutations,
    lastMutationId: client?.lastMutationId ?? 0,
    ...(input.onlyFansNotes ? { onlyFansSnapshot: { notes: input.onlyFansNotes, complete: true } } : {}),
  });
  if (client && output.lastMutationId !== client.lastMutationId) {
    await write.tx
      .update(syncClients)
      .set({ lastMutationId: output.lastMutationId, updatedAt: write.now })
      .where(eq(syncClients.clientId, client.clientId));
  }
  return { results: output.results, lastMutationId: client ? output.lastMutationId : null };
}

async function loadClient(write: FanWrite, clientId: string) {
  await write.tx
    .insert(syncClients)
    .values({ clientId, userId: write.userId, createdAt: write.now, updatedAt: write.now })
    .onConflictDoNothing();
  const [client] = await write.tx
    .select()
    .from(syncClients)
    .where(eq(syncClients.clientId, clientId))
    .for('update');
  if (!client || client.userId !== write.userId) {
    throw new ApiError('permission_denied', 'This clientId belongs to another user.');
  }
  return client;
}
