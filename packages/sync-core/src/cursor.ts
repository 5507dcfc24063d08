// A cursor is the fan's version counter (bumped under the fan row lock, never a timestamp) written as
// `v1.<version in base 36>`. The `v1.` prefix names the format, so that a later format can be told
// apart and an old or foreign cursor decodes to null, which the API answers with the full set
// (`reset: true`) rather than a wrong delta. Clients treat the whole string as opaque.
const PREFIX = 'v1.';
// Canonical base 36 only (lower case, no leading zeros): each version has exactly one cursor.
const FORMAT = /^v1\.(?:0|[1-9a-z][0-9a-z]{0,10})$/;

/** The cursor for a fan version: a non-negative safe integer. Anything else is a bug in the caller. */
export function encodeCursor(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`a cursor holds a non-negative safe integer version, got ${version}`);
  }
  return PREFIX + version.toString(36);
}

/** The version a cursor made by `encodeCursor` holds; null for anything else. Never throws. */
export function decodeCursor(cursor: string): number | null {
  if (typeof cursor !== 'string' || !FORMAT.test(cursor)) return null;
  const version = Number.parseInt(cursor.slice(PREFIX.length), 36);
  // Eleven digits reach past MAX_SAFE_INTEGER; those parse inexactly, but never to a safe integer.
  return Number.isSafeInteger(version) ? version : null;
}
