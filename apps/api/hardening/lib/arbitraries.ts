import fc from 'fast-check';
import type { z } from 'zod';

// Request bodies derived from the contract's zod schemas (packages/contract), as the router holds them:
// valid values are generated from each schema's own definition (shapes, regexes, lengths, enums,
// number ranges), then invalid ones are made by corrupting a valid one at a random place (a field left
// out or added, the wrong type, NUL, lone surrogates, huge numbers, deep nesting, 1 MB strings) or by
// corrupting its JSON text (duplicate keys, broken JSON, invalid UTF-8, numbers past double range).

/** A zod 4 schema's definition (`schema._zod.def`): its kind, and what that kind keeps. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
  checks?: unknown[];
}

/** A check's definition (`check._zod.def`): string formats, lengths, number bounds. */
interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;
const checksOf = (def: Def): CheckDef[] =>
  ((def.checks ?? []) as { _zod: { def: CheckDef } }[]).map((check) => check._zod.def);

/** Largest body the server reads (body-guard.ts MAX_BODY_BYTES) and deepest nesting it accepts. */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_JSON_DEPTH = 32;

/** Arbitraries used instead of (most of the time) the derived one for fields of that name. */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

function isOptionalKey(schema: unknown): boolean {
  const type = defOf(schema).type;
  return type === 'optional' || type === 'default';
}

/** The longest `'a'.repeat(n)` a text schema accepts (its limit sits in a refinement, not in a check). */
function probeMaxLength(schema: z.ZodType): number | undefined {
  const ok = (n: number) => schema.safeParse('a'.repeat(n)).success;
  if (!ok(1)) return undefined;
  let low = 1;
  let high = 2;
  while (ok(high)) {
    low = high;
    high *= 2;
    if (high > 1 << 21) return undefined;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (ok(middle)) low = middle;
    else high = middle;
  }
  return low;
}

/** Texts people type, and texts attackers type, that any free-text field must take as they are. */
const INTERESTING_TEXT = [
  'Likes cats 🐱 and tips on Fridays',
  'مرحبا بك — שלום — こんにちは',
  'Z̤͔ͧ̑̓ä͖̭̈̇l͖͎g̞̥͈o̞̼͌',
  '\u202Eevil.exe\u202C',
  '<script>alert(1)</script>',
  "Robert'); DROP TABLE notes;--",
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}} %s %n %x',
  '\\u0000 is not a NUL',
  'line one\r\nline two\ttabbed',
  '\u200B\u200Czero width\uFEFF',
];

function stringArbitrary(schema: z.ZodType, def: Def): fc.Arbitrary<string> {
  const checks = checksOf(def);
  const pattern = checks.find(
    (check) => check.check === 'string_format' && check.format === 'regex',
  )?.pattern;
  const max = checks.find((check) => check.check === 'max_length')?.maximum;
  if (pattern) {
    // fast-check cannot honour the `i` flag; the lower-case language is a subset of the schema's.
    const matching = fc.stringMatching(new RegExp(pattern.source, pattern.flags.replace('i', '')));
    return matching.filter((value) => schema.safeParse(value).success);
  }
  const limit = probeMaxLength(schema) ?? max ?? 100;
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(limit, 40) }) },
      { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: Math.min(limit, 40) }) },
      { weight: 3, arbitrary: fc.constantFrom(...INTERESTING_TEXT) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('a'.repeat(limit), ` ${'🐱'.repeat(limit)}\n`, `\t${'é'.repeat(limit)} `),
      },
    )
    .filter((value) => schema.safeParse(value).success);
}

const INT32 = 2 ** 31 - 1;

function numberArbitrary(def: Def): fc.Arbitrary<number> {
  const checks = checksOf(def);
  const above = checks.find((check) => check.check === 'greater_than');
  const below = checks.find((check) => check.check === 'less_than');
  const min =
    above?.value === undefined ? Number.MIN_SAFE_INTEGER : above.inclusive ? above.value : above.value + 1;
  const max =
    below?.value === undefined ? Number.MAX_SAFE_INTEGER : below.inclusive ? below.value : below.value - 1;
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.integer({
        min: Math.max(min, -INT32),
        max: Math.min(max, INT32, Math.max(min, 0) + 1000),
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
    { weight: 1, arbitrary: fc.maxSafeInteger().filter((value) => value >= min && value <= max) },
  );
}

/** Valid values of a schema; `hints` bias fields of those names toward ids that exist. */
export function validArbitrary(schema: z.ZodType, hints: Hints = {}): fc.Arbitrary<unknown> {
  const arbitrary = derive(schema, hints);
  // Object-level refinements (e.g. clientId required with mutations) are honoured by filtering.
  return arbitrary.filter((value) => schema.safeParse(value).success);
}

function derive(schema: z.ZodType, hints: Hints): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const requiredKeys: string[] = [];
      for (const [key, child] of Object.entries(def.shape ?? {})) {
        const derived = derive(child, hints);
        const hint = hints[key];
        model[key] = hint
          ? fc.oneof({ weight: 4, arbitrary: hint }, { weight: 1, arbitrary: derived })
          : derived;
        if (!isOptionalKey(child)) requiredKeys.push(key);
      }
      return fc.record(model, { requiredKeys });
    }
    case 'optional':
    case 'default':
      return derive(def.innerType!, hints);
    case 'nullable':
      return fc.option(derive(def.innerType!, hints), { nil: null, freq: 4 });
    case 'pipe':
      return derive(def.in!, hints);
    case 'string':
      return stringArbitrary(schema, def);
    case 'number':
      return numberArbitrary(def);
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries ?? {}));
    case 'literal':
      return fc.constantFrom(...(def.values ?? []));
    case 'array': {
      const max = checksOf(def).find((check) => check.check === 'max_length')?.maximum;
      return fc.array(derive(def.element!, hints), { maxLength: Math.min(max ?? 5, 5) });
    }
    case 'union':
      return fc.oneof(...(def.options ?? []).map((option) => derive(option, hints)));
    default:
      throw new Error(`no arbitrary for a zod ${def.type}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Invalid and hostile variants

/** A request input as a value (serialised with JSON.stringify) or as exact JSON text or bytes. */
export type Candidate = { kind: string; value: unknown } | { kind: string; raw: string | Uint8Array };

type Path = (string | number)[];

/** Every place in a value a corruption can hit: the root, each object property, each array element. */
function pathsOf(value: unknown, path: Path = [], found: Path[] = []): Path[] {
  found.push(path);
  if (Array.isArray(value)) value.forEach((element, index) => pathsOf(element, [...path, index], found));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) pathsOf(child, [...path, key], found);
  }
  return found;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

/** A copy with the value at `path` replaced (or removed when `replacement` is REMOVE). */
const REMOVE = Symbol('remove');
function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const copy = clone(value);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path.at(-1)!;
  if (replacement === REMOVE) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else {
    // defineProperty: `__proto__` and friends become own keys, as JSON.parse makes them on the server.
    Object.defineProperty(parent, key, {
      value: replacement,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

const ONE_MEGABYTE = 'A'.repeat(1024 * 1024);

const NUL_STRINGS = ['a\u0000b', '\u0000', 'note\u0000'];
const LONE_SURROGATES = ['note\uD800', '\uDFFFtext', '\uDBFF', 'a\uDC00\uD800b'];
const HOSTILE_STRINGS = [
  '',
  ' \t\n\u00A0 ',
  'note_00000000-0000-0000-0000-00000000000g',
  '12345 ',
  '-1',
  '0x1F',
  '١٢٣',
  '../../etc/passwd',
  '%00',
  '\u202E',
];
const HUGE_NUMBERS = [
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  -1,
  -(2 ** 31),
  0.5,
  1e-300,
  Number.MAX_VALUE,
  -0.0001,
];
const UNKNOWN_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'role',
  'isAdmin',
  'userId',
  '',
  ' fanId',
  'FANID',
];

const otherJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.string({ maxLength: 8 }),
);

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Replaces the JSON of the value at `path` with `text` (for values JSON.stringify cannot make). */
function rawWith(value: unknown, path: Path, text: string): string {
  const marker = `__hardening_${Math.random().toString(36).slice(2)}__`;
  return JSON.stringify(setAt(value, path, marker)).replace(JSON.stringify(marker), text);
}

/** The ways one valid value is broken, by kind; each picks where in the value to break it. */
function corruptions(value: unknown): Record<string, fc.Arbitrary<Candidate>> {
  const paths = pathsOf(value);
  const inner = paths.filter((path) => path.length > 0);
  const objects = paths.filter((path) => {
    const node = getAt(value, path);
    return typeof node === 'object' && node !== null && !Array.isArray(node);
  });
  const anywhere = fc.constantFrom(...(inner.length ? inner : [[]]));
  const text = JSON.stringify(value) ?? 'null';
  const replaceWith = (kind: string, values: readonly unknown[]) =>
    fc
      .tuple(anywhere, fc.constantFrom(...values))
      .map(([path, replacement]): Candidate => ({ kind, value: setAt(value, path, replacement) }));

  const kinds: Record<string, fc.Arbitrary<Candidate>> = {
    'field left out': anywhere.map((path) => ({ kind: 'field left out', value: setAt(value, path, REMOVE) })),
    'wrong type': fc
      .tuple(anywhere, otherJson)
      .map(([path, replacement]) => ({ kind: 'wrong type', value: setAt(value, path, replacement) })),
    'NUL byte': replaceWith('NUL byte', NUL_STRINGS),
    'lone surrogate': replaceWith('lone surrogate', LONE_SURROGATES),
    '1 MB string': replaceWith('1 MB string', [ONE_MEGABYTE]),
    'hostile string': replaceWith('hostile string', HOSTILE_STRINGS),
    'huge number': replaceWith('huge number', HUGE_NUMBERS),
    'number past double range': fc
      .tuple(
        anywhere,
        fc.constantFrom('1e400', '-1e400', `1${'0'.repeat(400)}`, '9007199254740993', '-0.0e-999'),
      )
      .map(([path, number]) => ({ kind: 'number past double range', raw: rawWith(value, path, number) })),
    'deep nesting': fc
      .tuple(anywhere, fc.constantFrom(MAX_JSON_DEPTH + 1, 1_000, 100_000))
      .map(([path, depth]) => ({ kind: 'deep nesting', raw: rawWith(value, path, nested(depth)) })),
    'body not an object': fc
      .oneof(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
        fc.string({ maxLength: 5 }),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
      )
      .map((body) => ({ kind: 'body not an object', value: body })),
    'malformed JSON': fc
      .tuple(
        fc.nat({ max: Math.max(0, text.length - 1) }),
        fc.constantFrom('truncate', 'trailing comma', 'garbage', 'single quotes', 'NaN', 'comment'),
      )
      .map(([at, how]) => ({
        kind: 'malformed JSON',
        raw:
          how === 'truncate'
            ? text.slice(0, at)
            : how === 'trailing comma'
              ? `${text.slice(0, -1)},}`
              : how === 'garbage'
                ? `${text}}{`
                : how === 'single quotes'
                  ? text.replaceAll('"', "'")
                  : how === 'NaN'
                    ? `{"n":NaN,${text.slice(1)}`
                    : `/* c */${text}`,
      })),
    'invalid UTF-8': fc
      .constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf])
      .map((bytes) => {
        // Inside the first string of the body, or at its start.
        const buffer = Buffer.from(text, 'utf8');
        const quote = buffer.indexOf(0x22);
        const at = quote >= 0 ? quote + 1 : 0;
        return {
          kind: 'invalid UTF-8',
          raw: Buffer.concat([buffer.subarray(0, at), Buffer.from(bytes), buffer.subarray(at)]),
        };
      }),
  };
  if (objects.length > 0) {
    kinds['unknown field'] = fc
      .tuple(
        fc.constantFrom(...objects),
        fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ minLength: 1, maxLength: 12 })),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .filter(([path, key]) => !Object.prototype.hasOwnProperty.call(getAt(value, path), key))
      .map(([path, key, extra]) => ({ kind: 'unknown field', value: setAt(value, [...path, key], extra) }));
    kinds['duplicate key'] = fc.constantFrom(...objects).chain((path) => {
      const node = getAt(value, path) as Record<string, unknown>;
      // A key of the object, or (for an empty one) a key it should have had.
      const keys = Object.keys(node).length ? Object.keys(node) : ['fanId'];
      return fc
        .tuple(fc.constantFrom(...keys), otherJson, fc.boolean())
        .map(([key, other, first]): Candidate => {
          // `"key": other` beside the real one, before or after it: the server must judge what
          // JSON.parse makes of the text (the last one wins), as the suite's judge does.
          const pair = `${JSON.stringify(key)}:${JSON.stringify(other)}`;
          const own = JSON.stringify(node);
          const body =
            own === '{}'
              ? `{${pair},${pair}}`
              : first
                ? `{${pair},${own.slice(1)}`
                : `${own.slice(0, -1)},${pair}}`;
          return { kind: 'duplicate key', raw: rawWith(value, path, body) };
        });
    });
  }
  const arrays = paths.filter(
    (path) => Array.isArray(getAt(value, path)) && (getAt(value, path) as unknown[]).length > 0,
  );
  if (arrays.length > 0) {
    kinds['array over its limit'] = fc.constantFrom(...arrays).map((path) => {
      const array = getAt(value, path) as unknown[];
      return {
        kind: 'array over its limit',
        value: setAt(
          value,
          path,
          Array.from({ length: 101 }, (_, i) => array[i % array.length]),
        ),
      };
    });
  }
  return kinds;
}

/** The kinds every endpoint must have been sent (the issue names them). */
export const REQUIRED_KINDS = [
  'NUL byte',
  'lone surrogate',
  'huge number',
  'deep nesting',
  '1 MB string',
  'duplicate key',
];

/** Invalid and hostile variants of valid values: of the given kinds, or of any kind. */
export function hostileArbitrary(
  valid: fc.Arbitrary<unknown>,
  only?: readonly string[],
): fc.Arbitrary<Candidate> {
  return valid.chain((value) => {
    const kinds = corruptions(value);
    const chosen = (only ?? Object.keys(kinds))
      .map((kind) => kinds[kind])
      .filter((kind) => kind !== undefined);
    return fc.oneof(...chosen);
  });
}

export type Verdict = 'valid' | 'invalid' | 'too large';

/** What the server makes of a request body (body-guard.ts): the parsed value, or why it refuses it. */
export type BodyView = { input: unknown } | { verdict: 'invalid' | 'too large' };

/**
 * A body read the way the server reads one: too large, not UTF-8, nested too deep, not JSON, not an
 * object where REST needs one; an empty body is `empty`.
 */
export function bodyView(
  bytes: Uint8Array | undefined,
  options: { requireObject: boolean; empty: unknown },
): BodyView {
  if (bytes === undefined || bytes.length === 0) return { input: options.empty };
  if (bytes.length > MAX_BODY_BYTES) return { verdict: 'too large' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { verdict: 'invalid' };
  }
  if (depthOf(text) > MAX_JSON_DEPTH) return { verdict: 'invalid' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { verdict: 'invalid' };
  }
  if (options.requireObject && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))) {
    return { verdict: 'invalid' };
  }
  return { input: parsed };
}

/** The bytes a candidate puts on the wire as a body (undefined: no body). */
export function candidateBytes(
  candidate: Candidate,
  value: unknown = 'value' in candidate ? candidate.value : undefined,
): Uint8Array | undefined {
  if ('raw' in candidate)
    return typeof candidate.raw === 'string' ? Buffer.from(candidate.raw, 'utf8') : candidate.raw;
  const text = JSON.stringify(value);
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

function depthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return deepest;
}
