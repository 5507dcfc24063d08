import type { AppRouter } from '@fannotes/api/router';
import type {
  Account,
  AddMemberInput,
  CreatedInvite,
  CreateInviteInput,
  Fan,
  Invite,
  Member,
  Profile,
  RedeemedInvite,
  RemovedMember,
  RemoveMemberInput,
  RevokeInviteInput,
  SyncNotesData,
  SyncNotesInput,
  UpsertFanInput,
} from '@fannotes/contract';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { parseRetryAfter } from './backoff.ts';

/** The calls the runner makes; the real one is tRPC over HTTP, tests pass a fake. */
export interface SyncApi {
  sync(input: SyncNotesInput): Promise<SyncNotesData>;
  listAccounts(): Promise<Account[]>;
  registerAccount(input: { onlyFansUserId: string; username: string }): Promise<Account>;
  upsertFan(input: UpsertFanInput): Promise<Fan>;
}

/** The members lookup that names the authors of notes: never part of a sync (utils/members-refresh.ts). */
export interface MembersApi {
  listMembers(accountId: string): Promise<Member[]>;
}

/**
 * Why a call failed, as the runner acts on it:
 * - `offline`: no answer (network down, API stopped, DNS): retry with backoff;
 * - `auth`: 401, the session is missing or expired: pause until the user signs in again;
 * - `not-found`: 404, the fan (or account) is unknown: register it, then retry;
 * - `retry`: 409, 429, 503 and 5xx: retry after `Retry-After` or with backoff;
 * - `refused`: 400 or 403: retrying the same request cannot help; wait for the user.
 */
export interface ApiFailure {
  kind: 'offline' | 'auth' | 'not-found' | 'retry' | 'refused';
  /** The API's error code (`sync_in_progress`...), when it answered. */
  code: string | null;
  message: string;
  retryAfterMs: number | null;
  /**
   * A push refused for its fan (400, 403, 404) that the server recorded as processed: the client's
   * new last processed id, and the ids of the request it refused now (docs/PROTOCOL.md, "Refusals").
   */
  refusal: { lastMutationId: number; refusedMutationIds: number[] } | null;
  /** 400: the fan is in several of the caller's accounts and the request named none. */
  ambiguous?: boolean;
}

/** The Team screen's calls (options page), on the same typed client and session as the runner's. */
export interface TeamApi {
  accounts(): Promise<Account[]>;
  members(accountId: string): Promise<Member[]>;
  /** Changes an existing member's role (nobody joins without an invite). */
  setRole(input: AddMemberInput): Promise<Member>;
  removeMember(input: RemoveMemberInput): Promise<RemovedMember>;
  createInvite(input: CreateInviteInput): Promise<CreatedInvite>;
  invites(accountId: string): Promise<Invite[]>;
  revokeInvite(input: RevokeInviteInput): Promise<Invite>;
  redeem(code: string): Promise<RedeemedInvite>;
  profile(): Promise<Profile>;
  setDisplayName(displayName: string): Promise<Profile>;
}

function trpcClient(apiUrl: string, getToken: () => Promise<string | null>) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${apiUrl.replace(/\/+$/, '')}/trpc`,
        headers: async () => {
          const token = await getToken();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}

/** The typed tRPC client of `apiUrl`, authenticated with `getToken()` on every call. */
export function createSyncApi(apiUrl: string, getToken: () => Promise<string | null>): SyncApi & MembersApi {
  const client = trpcClient(apiUrl, getToken);
  return {
    sync: async (input) => (await client.notes.sync.mutate(input)).data,
    listAccounts: async () => (await client.accounts.list.query()).data,
    registerAccount: async (input) => (await client.accounts.register.mutate(input)).data,
    upsertFan: async (input) => (await client.fans.upsert.mutate(input)).data,
    listMembers: async (accountId) => (await client.accounts.members.query({ accountId })).data,
  };
}

export function createTeamApi(apiUrl: string, getToken: () => Promise<string | null>): TeamApi {
  const client = trpcClient(apiUrl, getToken);
  return {
    accounts: async () => (await client.accounts.list.query()).data,
    members: async (accountId) => (await client.accounts.members.query({ accountId })).data,
    setRole: async (input) => (await client.accounts.addMember.mutate(input)).data,
    removeMember: async (input) => (await client.accounts.removeMember.mutate(input)).data,
    createInvite: async (input) => (await client.accounts.createInvite.mutate(input)).data,
    invites: async (accountId) => (await client.accounts.invites.query({ accountId })).data,
    revokeInvite: async (input) => (await client.accounts.revokeInvite.mutate(input)).data,
    redeem: async (code) => (await client.invites.redeem.mutate({ code })).data,
    profile: async () => (await client.profile.get.query()).data,
    setDisplayName: async (displayName) => (await client.profile.update.mutate({ displayName })).data,
  };
}

/** Reads any error thrown by a `SyncApi` call. */
export function classifyFailure(error: unknown, now: number): ApiFailure {
  if (!(error instanceof TRPCClientError)) {
    return { kind: 'offline', code: null, message: errorMessage(error), retryAfterMs: null, refusal: null };
  }
  const data = error.data as { code?: unknown; httpStatus?: unknown; details?: unknown } | undefined;
  const response = (error.meta as { response?: Response } | undefined)?.response;
  const status = typeof data?.httpStatus === 'number' ? data.httpStatus : (response?.status ?? 0);
  const code = typeof data?.code === 'string' ? data.code : null;
  const retryAfterMs = parseRetryAfter(response?.headers.get('retry-after'), now);
  const failure = (kind: ApiFailure['kind']): ApiFailure => ({
    kind,
    code,
    message: error.message,
    retryAfterMs,
    refusal: null,
  });
  // No HTTP status: the request never got an answer (fetch rejected).
  if (status === 0) return { ...failure('offline'), message: errorMessage(error.cause ?? error) };
  if (status === 401) return failure('auth');
  if (status === 404) return { ...failure('not-found'), refusal: refusalOf(data?.details) };
  if (status === 400 || status === 403) {
    const ambiguous =
      status === 400 && Array.isArray((data?.details as { accountIds?: unknown })?.accountIds);
    return { ...failure('refused'), refusal: refusalOf(data?.details), ...(ambiguous ? { ambiguous } : {}) };
  }
  if (status === 413 || status === 415) return failure('refused');
  return failure('retry');
}

function refusalOf(details: unknown): ApiFailure['refusal'] {
  if (typeof details !== 'object' || details === null) return null;
  const { lastMutationId, refusedMutationIds } = details as Record<string, unknown>;
  if (typeof lastMutationId !== 'number' || !Array.isArray(refusedMutationIds)) return null;
  if (!refusedMutationIds.every((id): id is number => typeof id === 'number')) return null;
  return { lastMutationId, refusedMutationIds };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
