import { ApiError } from './errors.ts';
import { dropRefusedBody } from './lingering-close.ts';
import type { HttpServer } from './server.ts';

/** Largest request body accepted (Fastify's `bodyLimit`: 413 above it). */
export const MAX_BODY_BYTES = 256 * 1024;

export const bodyTooLarge = () =>
  new ApiError('validation_error', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, {
    status: 413,
  });

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

/** Whether a parsed JSON value holds a number JSON cannot represent (`1e400` parses to Infinity). */
function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(hasNonFinite);
}

/**
 * The one parser for request bodies, on both surfaces: `application/json` only (any other type is
 * Fastify's 415), at most MAX_BODY_BYTES (Fastify's 413), parsed by Fastify's own JSON parser, which
 * refuses `__proto__` and `constructor.prototype` keys. Around it, what Fastify does not check:
 * - strict UTF-8: invalid bytes would otherwise reach the database as U+FFFD, changing what was typed;
 * - nesting, before parsing: tRPC's adapter serialises the parsed body again, recursively, and a body
 *   nested thousands deep overflowed the stack there (500 instead of 400);
 * - numbers JSON cannot hold: tRPC serialised Infinity again as `null`, so `"color": 1e400` cleared a
 *   note's colour over tRPC while REST refused it.
 * An empty body is no body (`undefined`): REST reads it as `{}`, tRPC as no input.
 */
export function registerJsonBodyParser(app: HttpServer): void {
  // Fastify answers a body too large (declared, or found while reading) with `Connection: close` and
  // stops reading: a client still writing its body then meets a reset (EPIPE) instead of reading the
  // 413. The rest is read and thrown away instead (lingering-close.ts says how much and how long), and
  // the connection stays open for its next request.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode === 413 && !request.raw.complete) {
      reply.removeHeader('connection');
      dropRefusedBody(request.raw);
    }
    done(null, payload);
  });
  const secureJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return done(new ApiError('validation_error', 'The request body is not valid UTF-8.'));
    }
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(
        new ApiError('validation_error', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`),
      );
    }
    void secureJson(request, text, (error, value: unknown) => {
      if (error) return done(new ApiError('validation_error', invalidJsonMessage(text)));
      if (hasNonFinite(value)) {
        return done(
          new ApiError('validation_error', 'The request body has a number too large to represent.'),
        );
      }
      done(null, value);
    });
  });
}

/** Fastify's parser says only "invalid"; JSON that parses was refused for a prototype key. */
function invalidJsonMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    return 'The request body is not valid JSON.';
  }
  return 'The request body has a forbidden key (__proto__ or constructor.prototype).';
}
