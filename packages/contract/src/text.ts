import { z } from 'zod';

// PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate would be silently replaced by U+FFFD on
// its way to the database: both would change what a user typed, so both are refused up front.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function codePointLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

// A character that shows something: not white space, not a control or format character (U+200B
// ZERO WIDTH SPACE, U+2060, U+FEFF...), not default-ignorable (variation selectors, U+3164 HANGUL
// FILLER...). `trim()` removes white space only, so "\u200B" alone was a 1-character note that
// showed nothing.
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Text typed by a person: trimmed, then 1 to `max` characters (Unicode code points, so an emoji
 * counts once), at least one of them visible, no NUL, no lone surrogate.
 */
export function userText(field: string, max: number) {
  return z
    .string()
    .trim()
    .min(1, { message: `${field} must not be empty` })
    .refine((value) => VISIBLE.test(value), { message: `${field} must contain a visible character` })
    .refine((value) => !value.includes('\u0000'), { message: `${field} must not contain NUL characters` })
    .refine((value) => !LONE_SURROGATE.test(value), { message: `${field} must be valid Unicode text` })
    .refine((value) => codePointLength(value) <= max, {
      message: `${field} must be at most ${max} characters`,
    });
}
