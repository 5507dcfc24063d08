import { randomNoteId } from './ids.ts';
import { buildDelete, buildUpsert, validateMutation } from './edits.ts';
import type { ExtensionRequest, PanelRequest, Reply } from './messages.ts';
import { KEYS, viewKey, type ClientState, type FanView } from './model.ts';
import { normalizeApiUrl, normalizeOrigin } from './settings.ts';
import type { Outbox, UnnumberedMutation } from './outbox.ts';
import type { Session, SyncRunner } from './runner.ts';
import type { Store } from './store.ts';
import { updateView } from './views.ts';

export interface RequestDeps {
  store: Store;
  outbox: Outbox;
  runner: Pick<SyncRunner, 'request' | 'pump'>;
  session: () => Promise<Session>;
  openOptions: () => Promise<void>;
  /** Every view key in storage (cached notes, forgotten when the account of a creator changes). */
  viewKeys: () => Promise<string[]>;
  now: () => number;
}

/**
 * The background's answer to a panel request. Edits are in the outbox (persisted) before the reply, so
 * a reply of `ok` means the change is safe whatever happens to the worker or the network next; the
 * sync that sends it runs afterwards and reports through storage.
 */
export async function handleRequest(deps: RequestDeps, request: ExtensionRequest): Promise<Reply> {
  try {
    switch (request.type) {
      case 'fan-open':
        await rememberFan(deps, request);
        void deps.runner.request(request.fan.fanId);
        return { ok: true };
      case 'fan-poll':
        void deps.runner.request(request.fanId);
        return { ok: true };
      case 'refresh':
        void deps.runner.request(request.fanId, true);
        return { ok: true };
      case 'note-save': {
        const { view, outbox } = await current(deps, request.fanId);
        await enqueue(deps, request.fanId, [
          buildUpsert(view, outbox, request.fanId, request.noteId, request.edit, randomNoteId),
        ]);
        return { ok: true };
      }
      case 'note-delete': {
        const { view, outbox } = await current(deps, request.fanId);
        await enqueue(deps, request.fanId, [buildDelete(view, outbox, request.noteId)]);
        return { ok: true };
      }
      case 'conflict-keep': {
        // Keeping the copy's text means writing it onto the original; either way the copy goes.
        const { view, outbox } = await current(deps, request.fanId);
        const mutations: UnnumberedMutation[] = [];
        if (request.keep === 'copy') {
          const copy = view?.notes.find((note) => note.id === request.copyId);
          if (!copy) return { ok: false, error: 'This copy no longer exists.' };
          mutations.push(
            buildUpsert(
              view,
              outbox,
              request.fanId,
              request.originalId,
              { content: copy.content },
              randomNoteId,
            ),
          );
        }
        mutations.push(buildDelete(view, outbox, request.copyId));
        await enqueue(deps, request.fanId, mutations);
        return { ok: true };
      }
      case 'unsaved-dismiss':
        await deps.outbox.dismiss(request.id);
        return { ok: true };
      case 'unsaved-retry': {
        const entry = await deps.outbox.retry(await userIdOf(deps), request.id, deps.now(), validateMutation);
        if (!entry) return { ok: false, error: 'This change is no longer in the list.' };
        void deps.runner.pump(true);
        return { ok: true };
      }
      case 'open-options':
        await deps.openOptions();
        return { ok: true };
      case 'settings-save': {
        const apiUrl = normalizeApiUrl(request.settings.apiUrl);
        const appOrigin = request.settings.appOrigin.trim()
          ? normalizeOrigin(request.settings.appOrigin)
          : '';
        if (!apiUrl || appOrigin === null) return { ok: false, error: 'Enter http(s) URLs.' };
        await deps.store.set({
          [KEYS.settings]: { apiUrl, appOrigin, devToken: request.settings.devToken.trim() },
        });
        return { ok: true };
      }
      case 'account-choose':
        await chooseAccount(deps, request.creatorId, request.accountId);
        return { ok: true };
    }
    return { ok: false, error: 'Unknown request.' };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

async function rememberFan(
  deps: RequestDeps,
  request: Extract<PanelRequest, { type: 'fan-open' }>,
): Promise<void> {
  const { fan, creator } = request;
  if (creator) await deps.store.set({ [KEYS.creator]: creator });
  await updateView(deps.store, fan.fanId, (view) => ({
    ...view,
    username: fan.username ?? view.username,
    name: fan.name ?? view.name,
    notice: fan.notice ?? view.notice,
  }));
}

async function current(deps: RequestDeps, fanId: string) {
  const view = (await deps.store.get<FanView>(viewKey(fanId))) ?? null;
  return { view, outbox: await deps.outbox.entries() };
}

/** Whose outbox an edit goes to: the signed-in user, or the last one while signed out. */
async function userIdOf(deps: RequestDeps): Promise<string> {
  const session = await deps.session();
  const userId = session.userId ?? (await deps.store.get<ClientState>(KEYS.client))?.userId;
  if (!userId) throw new Error('Sign in to FanNotes first (see the extension options).');
  return userId;
}

async function enqueue(deps: RequestDeps, fanId: string, mutations: UnnumberedMutation[]): Promise<void> {
  const userId = await userIdOf(deps);
  for (const mutation of mutations) {
    await deps.outbox.enqueue(userId, fanId, mutation, deps.now(), validateMutation);
  }
  void deps.runner.pump(true);
}

/**
 * Remembers the account (agency) this browser works in for a creator. Another account than before
 * means other notes: the cached views are forgotten (they name the previous account, which a view's
 * sync would keep using), pending edits go to the new account, and a run starts.
 */
async function chooseAccount(deps: RequestDeps, creatorId: string, accountId: string): Promise<void> {
  const accounts = (await deps.store.get<Record<string, string>>(KEYS.accounts)) ?? {};
  if (accounts[creatorId] === accountId) return;
  await deps.store.remove(await deps.viewKeys());
  await deps.store.set({ [KEYS.accounts]: { ...accounts, [creatorId]: accountId } });
  void deps.runner.pump(true);
}
