import { z } from 'zod';

/** An OnlyFans user id: decimal digits, as OnlyFans prints them (`"12345"`). */
export const OnlyFansUserId = z
  .string()
  .regex(/^[1-9][0-9]{0,19}$/, { message: 'must be an OnlyFans user id (decimal digits)' });

/** A fan is named by its OnlyFans user id, unique within an account. */
export const FanId = OnlyFansUserId;
export type FanId = z.infer<typeof FanId>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in canonical form, normalised to lower case. */
export const Uuid = z
  .string()
  .regex(UUID, { message: 'must be a UUID' })
  .transform((value) => value.toLowerCase());

/** Our id of an account (one OnlyFans creator page managed in the CRM). */
export const AccountId = Uuid;

/** A Supabase Auth user id (the JWT's `sub`). */
export const UserId = Uuid;

/** `note_<uuid>`; clients may make their own for offline creates. */
export const NoteId = z
  .string()
  .regex(/^note_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: 'must be note_<uuid>',
  })
  .transform((value) => value.toLowerCase());
export type NoteId = z.infer<typeof NoteId>;

/** An ISO 8601 timestamp in UTC, as the API writes them. */
export const Timestamp = z.string().meta({ format: 'date-time', example: '2023-03-16T09:45:12.000Z' });
