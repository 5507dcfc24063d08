import { storage, type StorageItemKey, type WxtStorageItem } from 'wxt/utils/storage';
import { KEYS, defaultSettings, emptyView, type Settings } from './model.ts';

/**
 * The format version of every stored key, kept in WXT's meta key beside it (`<key>$`: `{ v }`).
 *
 *   1  up to issue 16: the shapes of model.ts, no meta keys (a key without one is version 1).
 *   2  issue 17: the same shapes; `settings` holds every field (defaults filled in), a view holds
 *      `refusedNotice` and `staleVersion` (null when unknown). Every write records version 2.
 *
 * To change a format: bump STORAGE_VERSION, describe it here, and add the step to `migrations`
 * (value of version n-1 in, value of version n out). A step never throws on odd input (a failed
 * migration would leave the old value in place) and never drops an entry of an outbox or an unsaved
 * list: those are a user's words not yet on the server.
 */
export const STORAGE_VERSION = 2;

type Step = (value: unknown) => unknown;

const same: Step = (value) => value;

/** The migration steps of one key, by the version they produce. */
function migrations(key: string): Record<number, Step> {
  if (key === KEYS.settings) {
    return {
      2: (value) => (isRecord(value) ? ({ ...defaultSettings, ...value } satisfies Settings) : value),
    };
  }
  if (key.endsWith('$')) throw new Error(`"${key}" is a meta key, not a stored item.`);
  if (key.startsWith('view:')) {
    const fanId = key.slice('view:'.length);
    return {
      2: (value) =>
        isRecord(value)
          ? {
              ...emptyView(fanId),
              ...value,
              refusedNotice: (value.refusedNotice as string | null | undefined) ?? null,
              staleVersion: (value.staleVersion as number | null | undefined) ?? null,
            }
          : value,
    };
  }
  if (
    (Object.values(KEYS) as string[]).includes(key) ||
    key.startsWith('parked:') ||
    key.startsWith('members:')
  ) {
    return { 2: same };
  }
  throw new Error(`No stored item is named "${key}".`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys the store knows, so a migration of everything can find them among what is stored. */
export function isStoredKey(key: string): boolean {
  try {
    migrations(key);
    return true;
  } catch {
    return false;
  }
}

/** What the background's logic reads and writes (outbox, runner, views...), typed at the call site. */
export interface Store {
  get<T>(key: string): Promise<T | undefined>;
  /** Several keys in one write: a worker stopped mid-way leaves all of them or none. */
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}

export interface VersionedStore extends Store {
  /** Brings every stored key to STORAGE_VERSION now (each key also does on its first use). */
  migrate(): Promise<void>;
}

const area = (key: string): StorageItemKey => `local:${key}`;

/**
 * `browser.storage.local` through WXT storage items, one per key (`view:<fanId>` items are made as
 * fans come), each with STORAGE_VERSION and its migrations. Only the background opens it: a migration
 * writes, and two contexts migrating at once could put back a value the other had changed since.
 * Every read and write of a key waits for that key's migration, and a write records the version in
 * the same `storage.local.set` as the value, so no value is ever migrated twice or from a newer write.
 */
export function openStore(): VersionedStore {
  const opened = new Map<string, { item: WxtStorageItem<unknown, { v?: number }>; ready: Promise<void> }>();
  const open = (key: string) => {
    let entry = opened.get(key);
    if (!entry) {
      const item = storage.defineItem<unknown, { v?: number }>(area(key), {
        version: STORAGE_VERSION,
        migrations: migrations(key),
      });
      // getMeta resolves once the item's migration (started by defineItem) has finished.
      entry = { item, ready: item.getMeta().then(() => undefined) };
      opened.set(key, entry);
    }
    return entry;
  };
  const ready = (keys: string[]) => Promise.all(keys.map((key) => open(key).ready));

  return {
    async get<T>(key: string): Promise<T | undefined> {
      const value = await open(key).item.getValue();
      return (value ?? undefined) as T | undefined;
    },
    async set(items) {
      const keys = Object.keys(items);
      await ready(keys);
      await storage.setItems(
        keys.flatMap((key) => [
          { key: area(key), value: items[key] },
          { key: area(`${key}$`), value: { v: STORAGE_VERSION } },
        ]),
      );
    },
    async remove(keys) {
      const list = typeof keys === 'string' ? [keys] : keys;
      await ready(list);
      await storage.removeItems(list.map((key) => ({ key: area(key), options: { removeMeta: true } })));
    },
    async migrate() {
      const stored = Object.keys(await storage.snapshot('local'));
      await ready(stored.filter((key) => !key.endsWith('$') && isStoredKey(key)));
    },
  };
}

/** The background's store. */
export const store: VersionedStore = openStore();

/**
 * For the extension's pages (options, Team): reads and watches, never writes, so no migration runs
 * there. The background is the only writer; a page asks it by message.
 */
export const storeReader = {
  async get<T>(key: string): Promise<T | undefined> {
    return (await storage.getItem<T>(area(key))) ?? undefined;
  },
  /** Calls `onChange` with the new value of `key` after every change; returns the unwatch function. */
  watch<T>(key: string, onChange: (value: T | undefined) => void): () => void {
    return storage.watch<T>(area(key), (value) => onChange(value ?? undefined));
  },
};
