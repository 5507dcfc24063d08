// A cursor is the fan's version counter (bumped under the fan row lock, never a timestamp) written as
// `v1.<version in base 36>`: the client holds every change up to that version. The `v1.` prefix
// names the format, so that a later format can be told apart and an old or foreign cursor decodes to
// null, which the API answers with the full set (`reset: true`) rather than a wrong delta. Clients
// treat the whole string as opaque.
//
// A page cut inside a version (more notes, or more bytes, than one answer holds) ends with a position
// cursor, `v2.<version in base 36>.<note id>`: every change before that version, and the notes of that
// version up to and including that note id, in the order pages are read (version, then id). A server
// that does not know `v2.` answers it with the full set, which is always correct.
const PREFIX = 'v1.';
// Canonical base 36 only (lower case, no leading zeros): each version has exactly one cursor.
const FORMAT = /^v1\.(?:0|[1-9a-z][0-9a-z]{0,10})$/;
const POSITION_FORMAT = /^v2\.(0|[1-9a-z][0-9a-z]{0,10})\.([A-Za-z0-9_-]{1,100})$/;

/** Where a client is in a fan's changes: through `version`, or inside it up to note `afterId`. */
export interface CursorPosition {
  version: number;
  /** Null: every change up to and including `version`. Else: the notes of `version` up to this id. */
  afterId: string | null;
}

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
  return safeVersion(cursor.slice(PREFIX.length));
}

/** The cursor for a position: a version cursor when `afterId` is null, else a position cursor. */
export function encodeCursorPosition({ version, afterId }: CursorPosition): string {
  if (afterId === null) return encodeCursor(version);
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(afterId)) {
    throw new RangeError(`a cursor holds a note id of letters, digits, _ and -, got ${afterId}`);
  }
  return `v2.${encodeCursor(version).slice(PREFIX.length)}.${afterId}`;
}

/** The position any cursor made here holds (version or position cursor); null for anything else. */
export function decodeCursorPosition(cursor: string): CursorPosition | null {
  if (typeof cursor !== 'string') return null;
  const version = decodeCursor(cursor);
  if (version !== null) return { version, afterId: null };
  const match = POSITION_FORMAT.exec(cursor);
  const positioned = match ? safeVersion(match[1]!) : null;
  return positioned === null ? null : { version: positioned, afterId: match![2]! };
}

// Eleven digits reach past MAX_SAFE_INTEGER; those parse inexactly, but never to a safe integer.
function safeVersion(digits: string): number | null {
  const version = Number.parseInt(digits, 36);
  return Number.isSafeInteger(version) ? version : null;
}
