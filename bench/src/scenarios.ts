import { randomUUID } from 'node:crypto';
import { encodeCursor } from '@fannotes/sync-core';
import type { Seeded, SeededFan } from './seed.ts';

/** Which API configuration a scenario needs: throttled reads (long interval) or every call a full sync. */
export type ApiMode = 'throttled' | 'full';

export interface Request {
  body: string;
  token: string;
}

/**
 * One scenario's request stream. `next(slot)` makes the next request of one load connection (slots
 * never share a fan where a full sync takes the fan's lease, so the load itself causes no 409);
 * `answered` sees the status and body, so pushes number their mutations exactly once and follow cursors.
 * State persists across runs: the round-trip probe and every round continue one client's history.
 */
export interface Scenario {
  name: string;
  title: string;
  mode: ApiMode;
  /** Which floor the scenario is compared with (floor-read.ts, floor-write.ts). */
  floor: 'read' | 'write';
  /** What the floor's equivalent request does. */
  floorQuery: string;
  /** Fewer connections than the run's, when there are fewer fans to keep apart. */
  connections?: number;
  next: (slot: number, target: 'api' | 'floor') => Request;
  answered?: (slot: number, target: 'api' | 'floor', status: number, body: string) => void;
}

const CURSOR = /"cursor":"(v1\.[0-9a-z]+)"/;

/** Fans `slot` owns among `connections` slots: every `connections`-th one. */
function partition(fans: SeededFan[], slot: number, connections: number): SeededFan[] {
  const own = fans.filter((_, index) => index % connections === slot % connections);
  return own.length > 0 ? own : [fans[slot % fans.length]!];
}

/** A cursor a few versions back: what a client that synced moments ago holds. */
const recentCursor = (fan: SeededFan) => encodeCursor(Math.max(0, fan.version - 3));

export function makeScenarios(
  seeded: Seeded,
  tokens: string[],
  connections: number,
): Record<string, Scenario> {
  const regular = seeded.fans.filter((fan) => fan.kind === 'regular');
  const withLiveNotes = regular.filter((fan) => fan.notes.some((note) => !note.deleted));
  const push100 = seeded.fans.filter((fan) => fan.kind === 'push100');
  const cold = seeded.fans.filter((fan) => fan.kind === 'cold');
  const token = (slot: number) => tokens[slot % tokens.length]!;

  /** Cycles through a slot's own fans (or, for reads, through all fans from a slot-specific start). */
  const cycler = (pool: (slot: number) => SeededFan[]) => {
    const position = new Map<number, number>();
    return (slot: number) => {
      const fans = pool(slot);
      const index = position.get(slot) ?? 0;
      position.set(slot, index + 1);
      return fans[index % fans.length]!;
    };
  };

  const readAll = (slot: number) => {
    const start = Math.floor((slot * regular.length) / connections);
    return [...regular.slice(start), ...regular.slice(0, start)];
  };

  const pushScenario = (
    name: string,
    title: string,
    fans: SeededFan[],
    mutationsPerRequest: number,
  ): Scenario => {
    const own = { api: fans.filter((_, i) => i % 2 === 0), floor: fans.filter((_, i) => i % 2 === 1) };
    const slots = Math.min(connections, own.api.length, own.floor.length);
    // One extension install per slot (its user is the slot's chatter), numbering its mutations 1, 2, 3...
    // Keyed by target and slot: the API's and the floor's histories are separate. So are their fans
    // (every other one each): the floor writes no conflict check, so an edit of it would make the
    // API's next edit of the same note, from a stale base, a conflict copy.
    const clients = new Map<string, { clientId: string; lastAcked: number; edits: number }>();
    const cursors = new Map<string, string>();
    const nextFan = {
      api: cycler((slot) => partition(own.api, slot, slots)),
      floor: cycler((slot) => partition(own.floor, slot, slots)),
    };
    const inFlight = new Map<string, { fan: SeededFan; sent: number }>();
    return {
      name,
      title,
      mode: 'full',
      floor: 'write',
      floorQuery: 'one statement: bump the fan, upsert the notes, record the client',
      connections: slots,
      next: (slot, target) => {
        const key = `${target}/${slot}`;
        let client = clients.get(key);
        if (!client) {
          client = { clientId: randomUUID(), lastAcked: 0, edits: 0 };
          clients.set(key, client);
        }
        const fan = nextFan[target](slot);
        const live = fan.notes.filter((note) => !note.deleted);
        const mutations = [];
        for (let i = 0; i < mutationsPerRequest; i++) {
          const note = live[(client.edits + i) % live.length]!;
          mutations.push({
            id: client.lastAcked + 1 + i,
            op: 'upsert',
            noteId: note.id,
            baseVersion: note.version,
            note: { content: `edited by the benchmark, edit ${client.edits + i + 1} of this install` },
          });
        }
        inFlight.set(key, { fan, sent: mutationsPerRequest });
        const cursor = cursors.get(fan.fanId) ?? recentCursor(fan);
        return {
          token: token(slot),
          body: JSON.stringify({ fanId: fan.fanId, clientId: client.clientId, cursor, mutations }),
        };
      },
      answered: (slot, target, status, body) => {
        const client = clients.get(`${target}/${slot}`);
        const sent = inFlight.get(`${target}/${slot}`);
        if (!client || !sent) return;
        // Acknowledged: the next request carries the next ids. Otherwise resend the same ids (a
        // replay is answered `duplicate`, never applied twice).
        if (status >= 200 && status < 300) {
          client.lastAcked += sent.sent;
          client.edits += sent.sent;
          const cursor = CURSOR.exec(body)?.[1];
          if (cursor) cursors.set(sent.fan.fanId, cursor);
        }
      },
    };
  };

  const throttledFan = cycler(readAll);
  const fullFan = cycler((slot) => partition(regular, slot, connections));
  const deltaFan = cycler(readAll);
  const coldFan = cycler((slot) => partition(cold, slot, connections));

  return {
    'throttled-read': {
      name: 'throttled-read',
      title: 'throttled read (no cursor)',
      mode: 'throttled',
      floor: 'read',
      floorQuery: "one statement: the fan's live notes",
      next: (slot) => ({ token: token(slot), body: JSON.stringify({ fanId: throttledFan(slot).fanId }) }),
    },
    'full-sync': {
      name: 'full-sync',
      title: 'full sync, no changes',
      mode: 'full',
      floor: 'read',
      floorQuery: "one statement: the fan's live notes",
      next: (slot) => ({ token: token(slot), body: JSON.stringify({ fanId: fullFan(slot).fanId }) }),
    },
    'push-1': pushScenario('push-1', 'push of 1 mutation', withLiveNotes, 1),
    'push-100': pushScenario('push-100', 'push of 100 mutations', push100, 100),
    'delta-pull': {
      name: 'delta-pull',
      title: 'delta pull from a recent cursor',
      mode: 'throttled',
      floor: 'read',
      floorQuery: 'one statement: the notes changed since the cursor',
      next: (slot) => {
        const fan = deltaFan(slot);
        return { token: token(slot), body: JSON.stringify({ fanId: fan.fanId, cursor: recentCursor(fan) }) };
      },
    },
    'cold-fan': {
      name: 'cold-fan',
      title: `cold fan, ${seeded.size.coldNotes.toLocaleString('en')} notes`,
      mode: 'full',
      floor: 'read',
      floorQuery: "one statement: the fan's live notes",
      connections: Math.min(connections, cold.length),
      next: (slot) => ({ token: token(slot), body: JSON.stringify({ fanId: coldFan(slot).fanId }) }),
    },
  };
}
