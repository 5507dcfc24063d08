import { z } from 'zod';
import { AccountId, FanId, Timestamp } from './ids.ts';
import { optional } from './optional.ts';
import { userText } from './text.ts';

/** POST /api/v2/fans: register a fan of an account, or update their username or name. */
export const UpsertFanInput = z.strictObject({
  accountId: AccountId,
  fanId: FanId,
  username: optional(userText('username', 100)),
  name: optional(userText('name', 200)),
});
export type UpsertFanInput = z.input<typeof UpsertFanInput>;

export const Fan = z.object({
  accountId: z.string(),
  fanId: z.string(),
  username: z.string().nullable(),
  name: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Fan = z.infer<typeof Fan>;
