import type { Account } from '@fannotes/contract';

/**
 * Which account (agency) this browser works in for the OnlyFans creator logged in there. Several
 * agencies may register the same creator, and one person may belong to more than one of them:
 *   none of the user's accounts is for the creator  -> `register` (the user becomes owner of a new one);
 *   exactly one                                     -> `use` it, without asking;
 *   several, one of them chosen before              -> `use` the chosen one;
 *   several, none chosen (or the chosen one is gone) -> `ask` (Team screen), and write nothing meanwhile.
 */
export type AccountChoice =
  { kind: 'register' } | { kind: 'use'; account: Account } | { kind: 'ask'; accounts: Account[] };

export function chooseAccount(
  accounts: readonly Account[],
  creatorId: string,
  chosenId: string | null | undefined,
): AccountChoice {
  const candidates = accounts.filter((account) => account.onlyFansUserId === creatorId);
  const [only] = candidates;
  if (!only) return { kind: 'register' };
  if (candidates.length === 1) return { kind: 'use', account: only };
  const chosen = candidates.find((account) => account.id === chosenId);
  return chosen ? { kind: 'use', account: chosen } : { kind: 'ask', accounts: candidates };
}

/** The code of a refusal that waits for the user to choose an account (never sent by the API). */
export const ACCOUNT_CHOICE = 'account_choice';

/** The status line that sends a chatter to the Team screen when there is a choice to make. */
export function askMessage(creatorUsername: string | undefined): string {
  const who = creatorUsername ? `@${creatorUsername}` : 'this creator';
  return `You belong to several agencies that manage ${who}. Choose the one you work for in the FanNotes options (Team), then come back.`;
}
