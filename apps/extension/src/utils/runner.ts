import type { Account, Mutation, SyncNotesData, SyncNotesInput } from '@fannotes/contract';
import { planSync, type ThrottlePolicy } from '@fannotes/sync-core';
import { ACCOUNT_CHOICE, askMessage, chooseAccount } from './account-choice.ts';
import { classifyFailure, type ApiFailure, type SyncApi } from './api-client.ts';
import { applySyncData, pendingSnapshot } from './apply-sync.ts';
import { retryDelay } from './backoff.ts';
import {
  KEYS,
  type ClientState,
  type FanView,
  type OnlyFansCreator,
  type RetryState,
  type SyncStatus,
} from './model.ts';
import { nextBatch, type Outbox } from './outbox.ts';
import type { Store } from './store.ts';
import { readView, updateView } from './views.ts';

/** The signed-in user; when signed out, `userId` is who was signed in last (an expired token still says). */
export type Session =
  { ok: true; token: string; userId: string } | { ok: false; message: string; userId: string | null };

export interface RunnerDeps {
  store: Store;
  outbox: Outbox;
  /** The signed-in user, read fresh on every run (cookies and settings change under us). */
  session: () => Promise<Session>;
  /** The API client for this run's token. */
  api: (token: string) => Promise<SyncApi>;
  /** Every view key in storage (to forget another user's notes). */
  viewKeys: () => Promise<string[]>;
  /** Wake the runner at this epoch ms even if the worker was stopped (an alarm, plus a timer). */
  schedule: (at: number) => void;
  now: () => number;
  random: () => number;
  policy: ThrottlePolicy;
}

type Outcome = 'ok' | 'skip' | 'stop';

/**
 * Runs syncs, one at a time, for the whole extension. A run first serves the fans the panel asked
 * about (pulls, planned by sync-core's throttle policy, the very code the API enforces), then drains
 * the outbox from its head, a fan's run of mutations per request, until it is empty.
 *
 *   run ─ session? ─no──> status signed-out (wait for a cookie or settings change)
 *          │yes
 *          ├─ backoff not over ──> sleep until it is (user actions skip a network backoff)
 *          └─ for each wanted fan, then each outbox head: sync
 *                ok ──> acknowledge (rejected ones to unsaved), read on while `more`, next
 *                push refused, recorded (400/403/404 + refusedMutationIds) ──> unsaved, next
 *                404 ──> register the fan; ok: refused ones back at the head, retry once
 *                        refused: unsaved (a push) or error on that fan (a pull), next
 *                offline/409/429/5xx ──> backoff, stop
 *                401 ──> signed-out, stop (outbox kept)
 *                400/403 not recorded (a pull; a push of a foreign client id) ──> error, stop if a push
 *
 * A push the server refused for its fan is recorded by the server as processed, so it never holds
 * the outbox: mutation ids are one sequence per client, and other fans' edits go on in the same run.
 * Everything needed to resume is in storage (outbox, unsaved list, counter, backoff), so the worker
 * may be stopped at any point: the next alarm, message or start picks up where storage says.
 */
export class SyncRunner {
  /** Fans to pull in this run, with whether the user forced it. */
  private readonly wanted = new Map<string, boolean>();
  /** Forced refreshes refused by the force floor, to run when it allows. */
  private readonly deferred = new Map<string, number>();
  private running: Promise<void> | null = null;
  /** Why a fan was refused (400, 403, 404) in the current run: the run ends in that error. */
  private refusal: string | null = null;
  private again = false;
  private againByUser = false;

  constructor(private readonly deps: RunnerDeps) {}

  /** Pull a fan (the panel opened it, or the user pressed refresh: `force`), then drain the outbox. */
  request(fanId: string, force = false): Promise<void> {
    this.wanted.set(fanId, (this.wanted.get(fanId) ?? false) || force);
    return this.pump(true);
  }

  /**
   * Start a run, or ask the one in progress to go round again. `byUser`: a person is waiting (an edit,
   * an open panel), which skips a backoff after a network failure but never a wait the server asked for.
   */
  pump(byUser = false): Promise<void> {
    if (this.running) {
      this.again = true;
      this.againByUser ||= byUser;
      return this.running;
    }
    const loop = async () => {
      let user = byUser;
      try {
        do {
          this.again = false;
          await this.run(user);
          user = this.againByUser;
          this.againByUser = false;
        } while (this.again);
      } finally {
        this.running = null;
      }
    };
    this.running = loop();
    return this.running;
  }

  private async run(byUser: boolean): Promise<void> {
    const { store, outbox, now } = this.deps;
    for (const [fanId, at] of this.deferred) {
      if (at <= now()) {
        this.deferred.delete(fanId);
        this.wanted.set(fanId, true);
      }
    }
    const retry = await store.get<RetryState>(KEYS.retry);
    if (retry && now() < retry.notBefore && (retry.serverAsked || !byUser)) {
      this.deps.schedule(retry.notBefore);
      return;
    }
    const session = await this.deps.session();
    if (!session.ok) {
      await this.setStatus({ state: 'signed-out', message: session.message, retryAt: null });
      return;
    }
    const previous = await store.get<ClientState>(KEYS.client);
    const client = await outbox.client(session.userId);
    if (previous && previous.userId !== session.userId) await this.forgetViews();
    const api = await this.deps.api(session.token);

    this.refusal = null;
    for (;;) {
      const batch = nextBatch(await outbox.entries());
      const [requested] = this.wanted.keys();
      const fanId = requested ?? batch?.fanId;
      if (fanId === undefined) break;
      const force = this.wanted.get(fanId) ?? false;
      this.wanted.delete(fanId);
      const mutations = batch?.fanId === fanId ? batch.mutations : [];
      const outcome = await this.syncFan(api, client, fanId, mutations, force);
      if (outcome === 'stop') return;
      // A refusal the server did not record (a foreign client id, an older server) leaves the head
      // where it is, and ids are one sequence: sending what is behind it would only meet the gap.
      if (outcome === 'skip' && mutations.length > 0) return;
      if (mutations.length > 0 && nextBatch(await outbox.entries())?.mutations[0]?.id === mutations[0]?.id) {
        // The server answered without processing our head (it reports a lower lastMutationId): sending
        // the same batch again would loop. Nothing is lost; the user sees why nothing moves.
        await this.setStatus({
          state: 'error',
          message: 'The API did not take the pending changes; they are kept.',
          retryAt: null,
        });
        return;
      }
    }
    await store.remove(KEYS.retry);
    const next = [...this.deferred.values()].sort((a, b) => a - b)[0];
    if (next !== undefined) this.deps.schedule(next);
    // A fan refused this run keeps its error status (and its view says why) until a run goes through.
    await this.setStatus(
      this.refusal === null
        ? { state: 'idle', message: null, retryAt: null }
        : { state: 'error', message: this.refusal, retryAt: null },
    );
  }

  private async syncFan(
    api: SyncApi,
    client: ClientState,
    fanId: string,
    mutations: Mutation[],
    force: boolean,
    registered = false,
  ): Promise<Outcome> {
    const { now } = this.deps;
    let view = await readView(this.deps.store, fanId);
    const snapshot = pendingSnapshot(view);
    const plan = planSync({
      state: view.sync,
      force,
      hasChanges: mutations.length > 0 || snapshot !== null,
      now: now(),
      policy: this.deps.policy,
    });
    // Throttled: no full sync, but the API is still asked for the stored notes (a cheap read), so
    // teammates' changes always show. The throttle governs reading OnlyFans and full syncs only.
    if (plan.action === 'reject') {
      this.deferred.set(fanId, plan.nextSyncAt);
      return 'ok';
    }

    const accountId = view.accountId ?? (await this.cachedAccountId());
    const input: SyncNotesInput = {
      fanId,
      force,
      clientId: client.clientId,
      ...(accountId ? { accountId } : {}),
      ...(view.cursor ? { cursor: view.cursor } : {}),
      ...(mutations.length ? { mutations } : {}),
      ...(snapshot ? { onlyFansNotes: snapshot.notes } : {}),
    };
    let data: SyncNotesData;
    // A plain read (a teammate's poke, the fallback poll) does not flash "Syncing…": its outcome
    // sets the status. Sending changes or a forced sync does.
    if (mutations.length > 0 || snapshot || force) {
      await this.setStatus({ state: 'syncing', message: null, retryAt: null });
    }
    try {
      data = await api.sync(input);
    } catch (error) {
      let failure = classifyFailure(error, now());
      const { refusal } = failure;
      // The fan is in several of the user's accounts (one creator, several agencies; or fans shared by
      // two creators) and none was named: find the creator's account as for an unknown fan.
      if (failure.ambiguous && !input.accountId) failure = { ...failure, kind: 'not-found' };
      if (failure.kind === 'not-found' && !registered) {
        const registration = await this.registerFan(api, view);
        if (registration === null || registration.kind !== 'refused') {
          // Registered (or not yet, for a passing reason): the refused edits go back where they were.
          if (refusal) await this.deps.outbox.requeue(refusal.lastMutationId, refusal.refusedMutationIds);
          if (registration !== null) return this.fail(fanId, registration, force);
          const batch = refusal ? nextBatch(await this.deps.outbox.entries()) : null;
          const retried = batch?.fanId === fanId ? batch.mutations : refusal ? [] : mutations;
          return this.syncFan(api, client, fanId, retried, force, true);
        }
        // Still a fan unknown to the API (its code), for the reason registration gives.
        failure = { ...failure, kind: 'refused', message: registration.message };
        // Nothing will move for this creator until the user picks an agency: the status says so.
        if (registration.code === ACCOUNT_CHOICE) this.refusal = registration.message;
      }
      if (snapshot && mutations.length === 0 && failure.code === 'permission_denied' && !refusal) {
        // Only the OnlyFans note made this read a write, and this user may not write to the fan (a
        // viewer): read without it, and do not offer that text again (regression: a viewer's panel
        // of such a fan stayed on "Loading notes…" with an error).
        await updateView(this.deps.store, fanId, (latest) => ({ ...latest, refusedNotice: snapshot.notice }));
        return this.syncFan(api, client, fanId, mutations, force, registered);
      }
      if (refusal) {
        // Recorded as processed by the server: out of the outbox, shown to the user as not saved.
        const refused = new Set(refusal.refusedMutationIds);
        await this.deps.outbox.settle(
          refusal.lastMutationId,
          mutations
            .filter((mutation) => refused.has(mutation.id))
            .map((mutation) => ({
              id: mutation.id,
              kind: 'refused' as const,
              code: failure.code,
              reason: failure.message,
            })),
          now(),
        );
        return 'ok';
      }
      return this.fail(fanId, failure, force);
    }

    const answer = data;
    view = await updateView(this.deps.store, fanId, (latest) => {
      const next = applySyncData(latest, answer, {
        notice: snapshot?.notice ?? null,
        forced: force,
        now: now(),
      });
      // A push went through: this user writes to the fan (again), so OnlyFans' note may be sent.
      return mutations.length > 0 ? { ...next, refusedNotice: null } : next;
    });
    // Only a push settles the outbox, from its own answer. A read answers the client's last processed
    // id too, but it may cover another fan's push whose answer was lost: settled from the read, that
    // push's rejections would vanish with the user's text; resent, they come back as duplicates with
    // their reasons. The pages after a push are reads without a clientId (regression: acknowledging
    // from the last page left the outbox full).
    if (mutations.length > 0 && answer.lastMutationId !== null) {
      // A duplicate with a reason was rejected when it was first processed, in an answer we lost.
      const rejected = answer.results.flatMap((result) =>
        result.status === 'rejected' || (result.status === 'duplicate' && result.reason !== undefined)
          ? [{ id: result.id, kind: 'rejected' as const, code: null, reason: result.reason! }]
          : [],
      );
      await this.deps.outbox.settle(answer.lastMutationId, rejected, now());
    }
    // A delta longer than a page: read on from the new cursor (pulls only, no throttle: same sync).
    while (data.more) {
      try {
        data = await api.sync({
          fanId,
          cursor: data.cursor,
          ...(view.accountId ? { accountId: view.accountId } : {}),
        });
      } catch (error) {
        return this.fail(fanId, classifyFailure(error, now()), false);
      }
      const page = data;
      view = await updateView(this.deps.store, fanId, (latest) =>
        applySyncData(latest, page, { notice: null, forced: false, now: now() }),
      );
    }
    return 'ok';
  }

  /**
   * A fan unknown to the API is registered under the creator's account: the user's account for the
   * OnlyFans id of the logged-in creator (from OnlyFans' `/users/me`), chosen as account-choice.ts
   * says (registered if the user has none: they become its owner; asked when they have several).
   * Returns null when done, else why not (`refused`: it cannot be done as things stand).
   */
  private async registerFan(api: SyncApi, view: FanView): Promise<ApiFailure | null> {
    const account = await this.resolveAccount(api, true);
    if ('kind' in account) return account;
    try {
      await api.upsertFan({
        accountId: account.id,
        fanId: view.fanId,
        ...(view.username ? { username: view.username } : {}),
        ...(view.name ? { name: view.name } : {}),
      });
      await updateView(this.deps.store, view.fanId, (latest) => ({ ...latest, accountId: account.id }));
      return null;
    } catch (error) {
      const failure = classifyFailure(error, this.deps.now());
      // Not being allowed to add the fan is as final as a refusal, for now.
      return failure.kind === 'not-found' ? { ...failure, kind: 'refused' } : failure;
    }
  }

  /**
   * The account this browser works in for the logged-in creator (see account-choice.ts), remembered
   * under KEYS.accounts; `register`: make one when the user has none. Else why there is none.
   */
  private async resolveAccount(api: SyncApi, register: boolean): Promise<Account | ApiFailure> {
    const refused = (message: string): ApiFailure => ({
      kind: 'refused',
      code: null,
      message,
      retryAfterMs: null,
      refusal: null,
    });
    const creator = await this.deps.store.get<OnlyFansCreator>(KEYS.creator);
    if (!creator) {
      return refused('Open your OnlyFans home page once so that FanNotes learns your creator account.');
    }
    try {
      const remembered = await this.deps.store.get<Record<string, string>>(KEYS.accounts);
      const choice = chooseAccount(await api.listAccounts(), creator.id, remembered?.[creator.id]);
      if (choice.kind === 'ask') return { ...refused(askMessage(creator.username)), code: ACCOUNT_CHOICE };
      if (choice.kind === 'register' && !register)
        return refused('This fan is not in your FanNotes accounts.');
      const account =
        choice.kind === 'use'
          ? choice.account
          : await api.registerAccount({
              onlyFansUserId: creator.id,
              username: creator.username ?? `u${creator.id}`,
            });
      await this.deps.store.set({ [KEYS.accounts]: { ...remembered, [creator.id]: account.id } });
      return account;
    } catch (error) {
      const failure = classifyFailure(error, this.deps.now());
      // Not being allowed to register is as final as a refusal, for now.
      return failure.kind === 'not-found' ? { ...failure, kind: 'refused' } : failure;
    }
  }

  private async fail(fanId: string, failure: ApiFailure, force: boolean): Promise<Outcome> {
    const { store, now } = this.deps;
    await updateView(store, fanId, (view) => ({ ...view, error: failure.message }));
    if (failure.kind === 'auth') {
      this.wanted.set(fanId, force);
      await store.remove(KEYS.retry);
      await this.setStatus({
        state: 'signed-out',
        message: 'Your session has expired: sign in again.',
        retryAt: null,
      });
      return 'stop';
    }
    if (failure.kind === 'refused' || failure.kind === 'not-found') {
      this.refusal = failure.message;
      await this.setStatus({ state: 'error', message: failure.message, retryAt: null });
      return 'skip';
    }
    const previous = await store.get<RetryState>(KEYS.retry);
    const attempt = (previous?.attempt ?? 0) + 1;
    const retryAt = now() + retryDelay(attempt, failure.retryAfterMs, this.deps.random());
    this.wanted.set(fanId, (this.wanted.get(fanId) ?? false) || force);
    await store.set({
      [KEYS.retry]: {
        attempt,
        notBefore: retryAt,
        serverAsked: failure.retryAfterMs !== null,
      } satisfies RetryState,
    });
    this.deps.schedule(retryAt);
    await this.setStatus(
      failure.kind === 'offline'
        ? { state: 'offline', message: 'The FanNotes API cannot be reached.', retryAt }
        : { state: 'error', message: failure.message, retryAt },
    );
    return 'stop';
  }

  private async cachedAccountId(): Promise<string | null> {
    const creator = await this.deps.store.get<OnlyFansCreator>(KEYS.creator);
    const accounts = await this.deps.store.get<Record<string, string>>(KEYS.accounts);
    return (creator && accounts?.[creator.id]) ?? null;
  }

  private async forgetViews(): Promise<void> {
    await this.deps.store.remove([...(await this.deps.viewKeys()), KEYS.accounts]);
  }

  private async setStatus(status: SyncStatus): Promise<void> {
    await this.deps.store.set({ [KEYS.status]: status });
  }
}
