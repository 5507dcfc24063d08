import { OBSERVER_SOURCE, PANEL_SOURCE, type ObserverMessage } from './messages.ts';
import { isUserBearingUrl, mergeUser, usersFromResponse, type ObservedUser } from './onlyfans-json.ts';

/** Bodies larger than this are not read (OnlyFans' user and chat lists are far smaller). */
export const MAX_BODY_CHARS = 2_000_000;

/** The page globals the observer wraps; a test passes a fake. */
export interface ObservedWindow {
  fetch: typeof fetch;
  XMLHttpRequest: typeof XMLHttpRequest;
  history: History;
  location: { href: string; origin: string };
  postMessage: (message: unknown, targetOrigin: string) => void;
  addEventListener: (type: string, listener: (event: MessageEvent) => void) => void;
}

/**
 * Runs in the page's main world at document_start, before OnlyFans' app makes its first request.
 * It reads the JSON the app already receives (never calling OnlyFans itself: its requests are signed)
 * and reports users and navigations to the panel. Invariants: the page sees every response exactly as
 * it would without us (we read a clone, after the fact, and swallow our own errors); nothing secret is
 * posted, since the page can read these messages.
 */
export function installObserver(win: ObservedWindow): void {
  const users = new Map<string, ObservedUser>();
  let me: ObservedUser | null = null;
  const post = (message: ObserverMessage) => win.postMessage(message, win.location.origin);

  const report = (url: string, text: string) => {
    if (text.length > MAX_BODY_CHARS) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return;
    }
    const seen = usersFromResponse(url, body);
    if (seen.users.length === 0) return;
    for (const user of seen.users) users.set(user.id, mergeUser(users.get(user.id), user));
    if (seen.me) me = users.get(seen.me.id) ?? seen.me;
    post({ source: OBSERVER_SOURCE, kind: 'users', users: seen.users, me });
  };

  const originalFetch = win.fetch;
  win.fetch = async function (this: unknown, ...args: Parameters<typeof fetch>) {
    const response = await originalFetch.apply(this, args);
    try {
      if (
        isUserBearingUrl(response.url) &&
        response.ok &&
        !tooLarge(response.headers.get('content-length'))
      ) {
        response
          .clone()
          .text()
          .then((text) => report(response.url, text))
          .catch(() => undefined);
      }
    } catch {
      // Never let our bookkeeping fail the page's request.
    }
    return response;
  };

  const xhrProto = win.XMLHttpRequest.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- re-applied to the page's own receiver below
  const originalSend = xhrProto.send;
  xhrProto.send = function (this: XMLHttpRequest, ...args: Parameters<XMLHttpRequest['send']>) {
    this.addEventListener('loadend', () => {
      try {
        if (this.status < 200 || this.status >= 300 || !isUserBearingUrl(this.responseURL)) return;
        if (this.responseType === '' || this.responseType === 'text')
          report(this.responseURL, this.responseText);
        else if (this.responseType === 'json' && this.response !== null)
          report(this.responseURL, JSON.stringify(this.response));
      } catch {
        // As above: the page's request is none of our business.
      }
    });
    return originalSend.apply(this, args);
  };

  const navigated = () => post({ source: OBSERVER_SOURCE, kind: 'navigation', href: win.location.href });
  for (const method of ['pushState', 'replaceState'] as const) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- re-applied to the page's own receiver below
    const original = win.history[method];
    win.history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args);
      navigated();
      return result;
    };
  }
  win.addEventListener('popstate', navigated);

  // The panel may start after our first reports: it says hello, and hears everything again.
  win.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { source?: unknown; kind?: unknown } | null;
    if (event.source !== (win as unknown) || data?.source !== PANEL_SOURCE || data.kind !== 'hello') return;
    post({ source: OBSERVER_SOURCE, kind: 'users', users: [...users.values()], me });
    navigated();
  });
}

function tooLarge(contentLength: string | null): boolean {
  return contentLength !== null && Number(contentLength) > MAX_BODY_CHARS;
}
