/**
 * The kinds of a note, declared once: the contract's zod enums (notes.ts), the database's columns and
 * check constraints (@fannotes/db schema/notes.ts), sync-core's defaults and the extension's type
 * picker all read these. Plain constants, no zod: the extension's page script and the database schema
 * import this file alone (`@fannotes/contract/note-kinds`) without bringing zod in.
 */

/** What a note is about; a note written without one is `personal`. */
export const noteTypes = ['personal', 'preferences', 'payment', 'content', 'other'] as const;
export const defaultNoteType = 'personal' satisfies (typeof noteTypes)[number];

/** Where a note was written: in the CRM (`onlyautomator`), or on OnlyFans and imported (`onlyfans`). */
export const noteSources = ['onlyautomator', 'onlyfans'] as const;
