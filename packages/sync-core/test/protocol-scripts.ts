// The generated scripts of the sync protocol's model-based tests: 2 to 4 clients editing one fan's
// notes offline and online, with dropped responses, replayed and reordered requests, pipelined
// requests that arrive before the one they follow (gaps), and changes on onlyfans.com that client 0
// sends as snapshots. protocol-run.ts runs them against any SyncServer (simulation.ts).
import { noteTypes, type NoteType } from '@fannotes/contract';
import fc from 'fast-check';
import type { LocalEdit } from './simulation.ts';

export type Fields = Pick<LocalEdit, 'type' | 'color' | 'isPinned'>;
export type Delivery = 'delivered' | 'dropped';

/**
 * One step of a script. `client` and `pick` are reduced modulo what exists when the step runs; `tied`
 * picks among the notes tied to OnlyFans when the client has any (they are few, and their merges are
 * where CRM edits and OnlyFans changes meet).
 */
export type Step =
  | { kind: 'create'; client: number; fields: Fields }
  /** New text (and maybe other fields) for a note in the client's view. */
  | { kind: 'edit'; client: number; pick: number; tied: boolean; fields: Fields }
  /** Pin, colour or type only: the mutation carries the text the user sees, unchanged. */
  | { kind: 'restyle'; client: number; pick: number; tied: boolean; fields: Fields }
  | { kind: 'delete'; client: number; pick: number; tied: boolean }
  /**
   * `all`: the whole outbox; `unsent`: only mutations never sent (a pipelined request). `later`: the
   * request is held by the network and arrives at a `deliver` step (or is lost). `snapshot`: the
   * designated client, client 0 (the one looking at the fan on onlyfans.com), sends with the OnlyFans
   * notes as they are now.
   */
  | {
      kind: 'send';
      client: number;
      mode: 'all' | 'unsent';
      arrives: 'now' | 'later';
      response: Delivery;
      snapshot: boolean;
    }
  /**
   * Reordered delivery: the client's outbox goes out in a request the network holds, the user makes
   * a note, and a pipelined request with only that change arrives first (a gap, unless the server has
   * already processed the held ones); the held request arrives at a later `deliver`, or is lost.
   */
  | { kind: 'pipeline'; client: number; response: Delivery }
  | { kind: 'deliver'; pick: number; response: Delivery }
  | { kind: 'lose'; pick: number }
  /** The network repeats a request the server already served (`pick` 0: the client's latest). */
  | { kind: 'replay'; client: number; pick: number; response: Delivery }
  | { kind: 'audit'; pick: number }
  /** A change on onlyfans.com: a note added, re-worded, removed, or re-worded to the CRM's text. */
  | { kind: 'onlyFans'; change: 'add' | 'edit' | 'remove' | 'catchUp'; pick: number };

export interface Script {
  clientCount: number;
  steps: Step[];
}

const colors = ['#FF0000', '#00AA00', null] as const;
const fieldsArb: fc.Arbitrary<Fields> = fc.record(
  {
    type: fc.constantFrom<NoteType>(...noteTypes),
    color: fc.constantFrom(...colors),
    isPinned: fc.boolean(),
  },
  { requiredKeys: [] },
);
const restyleArb: fc.Arbitrary<Fields> = fc.oneof(
  fc.record({ isPinned: fc.boolean() }),
  fc.record({ color: fc.constantFrom(...colors) }),
  fc.record({ type: fc.constantFrom<NoteType>(...noteTypes) }),
);
const clientArb = fc.nat({ max: 3 });
const pickArb = fc.nat({ max: 20 });
const tiedArb = fc.constantFrom(false, false, true);
const deliveryArb = fc.constantFrom<Delivery>('delivered', 'delivered', 'dropped');

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create'), client: clientArb, fields: fieldsArb }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit'),
      client: clientArb,
      pick: pickArb,
      tied: tiedArb,
      fields: fieldsArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('restyle'),
      client: clientArb,
      pick: pickArb,
      tied: tiedArb,
      fields: restyleArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('delete'), client: clientArb, pick: pickArb, tied: tiedArb }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('send'),
      client: clientArb,
      mode: fc.constantFrom('all', 'all', 'all', 'unsent'),
      arrives: fc.constantFrom('now', 'now', 'now', 'later'),
      response: deliveryArb,
      snapshot: fc.constantFrom(false, false, true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('pipeline'), client: clientArb, response: deliveryArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver'), pick: pickArb, response: deliveryArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose'), pick: pickArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('replay'),
      client: clientArb,
      pick: fc.nat({ max: 3 }),
      response: deliveryArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('audit'), pick: pickArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('onlyFans'),
      change: fc.constantFrom('add', 'edit', 'edit', 'remove', 'catchUp'),
      pick: pickArb,
    }),
  },
);

export const MAX_STEPS = 60;
export const scriptArb: fc.Arbitrary<Script> = fc.record({
  clientCount: fc.integer({ min: 2, max: 4 }),
  steps: fc.array(stepArb, { maxLength: MAX_STEPS, size: 'max' }),
});
// Client clock offsets: up to a day either way, in milliseconds.
export const offsetsArb = fc.array(fc.integer({ min: -86_400_000, max: 86_400_000 }), {
  minLength: 4,
  maxLength: 4,
});

export const ONLY_FANS_IDS = ['of-1', 'of-2', 'of-3'];
