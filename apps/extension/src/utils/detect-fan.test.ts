import { describe, expect, test, vi } from 'vitest';
import { detectFan, pageRefOf } from './detect-fan.ts';
import { FanTracker } from './fan-tracker.ts';
import { OBSERVER_SOURCE, isObserverMessage, type ObserverMessage } from './messages.ts';
import { isUserBearingUrl, usersFromResponse, type ObservedUser } from './onlyfans-json.ts';

const sam = {
  id: 100000123,
  username: 'u100000123',
  name: 'Sam',
  displayName: 'Sam (gym)',
  notice: 'VIP',
  avatar: 'x',
};
const me = { id: 900001, username: 'creator_jane', name: 'Jane', isPerformer: true };

describe('pageRefOf', () => {
  test.each([
    ['https://onlyfans.com/my/chats/chat/100000123/', { kind: 'chat', fanId: '100000123' }],
    [
      'https://onlyfans.com/my/chats/chat/100000123/?firstId=7000000001',
      { kind: 'chat', fanId: '100000123' },
    ],
    ['https://onlyfans.com/my/chats/chat/100000123', { kind: 'chat', fanId: '100000123' }],
    ['https://onlyfans.com/u100000123', { kind: 'profile', fanId: '100000123' }],
    ['https://onlyfans.com/sam.fit', { kind: 'profile', username: 'sam.fit' }],
    ['https://onlyfans.com/sam.fit/media', { kind: 'profile', username: 'sam.fit' }],
    ['https://onlyfans.com/my/chats/', null],
    ['https://onlyfans.com/my/collections/user-lists/subscribers/active', null],
    ['https://onlyfans.com/settings/profile', null],
    ['https://onlyfans.com/', null],
    ['https://onlyfans.com/a/b/c', null],
    ['https://example.com/my/chats/chat/1/', null],
    ['not a url', null],
  ])('%s', (href, expected) => {
    expect(pageRefOf(href)).toEqual(expected);
  });
});

describe('detectFan', () => {
  const users = new Map<string, ObservedUser>([
    ['100000123', { id: '100000123', username: 'Sam.Fit', name: 'Sam', displayName: '', notice: '' }],
    ['900001', { id: '900001', username: 'creator_jane' }],
  ]);

  test('a chat is about the fan in its URL, named as the creator named them, with the known notice', () => {
    expect(detectFan({ kind: 'chat', fanId: '100000123' }, users, '900001')).toEqual({
      fanId: '100000123',
      username: 'Sam.Fit',
      name: 'Sam',
      notice: '',
    });
  });

  test('a chat with a user not seen yet is still that fan, without details', () => {
    expect(detectFan({ kind: 'chat', fanId: '5' }, users, null)).toEqual({ fanId: '5' });
  });

  test('a profile by username waits for the user object, matching case-insensitively', () => {
    expect(detectFan({ kind: 'profile', username: 'sam.fit' }, users, null)?.fanId).toBe('100000123');
    expect(detectFan({ kind: 'profile', username: 'someone' }, users, null)).toBeNull();
  });

  test("the creator's own profile is no fan", () => {
    expect(detectFan({ kind: 'profile', username: 'creator_jane' }, users, '900001')).toBeNull();
    expect(detectFan({ kind: 'profile', fanId: '900001' }, users, '900001')).toBeNull();
  });
});

describe("reading OnlyFans' JSON", () => {
  const api = (path: string) => `https://onlyfans.com/api2/v2/${path}`;

  test('only user-bearing responses are read', () => {
    expect(isUserBearingUrl(api('users/me'))).toBe(true);
    expect(isUserBearingUrl(api('users/list?x[]=1&x[]=2'))).toBe(true);
    expect(isUserBearingUrl(api('chats?limit=10&offset=0'))).toBe(true);
    expect(isUserBearingUrl(api('subscriptions/subscribers?type=active'))).toBe(true);
    expect(isUserBearingUrl(api('posts/123'))).toBe(false);
    expect(isUserBearingUrl(api('chats/123/messages?limit=10'))).toBe(false);
    expect(isUserBearingUrl('https://example.com/api2/v2/users/me')).toBe(false);
  });

  test('users/me is the creator', () => {
    expect(usersFromResponse(api('users/me'), me)).toEqual({
      users: [{ id: '900001', username: 'creator_jane', name: 'Jane' }],
      me: { id: '900001', username: 'creator_jane', name: 'Jane' },
    });
  });

  test('users/list is keyed by id; one user; chats with full users; bare {id,_view} users tell only the id', () => {
    expect(usersFromResponse(api('users/list?x[]=100000123'), { '100000123': sam }).users).toEqual([
      { id: '100000123', username: 'u100000123', name: 'Sam', displayName: 'Sam (gym)', notice: 'VIP' },
    ]);
    expect(usersFromResponse(api('users/u100000123'), sam).users[0]?.notice).toBe('VIP');
    expect(
      usersFromResponse(api('chats'), { list: [{ withUser: sam }, { withUser: { id: 5, _view: 's' } }] })
        .users,
    ).toEqual([expect.objectContaining({ id: '100000123' }), { id: '5' }]);
  });

  test('unknown shapes yield nothing and never throw', () => {
    for (const body of [null, 'text', [], { list: 'no' }, { id: 'abc' }, { id: -1 }]) {
      expect(usersFromResponse(api('users/x'), body).users).toEqual([]);
      expect(usersFromResponse(api('chats'), body).users).toEqual([]);
    }
  });
});

describe('FanTracker (single-page navigation)', () => {
  const users = (list: object[], creator: object | null = null): ObserverMessage => ({
    source: OBSERVER_SOURCE,
    kind: 'users',
    users: list.map((u) => usersFromResponse('https://onlyfans.com/api2/v2/users/x', u).users[0]!),
    me: creator ? usersFromResponse('https://onlyfans.com/api2/v2/users/me', creator).me! : null,
  });
  const navigate = (href: string): ObserverMessage => ({ source: OBSERVER_SOURCE, kind: 'navigation', href });

  test('follows the URL and what OnlyFans reports, and says when anything about the fan changes', () => {
    const onChange = vi.fn();
    const tracker = new FanTracker('', onChange);
    tracker.setHref('https://onlyfans.com/my/chats/chat/100000123/');
    expect(onChange).toHaveBeenLastCalledWith({ fanId: '100000123' }, null);

    tracker.observe(users([sam], me));
    expect(onChange).toHaveBeenLastCalledWith(
      { fanId: '100000123', username: 'u100000123', name: 'Sam (gym)', notice: 'VIP' },
      { id: '900001', username: 'creator_jane' },
    );
    const calls = onChange.mock.calls.length;
    tracker.observe(users([sam]));
    expect(onChange).toHaveBeenCalledTimes(calls);

    // OnlyFans navigates without reloading; its user cache means no refetch on the way back.
    tracker.observe(navigate('https://onlyfans.com/my/chats/'));
    expect(onChange).toHaveBeenLastCalledWith(null, expect.anything());
    tracker.observe(navigate('https://onlyfans.com/u100000123'));
    expect(tracker.current?.notice).toBe('VIP');
  });

  test('only well-formed observer messages are accepted', () => {
    expect(isObserverMessage(users([sam]))).toBe(true);
    expect(isObserverMessage(navigate('https://onlyfans.com/'))).toBe(true);
    expect(isObserverMessage({ source: 'someone', kind: 'navigation', href: 'x' })).toBe(false);
    expect(
      isObserverMessage({ source: OBSERVER_SOURCE, kind: 'users', users: [{ id: 'abc' }], me: null }),
    ).toBe(false);
    expect(
      isObserverMessage({
        source: OBSERVER_SOURCE,
        kind: 'users',
        users: [{ id: '1', notice: 5 }],
        me: null,
      }),
    ).toBe(false);
  });
});
