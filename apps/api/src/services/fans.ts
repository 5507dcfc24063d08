import type { Fan, UpsertFanInput } from '@fannotes/contract';
import { fans } from '@fannotes/db';
import { sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { requireRight, roleOn } from './authz.ts';
import { toFan } from './serialize.ts';

/** POST /api/v2/fans: registers a fan of an account, or updates their username or name. */
export async function upsertFan(ctx: AuthedContext, input: z.output<typeof UpsertFanInput>): Promise<Fan> {
  requireRight(await roleOn(ctx.deps.db, ctx.user.userId, input.accountId), 'write');
  const now = ctx.deps.now();
  const [row] = await ctx.deps.db
    .insert(fans)
    .values({
      accountId: input.accountId,
      fanId: input.fanId,
      username: input.username ?? null,
      name: input.name ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: [fans.accountId, fans.fanId],
      set: {
        username: input.username === undefined ? sql`${fans.username}` : input.username,
        name: input.name === undefined ? sql`${fans.name}` : input.name,
        updatedAt: now,
      },
    })
    .returning();
  return toFan(row!);
}
