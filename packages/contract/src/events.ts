import { z } from 'zod';
import { AccountId, FanId } from './ids.ts';
import { optional } from './optional.ts';

/**
 * Live updates (tRPC `notes.changes`, REST `GET /api/v2/events`) push pokes, never notes: a poke says
 * that a fan's notes changed and what the fan's version is now. The client pulls the delta through the
 * normal sync with its cursor, authorized as usual, so a missed poke costs latency, never data, and a
 * poke whose version is not above the client's cursor needs no pull at all.
 */
export const FanChange = z
  .object({
    accountId: z.string().meta({ example: '1c6f3b2a-0000-4000-8000-0123456789ab' }),
    fanId: z.string().meta({ example: '12345' }),
    /** The fan's version after the change: the cursor a pull will end at (or beyond). */
    version: z.number().int(),
  })
  .meta({ description: 'A fan whose notes changed, and its version now.' });
export type FanChange = z.infer<typeof FanChange>;

/** Optional filter of a stream: one fan (its account named when the fan is in several of yours). */
export const ChangesInput = optional(
  z.strictObject({
    fanId: FanId,
    accountId: optional(AccountId),
  }),
);
export type ChangesInput = z.input<typeof ChangesInput>;

/** Why the server ended a stream. */
export const streamEndReasons = ['token_expired', 'shutdown'] as const;
export const StreamEndReason = z.enum(streamEndReasons);
export type StreamEndReason = z.infer<typeof StreamEndReason>;

/**
 * What `notes.changes` yields. `change`: a poke. `resync`: pokes may have been missed (the server's
 * listening connection was re-established, or the client fell behind): pull every fan you show.
 * `end`: the last event; reconnect after `retryAfterMs` (with a fresh token when `token_expired`).
 */
export const LiveEvent = z.discriminatedUnion('type', [
  FanChange.extend({ type: z.literal('change') }),
  z.object({ type: z.literal('resync') }),
  z.object({ type: z.literal('end'), reason: StreamEndReason, retryAfterMs: z.number().int().min(0) }),
]);
export type LiveEvent = z.infer<typeof LiveEvent>;

/** How often an idle stream carries a heartbeat (tRPC: a `ping` event; REST: a `: ping` comment). */
export const HEARTBEAT_INTERVAL_MS = 25_000;
/** Streams one user may hold open at once, across their clients (429 `rate_limit_exceeded` beyond). */
export const MAX_STREAMS_PER_USER = 5;

/** The OpenAPI description of `GET /api/v2/events`, the REST twin of `notes.changes`. */
export const eventsRouteDescription =
  'A `text/event-stream` of pokes for every account you are a member of (optionally one fan: ' +
  '`?fanId=` and, when the fan is in several of your accounts, `&accountId=`). Each poke is an unnamed ' +
  'event whose `data` is JSON `{ "accountId", "fanId", "version" }`: the fan\'s notes changed and its ' +
  'version is now `version`; pull the delta with `POST /api/v2/sync-notes` and your cursor (a throttled ' +
  'read is enough). An `event: resync` means pokes may have been missed: pull every fan you show. A ' +
  '`: ping` comment comes about every 25 s. The stream ends with `event: end` (`data`: ' +
  '`{ "reason": "token_expired" | "shutdown", "retryAfterMs" }`, after a `retry:` line) when your token ' +
  'expires or the server shuts down: reconnect then (with a fresh token). Pokes name only accounts you ' +
  'are a member of when they are sent. A fan that is unknown or not yours: 404. At most ' +
  `${MAX_STREAMS_PER_USER} open streams per user: 429 beyond.`;
