import type { Note, SyncNotesData, SyncNotesInput } from '@fannotes/contract';
import { TRPCClientError } from '@trpc/client';

export const FAN = '100000123';
export const ACCOUNT = '0b6f3c1e-8f5e-4f7a-9d55-2a1b3c4d5e6f';
export const USER = '11111111-1111-4111-8111-111111111111';

/** A note as the API returns it. */
export function note(id: string, fields: Partial<Note> = {}): Note {
  return {
    id,
    fanId: FAN,
    accountId: ACCOUNT,
    content: `text of ${id}`,
    type: 'personal',
    color: null,
    isPinned: false,
    source: 'onlyautomator',
    onlyFansNoteId: null,
    conflictOf: null,
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    createdBy: USER,
    updatedBy: USER,
    ...fields,
  };
}

export function noteId(n: number): string {
  return `note_00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** A sync answer: `fields` override a full, synchronised answer with no notes. */
export function syncData(fields: Partial<SyncNotesData> = {}): SyncNotesData {
  const notes = fields.notes ?? [];
  return {
    synchronized: true,
    noteCount: notes.length,
    notes,
    timestamp: '2026-01-01T00:00:00.000Z',
    cursor: 'v1.1',
    reset: true,
    deletedNoteIds: [],
    lastMutationId: null,
    results: [],
    throttled: false,
    nextSyncAt: null,
    more: false,
    ...fields,
  };
}

/** What tRPC's client throws for an error answer of the API (`status` 0: no answer at all). */
export function apiError(
  status: number,
  code: string,
  headers: Record<string, string> = {},
  details?: Record<string, unknown>,
): TRPCClientError<never> {
  if (status === 0) return TRPCClientError.from<never>(new TypeError('Failed to fetch'));
  const data = { code, httpStatus: status, ...(details ? { details } : {}) };
  return new TRPCClientError(`${code} happened`, {
    result: { error: { message: `${code} happened`, code: -32000, data } },
    meta: { response: new Response(null, { status, headers }) },
  } as never);
}

/** A push refused for its fan, as the API answers it: recorded, with the ids it refused now. */
export function refusal(
  status: 400 | 403 | 404,
  lastMutationId: number,
  refusedMutationIds: number[],
): TRPCClientError<never> {
  const code = { 400: 'validation_error', 403: 'permission_denied', 404: 'resource_not_found' }[status];
  return apiError(status, code, {}, { lastMutationId, refusedMutationIds });
}

/** A JWT-shaped token with these claims (unsigned: the extension never verifies, the API does). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

export type SyncCall = SyncNotesInput;
