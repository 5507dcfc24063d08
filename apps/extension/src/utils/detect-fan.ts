import type { ObservedUser } from './onlyfans-json.ts';

/** Which fan an onlyfans.com URL is about, as far as the URL alone can tell. */
export type PageRef =
  | { kind: 'chat'; fanId: string }
  | { kind: 'profile'; fanId: string }
  | { kind: 'profile'; username: string };

/** The fan a page shows, with what OnlyFans' JSON told us about them. */
export interface DetectedFan {
  fanId: string;
  username?: string;
  /** The creator's custom name for the fan when set, else the fan's own name. */
  name?: string;
  /** OnlyFans' note on the fan; absent while unknown. */
  notice?: string;
}

// First path segments that are app routes, never usernames.
const RESERVED = new Set([
  'my',
  'api',
  'api2',
  'settings',
  'notifications',
  'bookmarks',
  'lists',
  'collections',
  'chats',
  'posts',
  'search',
  'help',
  'terms',
  'privacy',
  'about',
  'faq',
  'contact',
  'login',
  'signup',
  'auth',
  'files',
  'theme',
  'assets',
  'static',
  'vault',
  'statements',
  'queue',
  'referrals',
  'release-forms',
]);
const USERNAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The fan a page is about from its URL; null for pages about no single fan. */
export function pageRefOf(href: string): PageRef | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.hostname !== 'onlyfans.com') return null;
  const segments = url.pathname.split('/').filter(Boolean);
  const chat = /^\/my\/chats\/chat\/([1-9][0-9]{0,19})(?:\/|$)/.exec(url.pathname);
  if (chat?.[1]) return { kind: 'chat', fanId: chat[1] };
  const [first] = segments;
  if (first === undefined || RESERVED.has(first.toLowerCase())) return null;
  // A profile's sub-pages (`/sam/media`) are still the profile.
  if (segments.length > 2) return null;
  const numeric = /^u([1-9][0-9]{0,19})$/.exec(first);
  if (numeric?.[1]) return { kind: 'profile', fanId: numeric[1] };
  return USERNAME.test(first) ? { kind: 'profile', username: first } : null;
}

/**
 * The fan on the page, from its URL and every user OnlyFans' JSON has shown us. A profile named by
 * username is resolved once its user object has been seen; the creator's own profile is no fan.
 */
export function detectFan(
  page: PageRef | null,
  users: ReadonlyMap<string, ObservedUser>,
  meId: string | null,
): DetectedFan | null {
  if (page === null) return null;
  if ('fanId' in page) return page.fanId === meId ? null : describe(page.fanId, users.get(page.fanId));
  let user: ObservedUser | undefined;
  const wanted = page.username.toLowerCase();
  for (const candidate of users.values()) {
    if (candidate.username?.toLowerCase() === wanted) {
      user = candidate;
      break;
    }
  }
  if (!user || user.id === meId) return null;
  return describe(user.id, user);
}

function describe(fanId: string, user: ObservedUser | undefined): DetectedFan {
  const fan: DetectedFan = { fanId };
  if (user?.username) fan.username = user.username;
  const name = user?.displayName || user?.name;
  if (name) fan.name = name;
  if (user?.notice !== undefined) fan.notice = user.notice;
  return fan;
}
