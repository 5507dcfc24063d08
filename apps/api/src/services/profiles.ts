import type { Profile } from '@fannotes/contract';
import { profiles, type Database, type Transaction } from '@fannotes/db';
import { eq, sql } from 'drizzle-orm';
import type { AuthUser } from '../auth/verify-token.ts';
import type { AuthedContext } from '../context.ts';

/**
 * What teammates see for a member who has no name yet (no profile row: they have not called the API
 * since names were introduced, or their token carries neither a name nor an email).
 */
export const fallbackDisplayName = (userId: string): string => `Member ${userId.slice(0, 8)}`;

/**
 * Keeps the caller's display name as their token gives it (AuthUser.tokenName), unless they set their
 * own. Run where a session starts (accounts.list, accounts.register, invites.redeem, profile.get),
 * never on notes.sync, whose round trips are counted. One statement, which writes only when there is
 * no row yet or the token's name changed: `ON CONFLICT ... DO UPDATE ... WHERE` leaves an unchanged
 * row as it is.
 */
export async function refreshProfileFromToken(
  db: Database | Transaction,
  user: AuthUser,
  now: Date,
): Promise<void> {
  await db
    .insert(profiles)
    .values({
      userId: user.userId,
      displayName: user.tokenName ?? fallbackDisplayName(user.userId),
      nameSource: 'token',
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: profiles.userId,
      set: { displayName: sql`excluded.display_name`, updatedAt: sql`excluded.updated_at` },
      setWhere: sql`${profiles.nameSource} = 'token' and ${profiles.displayName} is distinct from excluded.display_name`,
    });
}

function toProfile(row: typeof profiles.$inferSelect): Profile {
  return { userId: row.userId, displayName: row.displayName, updatedAt: row.updatedAt.toISOString() };
}

/** GET /api/v2/profile: the caller's profile, refreshed from their token first. */
export async function getProfile(ctx: AuthedContext): Promise<Profile> {
  const { db } = ctx.deps;
  await refreshProfileFromToken(db, ctx.user, ctx.deps.now());
  const [row] = await db.select().from(profiles).where(eq(profiles.userId, ctx.user.userId));
  return toProfile(row!);
}

/** POST /api/v2/profile: the caller sets their own display name; their token's name no longer replaces it. */
export async function updateProfile(ctx: AuthedContext, displayName: string): Promise<Profile> {
  const now = ctx.deps.now();
  const [row] = await ctx.deps.db
    .insert(profiles)
    .values({ userId: ctx.user.userId, displayName, nameSource: 'member', updatedAt: now })
    .onConflictDoUpdate({
      target: profiles.userId,
      set: { displayName, nameSource: 'member', updatedAt: now },
    })
    .returning();
  return toProfile(row!);
}
