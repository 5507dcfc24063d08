import { emptyView, viewKey, type FanView } from './model.ts';
import type { Store } from './store.ts';

let queue: Promise<unknown> = Promise.resolve();

/**
 * Read-modify-write of one fan's view. The panel's messages (what OnlyFans shows about the fan) and
 * the runner's answers (the server's notes) both change views, with awaits in between: every update
 * goes through this one queue and is applied to the view as stored at that moment, so neither
 * overwrites the other's fields with a stale copy.
 */
export function updateView(
  store: Store,
  fanId: string,
  change: (view: FanView) => FanView,
): Promise<FanView> {
  const run = queue.then(async () => {
    const next = change(await readView(store, fanId));
    await store.set({ [viewKey(fanId)]: next });
    return next;
  });
  queue = run.catch(() => undefined);
  return run;
}

export async function readView(store: Store, fanId: string): Promise<FanView> {
  return (await store.get<FanView>(viewKey(fanId))) ?? emptyView(fanId);
}
