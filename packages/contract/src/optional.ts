import { z } from 'zod';

/**
 * An optional field of a request: left out, or `null`, which means the same. Python's `None`, and
 * most JSON encoders, write a value that is not there as `null`; a REST caller sending
 * `{"fanId": "1", "cursor": null}` meant no cursor. Handlers see `undefined` for both.
 * Not for a field where `null` says something of its own: a note's `color: null` clears its colour.
 */
export function optional<T extends z.ZodType>(schema: T) {
  // The outer optional() keeps the key optional in the output type too (a transform alone makes it a
  // required key whose value may be undefined).
  return schema
    .nullable()
    .transform((value): z.output<T> | undefined => value ?? undefined)
    .optional();
}

/** A request flag with a default: left out or `null` is `fallback`. */
export function flag(fallback: boolean) {
  return z
    .boolean()
    .nullish()
    .transform((value) => value ?? fallback);
}
