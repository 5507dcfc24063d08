import { describe, expect, test, vi } from 'vitest';
import type { ObserverMessage } from './messages.ts';
import { installObserver, type ObservedWindow } from './observer.ts';

const ME = { id: 900001, username: 'creator_jane', name: 'Jane' };
const SAM = { id: 100000123, username: 'u100000123', name: 'Sam', notice: 'VIP' };

/** Just enough XMLHttpRequest for the observer: `send` fires `loadend` with a canned answer. */
class FakeXhr {
  static answer: { url: string; body: unknown } = { url: '', body: null };
  status = 200;
  responseType = 'json';
  responseURL = '';
  response: unknown = null;
  responseText = '';
  private listeners: (() => void)[] = [];
  addEventListener(_type: 'loadend', listener: () => void) {
    this.listeners.push(listener);
  }
  send() {
    this.responseURL = FakeXhr.answer.url;
    this.response = FakeXhr.answer.body;
    for (const listener of this.listeners) listener();
  }
}

function fakeWindow(routes: Record<string, unknown>) {
  const posted: ObserverMessage[] = [];
  const listeners = new Map<string, (event: MessageEvent) => void>();
  const pushState = vi.fn();
  const history = { pushState, replaceState: vi.fn() };
  const win = {
    fetch: vi.fn((url: string) => {
      const response = new Response(JSON.stringify(routes[url] ?? {}), { status: url in routes ? 200 : 404 });
      Object.defineProperty(response, 'url', { value: url });
      return Promise.resolve(response);
    }),
    XMLHttpRequest: FakeXhr,
    history,
    location: { href: 'https://onlyfans.com/my/chats/', origin: 'https://onlyfans.com' },
    postMessage: (message: ObserverMessage) => posted.push(message),
    addEventListener: (type: string, listener: (event: MessageEvent) => void) =>
      listeners.set(type, listener),
  };
  installObserver(win as unknown as ObservedWindow);
  return { win, posted, listeners, pushState };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the main-world observer', () => {
  test("reports users from the app's own fetches and hands the page its response untouched", async () => {
    const { win, posted } = fakeWindow({ 'https://onlyfans.com/api2/v2/users/me': ME });
    const response = await win.fetch('https://onlyfans.com/api2/v2/users/me');
    // The page can still read the body: the observer read a clone.
    expect(await response.json()).toEqual(ME);
    await settle();
    expect(posted).toEqual([
      {
        source: 'fannotes-observer',
        kind: 'users',
        users: [{ id: '900001', username: 'creator_jane', name: 'Jane' }],
        me: { id: '900001', username: 'creator_jane', name: 'Jane' },
      },
    ]);
  });

  test('reads XMLHttpRequest answers too, and ignores responses that carry no users', async () => {
    const { win, posted } = fakeWindow({ 'https://onlyfans.com/api2/v2/posts/1': { id: 1 } });
    FakeXhr.answer = {
      url: 'https://onlyfans.com/api2/v2/users/list?x[]=100000123',
      body: { '100000123': SAM },
    };
    new win.XMLHttpRequest().send();
    await win.fetch('https://onlyfans.com/api2/v2/posts/1');
    await settle();
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ kind: 'users', users: [{ id: '100000123', notice: 'VIP' }], me: null });
  });

  test('reports history navigations, and replays everything to a panel that says hello late', async () => {
    const { win, posted, listeners, pushState } = fakeWindow({ 'https://onlyfans.com/api2/v2/users/me': ME });
    await win.fetch('https://onlyfans.com/api2/v2/users/me');
    await settle();
    win.location.href = 'https://onlyfans.com/my/chats/chat/100000123/';
    win.history.pushState({}, '', '/my/chats/chat/100000123/');
    expect(pushState).toHaveBeenCalledWith({}, '', '/my/chats/chat/100000123/');
    expect(posted.at(-1)).toEqual({
      source: 'fannotes-observer',
      kind: 'navigation',
      href: win.location.href,
    });

    posted.length = 0;
    listeners.get('message')!({
      source: win,
      data: { source: 'fannotes-panel', kind: 'hello' },
    } as unknown as MessageEvent);
    expect(posted.map((m) => m.kind)).toEqual(['users', 'navigation']);
    expect(posted[0]).toMatchObject({ me: { id: '900001' } });

    // A hello from another window (an iframe, say) gets nothing.
    posted.length = 0;
    listeners.get('message')!({
      source: {},
      data: { source: 'fannotes-panel', kind: 'hello' },
    } as unknown as MessageEvent);
    expect(posted).toEqual([]);
  });
});
