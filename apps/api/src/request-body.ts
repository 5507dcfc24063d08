import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';

/** Largest request body accepted (413 above it). */
export const MAX_BODY_BYTES = 256 * 1024;

/** Deepest nesting of arrays and objects accepted in a body; the deepest input (a sync's mutations) needs 4. */
export const MAX_JSON_DEPTH = 32;

/** Whether JSON text nests arrays and objects deeper than `max`: one pass, brackets inside strings skipped. */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Reads a JSON body of at most MAX_BODY_BYTES. An empty body is `{}` for REST (DELETE with path
 * parameters only) and no input for tRPC.
 */
export async function readJsonBody(req: IncomingMessage, isRest: boolean): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new ApiError('validation_error', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, {
      status: 413,
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new ApiError('validation_error', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, {
        status: 413,
      });
    }
    chunks.push(chunk);
  }
  if (size === 0) return isRest ? {} : undefined;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new ApiError(
      'validation_error',
      'The request body must be JSON, sent as Content-Type: application/json.',
      {
        status: 415,
      },
    );
  }
  let text: string;
  try {
    // Strict: invalid UTF-8 would otherwise reach the database as U+FFFD, changing what was typed.
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ApiError('validation_error', 'The request body is not valid UTF-8.');
  }
  // Before parsing: tRPC's adapter serialises the parsed body again, recursively, and a body nested
  // thousands deep overflowed the stack there (500 instead of 400).
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ApiError(
      'validation_error',
      `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, refuseNonFinite);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError('validation_error', 'The request body is not valid JSON.');
  }
  if (isRest && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))) {
    throw new ApiError('validation_error', 'The request body must be a JSON object.');
  }
  return parsed;
}

/**
 * `1e400` parses to Infinity, which tRPC's adapter serialises again as `null`: `"color": 1e400` then
 * cleared a note's colour over tRPC while REST refused it. A number JSON cannot hold is refused here.
 */
function refuseNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ApiError('validation_error', 'The request body has a number too large to represent.');
  }
  return value;
}
