import { createHash } from 'node:crypto';
import {
  MAX_NOTES_PER_SYNC,
  type FanChange,
  type MutationResult,
  type SyncNotesData,
  type SyncNotesInput,
} from '@fannotes/contract';
import {
  pipelinedTransaction,
  syncClients,
  type Database,
  type LastStatement,
  type Transaction,
} from '@fannotes/db';
import {
  afterFullSync,
  decodeCursorPosition,
  planSync,
  sequenceMutations,
  type CursorPosition,
} from '@fannotes/sync-core';
import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { fanNotFound, pickResolvedFan, requireRight, type FanRow } from './authz.ts';
import type { FanWrite } from './fan-transaction.ts';
import { syncInProgress } from './lease.ts';
import { SyncHints } from './sync-hints.ts';
import { decideNoteChanges, scopeNoteIds, type DecidedChanges } from './note-writes.ts';
import { isReset, pageFromRows, readNotes, type NotesPage } from './read-notes.ts';
import { executeRows } from './raw-sql.ts';
import type { PageRow } from './serialize.ts';
import {
  closedFromRows,
  closeFullSync,
  loadRejections,
  type CloseInput,
  lockForPush,
  readOrPlan,
  recordRejections,
  refreshFan,
  type Refreshed,
} from './sync-statements.ts';

type Input = z.output<typeof SyncNotesInput>;

/** This process's hints of which fans are throttled now, to pick the statement of a read (sync-hints.ts). */
const syncHints = new SyncHints();

/**
 * POST /api/v2/sync-notes. A request with changes (mutations or an OnlyFans snapshot) is always a full
 * sync: in one short transaction it resolves and authorizes the fan, takes the fan's lease and locks it,
 * applies the client's mutations exactly once, merges the OnlyFans snapshot, bumps the fan's version
 * once, records the client's last mutation id and reads the delta. A request without changes resolves
 * and authorizes the fan and reads the page in one statement, which also runs the full sync when the
 * fan is due (not throttled) and the sync is not forced; sync-core makes the plan from the fan row it
 * returned, and a forced sync runs its full sync in one more statement.
 *
 * Database round trips (sync-statements.ts): a throttled read (a delta pull included) and a full sync
 * without changes are one, the statement that resolves the fan, decides the throttle, runs the sync
 * if due and reads the page (readOrPlan); a forced full sync is two (that statement, then
 * refreshFan); a push is two whatever it carries: the statement that locks the fan and reads the
 * notes the changes touch, with BEGIN sent ahead of it, and the closing statement, with COMMIT sent
 * behind it (pipelinedTransaction). The fan's poke to every API process leaves after the answer, with
 * the other pokes of its 5 ms in one statement (packages/db/src/notify.ts).
 */
export async function syncNotes(ctx: AuthedContext, input: Input): Promise<SyncNotesData> {
  const now = ctx.deps.now();
  const since = input.cursor === undefined ? null : decodeCursorPosition(input.cursor);
  const hasChanges = (input.mutations ?? []).length > 0 || input.onlyFansNotes !== undefined;
  if (hasChanges) {
    try {
      const pushed = await pipelinedTransaction(ctx.deps.db, (tx) => push(ctx, tx, input, now, since));
      // Committed: every API process hears of it within milliseconds (notify.ts batches the pokes).
      if (pushed.poke) void ctx.deps.pokes.announce([pushed.poke]);
      // A push is a full sync: a read of the fan within the interval will be throttled.
      syncHints.saw(ctx.user.userId, pushed.fan, now, now.getTime());
      const page = await pageAfterClose(ctx.deps.db, pushed.fan, pushed.reset, since, pushed.rows);
      return answer({ ...pushed.answer, page });
    } catch (error) {
      if (error instanceof FanRefused) throw await refusal(ctx, input, now, error.error);
      throw error;
    }
  }

  const likelyThrottled = syncHints.likelyThrottled(
    ctx.user.userId,
    input,
    now.getTime(),
    ctx.deps.throttle.minIntervalMs,
  );
  const read = await readOrPlan(ctx.deps.db, {
    userId: ctx.user.userId,
    target: input,
    clientId: input.clientId,
    force: input.force,
    now,
    minIntervalMs: ctx.deps.throttle.minIntervalMs,
    since,
    limit: MAX_NOTES_PER_SYNC,
    refresh: likelyThrottled ? undefined : { horizon: new Date(now.getTime() - ctx.deps.tombstoneTtlMs) },
  });
  const { fan } = pickResolvedFan(read.rows);
  const plan = planFor(ctx, fan, input, now, false);
  syncHints.saw(ctx.user.userId, fan, plan.action === 'throttled' ? fan.lastFullSyncAt : now, now.getTime());
  // The statement ran the due sync itself (the plan is sync-core's full sync: it decides as planSync).
  if (read.refreshed) {
    const refreshed =
      read.refreshed.outcome === 'foreign-client'
        ? read.refreshed
        : { ...read.refreshed, rows: read.pageRows };
    return refresh(ctx, fan, input, now, since, plan, { ...refreshed, lastMutationId: read.lastMutationId });
  }
  if (plan.action === 'throttled') {
    // The statement read the page exactly when sync-core throttles: it decides as planSync does.
    const page = read.read
      ? pageFromRows(fan, isReset(fan, since), read.pageRows)
      : await readNotes(ctx.deps.db, fan, since);
    return answer({
      synchronized: false,
      now,
      nextSyncAt: plan.nextSyncAt,
      page,
      lastMutationId: read.lastMutationId,
    });
  }
  return refresh(ctx, fan, input, now, since, plan);
}

/** sync-core's throttle decision for this fan now; a forced sync too soon is refused here (429). */
function planFor(ctx: AuthedContext, fan: FanRow, input: Input, now: Date, hasChanges: boolean) {
  const plan = planSync({
    state: syncState(fan),
    force: input.force,
    hasChanges,
    now: now.getTime(),
    policy: ctx.deps.throttle,
  });
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
  return plan;
}

/**
 * A full sync without changes: one statement (refreshFan, or readOrPlan's), which takes the lease for its duration and
 * goes ahead only if the fan's sync stamps are still those `plan` was made from. If another full sync
 * changed them in between, the plan is made again from the latest stamps: a forced sync is then
 * refused by the force floor (429), a due one becomes a throttled read of the notes the statement read.
 * A plain reader that meets another full sync's lease is answered from the stored notes too; a forced
 * sync gets 409. A due sync that is not forced was run by readOrPlan's statement already: `first` is
 * how that went, and is the first round.
 */
async function refresh(
  ctx: AuthedContext,
  fan: FanRow,
  input: Input,
  now: Date,
  since: CursorPosition | null,
  plan: { nextSyncAt: number },
  first?: Refreshed & { lastMutationId: number | null },
): Promise<SyncNotesData> {
  const reset = isReset(fan, since);
  let stamps = { lastFullSyncAt: fan.lastFullSyncAt, lastForcedSyncAt: fan.lastForcedSyncAt };
  let nextSyncAt = plan.nextSyncAt;
  // Each round either syncs, or finds stamps another sync wrote since the last round: a fan is fully
  // synced at most once per interval, so a second stale round means a policy with no interval.
  for (let round = 0; ; round++) {
    const refreshed =
      round === 0 && first
        ? first
        : await refreshFan(ctx.deps.db, {
            fan,
            userId: ctx.user.userId,
            clientId: input.clientId,
            now,
            horizon: new Date(now.getTime() - ctx.deps.tombstoneTtlMs),
            plannedFrom: stamps,
            fanState: stampsAfter(stamps, now, input.force),
            page: reset ? { reset: true } : { reset: false, since: since! },
            readWhenBusy: !input.force,
            limit: MAX_NOTES_PER_SYNC,
          });
    if (refreshed.outcome === 'foreign-client') throw foreignClient();
    if (refreshed.outcome === 'busy' && input.force) throw syncInProgress();
    const lastMutationId =
      round === 0 && first
        ? first.lastMutationId
        : input.clientId === undefined
          ? null
          : (refreshed.client?.lastMutationId ?? 0);
    const stored = async (synchronized: boolean) => {
      const current = {
        ...fan,
        version: refreshed.version,
        purgedThroughVersion: refreshed.purgedThroughVersion,
      };
      const page = await pageAfterClose(ctx.deps.db, current, reset, since, refreshed.rows);
      return answer({ synchronized, now, nextSyncAt, page, lastMutationId });
    };
    if (refreshed.outcome === 'synced') return stored(true);
    // Another full sync of this fan is running: it reads what this one would have.
    if (refreshed.outcome === 'busy') return stored(false);
    stamps = refreshed.latest!;
    const replanned = planFor(ctx, { ...fan, ...stamps }, input, now, false);
    nextSyncAt = replanned.nextSyncAt;
    if (replanned.action === 'throttled') return stored(false);
    // Still contended after three rounds (only with no interval at all): a plain reader is answered
    // from the stored notes; a forced sync is never answered unsynchronized, it is told to retry.
    if (round >= 2) {
      if (input.force) throw syncInProgress();
      return stored(false);
    }
  }
}

/** What a committed push answers, but its page (made after the commit: pageAfterClose). */
interface Pushed {
  fan: FanRow;
  reset: boolean;
  rows: PageRow[];
  answer: Omit<Parameters<typeof answer>[0], 'page'>;
  poke: FanChange | undefined;
}

/**
 * A push, in its transaction: the fan row and the client's row are locked first; the client's last
 * processed id (rejected mutations included, so a client can never wedge on one) is stored in this same
 * transaction as the effects; then purge, bump and read the page, in one statement, which is returned
 * unsent: pipelinedTransaction sends it with the COMMIT.
 */
async function push(
  ctx: AuthedContext,
  tx: Transaction,
  input: Input,
  now: Date,
  since: CursorPosition | null,
): Promise<LastStatement<Pushed>> {
  const userId = ctx.user.userId;
  // The notes the changes can touch are read by the same statement (a superset: the client and the
  // snapshot are checked after the lock; decideNoteChanges keeps what it needs).
  const mutationIds =
    input.clientId === undefined ? [] : (input.mutations ?? []).map((mutation) => mutation.id);
  const locked = await lockForPush(
    tx,
    userId,
    input,
    input.clientId === undefined ? undefined : { clientId: input.clientId, now, mutationIds },
    {
      noteIds: input.clientId === undefined ? [] : scopeNoteIds(input.mutations ?? []),
      onlyFans: input.onlyFansNotes !== undefined,
    },
  );
  try {
    requireRight(pickResolvedFan(locked.rows).role, 'write');
  } catch (error) {
    throw new FanRefused(error as ApiError);
  }
  if (!locked.leased) throw syncInProgress();
  // The fan was deleted (its account closed) between finding it and locking it.
  if (!locked.fan) throw new FanRefused(fanNotFound());
  const plan = planFor(ctx, locked.fan, input, now, true);
  const client = locked.client === null ? await loadClient(tx, input.clientId!) : locked.client;
  if (client && client.userId !== userId) throw foreignClient();
  const earlierRejections =
    client && locked.rejections === null
      ? await loadRejections(tx, client.clientId, mutationIds)
      : (locked.rejections ?? undefined);
  const write: FanWrite = {
    tx,
    fan: locked.fan,
    version: locked.fan.version + 1,
    touched: false,
    liveDelta: 0,
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
  let recorded: CloseInput['client'];
  let snapshotMerged = false;
  if (mutations.length > 0 || snapshot) {
    const decided = await decideNoteChanges(
      write,
      {
        mutations,
        lastMutationId: client?.lastMutationId ?? 0,
        earlierRejections,
        ...(snapshot ? { onlyFansSnapshot: { notes: snapshot, complete: true } } : {}),
      },
      locked.scope ?? undefined,
    );
    values = decided.values;
    results = decided.output.results;
    // A snapshot merged only in part (the fan at its cap of live notes) is merged again next time.
    snapshotMerged = snapshot !== undefined && decided.output.skipped === 0;
    if (client) {
      lastMutationId = decided.output.lastMutationId;
      const rejections = results.flatMap((result) =>
        result.status === 'rejected' ? [{ id: result.id, reason: result.reason }] : [],
      );
      if (lastMutationId !== client.lastMutationId) {
        recorded = { clientId: client.clientId, lastMutationId, rejections };
      }
    }
  }

  const version = write.touched ? write.version : write.fan.version;
  const reset = isReset({ version, purgedThroughVersion: write.fan.purgedThroughVersion }, since);
  const last = closeFullSync(tx, {
    fan: write.fan,
    now,
    values,
    version,
    touched: write.touched,
    liveDelta: write.liveDelta,
    horizon: new Date(now.getTime() - ctx.deps.tombstoneTtlMs),
    fanState: {
      ...stampsAfter(write.fan, now, input.force),
      onlyFansSnapshotDigest: snapshotMerged ? digest : undefined,
    },
    client: recorded,
    page: reset ? { reset: true } : { reset: false, since: since! },
    limit: MAX_NOTES_PER_SYNC,
  });
  // A changed fan is poked; so is one whose push was a resend (duplicates): the first answer, and with
  // it perhaps the poke, may have been lost.
  const resent = results.some((result) => result.status === 'duplicate');
  const poke =
    write.touched || resent ? { accountId: write.fan.accountId, fanId: write.fan.fanId, version } : undefined;
  return {
    last,
    finish: (rows) => {
      const closed = closedFromRows(write.fan, rows);
      return {
        fan: { ...write.fan, version, purgedThroughVersion: closed.purgedThroughVersion },
        reset,
        rows: closed.rows,
        answer: { synchronized: true, now, nextSyncAt: plan.nextSyncAt, lastMutationId, results },
        poke,
      };
    },
  };
}

/**
 * The page of a full sync from the rows its closing statement read. If that statement's purge passed
 * the client's cursor, the client must now get the full set instead (rare: a client away for longer
 * than the tombstone horizon), read after the sync (readNotes: what committed since may come early).
 */
function pageAfterClose(
  db: Database | Transaction,
  fan: FanRow,
  reset: boolean,
  since: CursorPosition | null,
  rows: PageRow[],
): Promise<NotesPage> {
  return !reset && isReset(fan, since)
    ? readNotes(db, fan, since)
    : Promise.resolve(pageFromRows(fan, reset, rows));
}

function syncState(fan: Pick<FanRow, 'lastFullSyncAt' | 'lastForcedSyncAt'>) {
  return {
    lastFullSyncAt: fan.lastFullSyncAt?.getTime() ?? null,
    lastForcedSyncAt: fan.lastForcedSyncAt?.getTime() ?? null,
  };
}

/** The fan's sync stamps once this full sync has succeeded (sync-core's afterFullSync). */
function stampsAfter(fan: Pick<FanRow, 'lastFullSyncAt' | 'lastForcedSyncAt'>, now: Date, forced: boolean) {
  const next = afterFullSync(syncState(fan), { now: now.getTime(), forced });
  return {
    lastFullSyncAt: next.lastFullSyncAt === null ? null : new Date(next.lastFullSyncAt),
    lastForcedSyncAt: next.lastForcedSyncAt === null ? null : new Date(next.lastForcedSyncAt),
  };
}

function answer(input: {
  synchronized: boolean;
  now: Date;
  nextSyncAt: number;
  page: NotesPage;
  lastMutationId: number | null;
  results?: MutationResult[];
}): SyncNotesData {
  return {
    synchronized: input.synchronized,
    throttled: !input.synchronized,
    nextSyncAt: new Date(input.nextSyncAt).toISOString(),
    ...input.page,
    noteCount: input.page.notes.length,
    timestamp: input.now.toISOString(),
    lastMutationId: input.lastMutationId,
    results: input.results ?? [],
  };
}

const foreignClient = () => new ApiError('permission_denied', 'This clientId belongs to another user.');

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

/**
 * A push refused for its fan, whatever it carries: the caller cannot write to it (a viewer), it is
 * not theirs or no longer exists (404), or it is ambiguous (400). Retrying cannot help, so the
 * client's mutations must not wait for it (DESIGN.md: a client never wedges).
 */
class FanRefused extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

/**
 * The answer to a push refused for its fan. Its mutations are recorded as processed for the client (a
 * transaction of its own: the push's rolled back), exactly as rejected mutations are: mutation ids are
 * one sequence per client across all fans, so otherwise the client's edits of every other fan would
 * wait behind these for ever. The refusal says which ids it refused (`refusedMutationIds`) and the
 * client's `lastMutationId`, so the client takes them out of its outbox and shows them to their author
 * as not saved; the code and message are those of the refusal itself, and nothing in it is about
 * the fan beyond what the refusal already says (its own ids are the client's).
 */
async function refusal(ctx: AuthedContext, input: Input, now: Date, error: ApiError): Promise<ApiError> {
  const mutations = input.mutations ?? [];
  if (input.clientId === undefined || mutations.length === 0) return error;
  const clientId = input.clientId;
  const recorded = await ctx.deps.db.transaction(async (tx) => {
    const [client] = await tx
      .select()
      .from(syncClients)
      .where(eq(syncClients.clientId, clientId))
      .for('update');
    if (client && client.userId !== ctx.user.userId) return null;
    const last = client?.lastMutationId ?? 0;
    const sequenced = sequenceMutations(last, mutations);
    const refused = sequenced.toProcess.flatMap((step) =>
      step.action === 'apply' ? [step.mutation.id] : [],
    );
    // Sent again after an answer that was lost: refused (or rejected) the first time, still not saved.
    const again = sequenced.toProcess.flatMap((step) =>
      step.action === 'duplicate' ? [step.mutation.id] : [],
    );
    const earlier = client && again.length > 0 ? await loadRejections(tx, clientId, again) : new Map();
    if (refused.length > 0) {
      await tx
        .insert(syncClients)
        .values({
          clientId,
          userId: ctx.user.userId,
          lastMutationId: sequenced.lastMutationId,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: syncClients.clientId,
          set: { lastMutationId: sequenced.lastMutationId, updatedAt: now },
        });
      const rejections = refused.map((id) => ({ id, reason: error.message }));
      const record = recordRejections(
        { clientId, rejections: JSON.stringify(rejections) },
        now.toISOString(),
      );
      await executeRows(tx, sql`with ${record} select 1`);
    }
    return {
      lastMutationId: sequenced.lastMutationId,
      refusedMutationIds: [...again.filter((id) => earlier.has(id)), ...refused].sort((a, b) => a - b),
    };
  });
  // Another user's client id: nothing was recorded, and the refusal is about that first.
  if (!recorded) return foreignClient();
  return new ApiError(error.apiCode, error.message, {
    details: { ...error.details, ...recorded },
    ...(error.httpStatus === 413 || error.httpStatus === 415 ? { status: error.httpStatus } : {}),
  });
}
