import { KEYS, defaultSettings, type Settings } from './model.ts';
import type { Store } from './store.ts';

export async function loadSettings(store: Pick<Store, 'get'>): Promise<Settings> {
  return { ...defaultSettings, ...(await store.get<Partial<Settings>>(KEYS.settings)) };
}

/** The origin of a URL typed by a person (`https://app.example.com/` -> `https://app.example.com`); null if not http(s). */
export function normalizeOrigin(text: string): string | null {
  try {
    const url = new URL(text.trim());
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

/** The API base URL as typed, without trailing slashes; null if not http(s). */
export function normalizeApiUrl(text: string): string | null {
  try {
    const url = new URL(text.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  } catch {
    return null;
  }
}
