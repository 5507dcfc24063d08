import { expect, test } from 'vitest';
import { panelNotices, statusLabel } from './status-label.ts';

const offline = { state: 'offline' as const, message: 'The FanNotes API cannot be reached.', retryAt: 1 };

test('offline is said in plain words, with what happens to the pending changes', () => {
  expect(statusLabel(offline, 0)).toEqual({
    state: 'offline',
    text: 'Offline',
    detail: 'Offline: your notes are saved here and will sync when the connection is back.',
  });
  expect(statusLabel(offline, 1).text).toBe('Offline · 1 pending');
  expect(statusLabel(offline, 1).detail).toBe(
    'Offline: your 1 change is saved here and will sync when the connection is back.',
  );
  expect(statusLabel(offline, 3).detail).toContain('your 3 changes are saved here');
});

test("offline, the network's own error is not repeated under the header", () => {
  const notices = panelNotices(statusLabel(offline, 0), null, { error: 'Failed to fetch' });
  expect(notices).toEqual(['Offline: your notes are saved here and will sync when the connection is back.']);
});

test('an error says what the API said, once, with the failed action first', () => {
  const label = statusLabel({ state: 'error', message: 'Not allowed', retryAt: null }, 0);
  expect(panelNotices(label, 'Could not save', { error: 'Not allowed' })).toEqual([
    'Could not save',
    'Not allowed',
  ]);
});

test('synced, pending and stale read as such', () => {
  const idle = { state: 'idle' as const, message: null, retryAt: null };
  expect(statusLabel(idle, 0).text).toBe('Synced');
  expect(statusLabel(idle, 2)).toEqual({ state: 'pending', text: '2 pending', detail: null });
  expect(statusLabel(idle, 0, true).text).toBe('Updating…');
  expect(statusLabel(null, 0).text).toBe('Starting…');
  expect(panelNotices(statusLabel(idle, 0), null, { error: null })).toEqual([]);
});
