import { browser } from 'wxt/browser';

/** `browser.storage.local`, typed at the call site. Values are JSON: what goes in comes out. */
export const store = {
  async get<T>(key: string): Promise<T | undefined> {
    const items = await browser.storage.local.get(key);
    return items[key] as T | undefined;
  },
  /** Several keys in one write: a worker stopped mid-way leaves all of them or none. */
  async set(items: Record<string, unknown>): Promise<void> {
    await browser.storage.local.set(items);
  },
  async remove(keys: string | string[]): Promise<void> {
    await browser.storage.local.remove(keys);
  },
};

export type Store = typeof store;
