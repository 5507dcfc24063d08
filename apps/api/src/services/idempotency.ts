import { createHash } from 'node:crypto';
import { idempotencyKeys, notes } from '@fannotes/db';
import { and, eq, gte, sql } from 'drizzle-orm';
import { ApiError } from '../errors.ts';
import type { FanWrite } from './fan-transaction.ts';
import type { NoteRow } from './serialize.ts';

/**
 * `Idempotency-Key` (the IETF httpapi draft, as Stripe and others use it) for the one endpoint whose
 * retry could repeat itself: POST /api/v2/update-note without `noteId` creates a note, so a caller
 * that lost the answer and sent it again got two (and an edit from a stale `baseVersion`, saved as a
 * conflict copy, a second copy). With a key, a repeat of the same request by
 * the same user within a day answers with the note the first one wrote, as it is now, and writes
 * nothing; the same key with a different request is refused. Sync mutations need none: their ids are
 * already applied exactly once.
 */

/** How long a key is remembered; a repeat after that is a new request. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600 * 1000;

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The header's key: a token or a quoted string (the draft makes it a structured-field string),
 * 1 to 255 visible ASCII characters. Undefined without the header.
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const key = /^"(.*)"$/.exec(trimmed)?.[1] ?? trimmed;
  if (!KEY.test(key)) {
    throw new ApiError('validation_error', 'Idempotency-Key must be 1 to 255 visible ASCII characters.', {
      details: { header: 'Idempotency-Key' },
    });
  }
  return key;
}

/** What makes two requests the same request: the endpoint and its validated input. */
export function requestDigest(endpoint: string, input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([endpoint, input]))
    .digest('base64url');
}

/** A request's key and digest; whose it is and when come from the write it is part of. */
export interface KeyedRequest {
  key: string;
  digest: string;
}

const reused = () =>
  new ApiError('validation_error', 'This Idempotency-Key was already used for a different request.', {
    details: { header: 'Idempotency-Key', reason: 'key reused' },
  });

/**
 * The note an earlier request with this key wrote, as it is now; undefined if the key is new (or
 * expired), or if that note is not a note of the fan this request resolves to now. Call it in the
 * write's transaction, after the fan row is locked: a repeat of a request still running waits for it
 * there and then finds its key.
 *
 * Invariant: a replay answers only what a fresh request could read. The fan row `write` holds was
 * resolved among the caller's accounts, with the right to write, for this very request; a key whose
 * note lives in another fan (the caller was removed from that account, and the same body now resolves
 * to a fan of another account) is no replay: the request is served as if it had no key, and takes the
 * key over (rememberKey).
 */
export async function replayedNote(write: FanWrite, request: KeyedRequest): Promise<NoteRow | undefined> {
  const horizon = new Date(write.now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const [found] = await write.tx
    .select({ digest: idempotencyKeys.requestDigest, note: notes })
    .from(idempotencyKeys)
    .innerJoin(notes, eq(notes.id, idempotencyKeys.noteId))
    .where(
      and(
        eq(idempotencyKeys.userId, write.userId),
        eq(idempotencyKeys.key, request.key),
        gte(idempotencyKeys.createdAt, horizon),
      ),
    );
  if (!found) return undefined;
  if (found.digest !== request.digest) throw reused();
  if (found.note.fanRowId !== write.fan.id) return undefined;
  if (found.note.deletedAt !== null) {
    throw new ApiError('resource_not_found', 'The note this request wrote has since been deleted.');
  }
  return found.note;
}

/**
 * Remembers that the request wrote `noteId`, in the write's transaction (so the key and the note
 * commit together), and forgets up to 100 expired keys of anyone's, skipping rows another write is
 * forgetting. An expired key is taken over, and so is the same request's key whose note is in another
 * fan (replayedNote: no replay across fans). A key another transaction took meanwhile for a different
 * request (the same key sent for another fan at the same moment) is refused, and this write rolls
 * back with it.
 */
export async function rememberKey(write: FanWrite, request: KeyedRequest, noteId: string): Promise<void> {
  const { tx, userId, now } = write;
  const horizon = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  await tx.execute(sql`delete from ${idempotencyKeys} where (user_id, key) in (
    select user_id, key from ${idempotencyKeys} where created_at < ${horizon.toISOString()}::timestamptz
    limit 100 for update skip locked)`);
  const stored = await tx
    .insert(idempotencyKeys)
    .values({
      userId,
      key: request.key,
      requestDigest: request.digest,
      noteId,
      createdAt: now,
    })
    .onConflictDoUpdate({
      target: [idempotencyKeys.userId, idempotencyKeys.key],
      set: { requestDigest: request.digest, noteId, createdAt: now },
      setWhere: sql`${idempotencyKeys.createdAt} < ${horizon.toISOString()}::timestamptz
        or (${idempotencyKeys.requestDigest} = ${request.digest} and not exists (
          select 1 from ${notes} where ${notes.id} = ${idempotencyKeys.noteId} and ${notes.fanRowId} = ${write.fan.id}))`,
    })
    .returning({ key: idempotencyKeys.key });
  if (stored.length === 0) throw reused();
}
