/**
 * What we learn about users from the JSON OnlyFans' own web app loads under `/api2/v2/`. Field names
 * come from public knowledge, not a contract (see shared/reference/onlyfans-web.md), so everything here
 * is tolerant: unknown shapes yield nothing, extra fields are ignored, and nothing throws.
 */

/** A user as seen in OnlyFans' JSON. A field is absent when that response did not carry it. */
export interface ObservedUser {
  /** OnlyFans' numeric user id, as a decimal string. */
  id: string;
  username?: string;
  name?: string;
  /** The creator's custom name for this fan. */
  displayName?: string;
  /** The creator's private note on this fan (`""` when unset); absent when the response had none. */
  notice?: string;
}

export interface ObservedResponse {
  users: ObservedUser[];
  /** Set for `/users/me`: the logged-in creator. */
  me?: ObservedUser;
}

const API_PREFIX = '/api2/v2/';
const ID = /^[1-9][0-9]{0,19}$/;

/** Whether a response at this URL can tell us about users (so that the observer reads its body). */
export function isUserBearingUrl(url: string): boolean {
  const path = apiPath(url);
  if (path === null) return false;
  return /^(users\/[^/]+|users\/list|chats|chats\/[0-9]+|subscriptions\/subscribers)$/.test(path);
}

/** The users a response body tells about; `url` decides how the body is read. */
export function usersFromResponse(url: string, body: unknown): ObservedResponse {
  const path = apiPath(url);
  if (path === null || !isObject(body)) return { users: [] };
  if (path === 'users/me') {
    const me = toUser(body);
    return me ? { users: [me], me } : { users: [] };
  }
  if (path === 'users/list') return { users: collect(Object.values(body)) };
  if (path.startsWith('users/')) {
    const user = toUser(body);
    return { users: user ? [user] : [] };
  }
  const list = Array.isArray(body.list) ? body.list : [];
  if (path === 'subscriptions/subscribers') return { users: collect(list) };
  // Chats: each item's `withUser` is a full user unless the app asked for `skip_users=all`.
  return { users: collect(list.map((item) => (isObject(item) ? item.withUser : undefined))) };
}

/** Later observations win field by field: a response without `notice` keeps the notice we had. */
export function mergeUser(previous: ObservedUser | undefined, next: ObservedUser): ObservedUser {
  return previous ? { ...previous, ...next } : next;
}

function apiPath(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url, 'https://onlyfans.com/');
  } catch {
    return null;
  }
  if (parsed.hostname !== 'onlyfans.com' || !parsed.pathname.startsWith(API_PREFIX)) return null;
  return parsed.pathname.slice(API_PREFIX.length).replace(/\/+$/, '');
}

function collect(values: unknown[]): ObservedUser[] {
  const users: ObservedUser[] = [];
  for (const value of values) {
    const user = toUser(value);
    if (user) users.push(user);
  }
  return users;
}

function toUser(value: unknown): ObservedUser | null {
  if (!isObject(value)) return null;
  const id = typeof value.id === 'number' ? String(value.id) : value.id;
  if (typeof id !== 'string' || !ID.test(id)) return null;
  // A bare `{ id, _view }` (chats with skip_users) says nothing we do not already know.
  const user: ObservedUser = { id };
  for (const field of ['username', 'name', 'displayName', 'notice'] as const) {
    const text = value[field];
    if (typeof text === 'string') user[field] = text;
  }
  return user;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
