import {
  MAX_INVITE_HOURS,
  parseInviteCode,
  roles,
  type Invite,
  type Member,
  type Role,
} from '@fannotes/contract';
import { classifyFailure } from './api-client.ts';

/**
 * The Team screen's rules, as the API enforces them (DESIGN.md, "Tenancy and roles"): owners and
 * managers manage members and invites; only an owner makes, changes or removes an owner (or invites
 * one); anyone may leave. The screen shows only the controls the API would accept, so that a click
 * never meets a 403; the API still decides.
 */

export const roleLabels: Record<Role, string> = {
  owner: 'Owner',
  manager: 'Manager',
  chatter: 'Chatter',
  viewer: 'Viewer',
};

/** What each role may do, in a line, for the role pickers. */
export const roleHelp: Record<Role, string> = {
  owner: 'everything, including owners',
  manager: 'writes notes, manages the team',
  chatter: 'reads and writes notes',
  viewer: 'reads notes',
};

export function canManage(role: Role): boolean {
  return role === 'owner' || role === 'manager';
}

/** The roles `myRole` may give (to an invite or a member): an owner any, a manager all but owner. */
export function assignableRoles(myRole: Role): Role[] {
  if (myRole === 'owner') return [...roles];
  if (myRole === 'manager') return roles.filter((role) => role !== 'owner');
  return [];
}

export interface MemberControls {
  /** The roles offered for this member (theirs included), or null: no role picker. */
  roles: Role[] | null;
  /** "Remove" for others, "Leave" for yourself; null: no button. */
  remove: 'remove' | 'leave' | null;
}

/**
 * The controls on one member's row for the signed-in user (`me`: their id and role on the account;
 * `owners`: how many owners the account has). Your own role is not changed from your own row (an
 * owner stepping down asks another owner), so that nobody locks themselves out with one click; leaving
 * is offered to everyone but the last owner (an account always keeps one).
 */
export function memberControls(
  me: { userId: string; role: Role },
  member: Member,
  owners: number,
): MemberControls {
  if (member.userId === me.userId) {
    return { roles: null, remove: me.role === 'owner' && owners <= 1 ? null : 'leave' };
  }
  if (!canManage(me.role)) return { roles: null, remove: null };
  if (member.role === 'owner' && me.role !== 'owner') return { roles: null, remove: null };
  return { roles: assignableRoles(me.role), remove: 'remove' };
}

/** Whether `me` may revoke this invite (only an owner revokes an owner invite). */
export function canRevoke(myRole: Role, invite: Invite): boolean {
  return canManage(myRole) && (invite.role !== 'owner' || myRole === 'owner') && invite.status === 'active';
}

/** How long an invite lasts: the choices offered, in hours (the API allows 1 to MAX_INVITE_HOURS). */
export const expiryChoices: { hours: number; label: string }[] = [
  { hours: 1, label: '1 hour' },
  { hours: 24, label: '1 day' },
  { hours: 72, label: '3 days' },
  { hours: MAX_INVITE_HOURS, label: '7 days' },
];

/**
 * The invite code in what someone pasted: a code in any case, with or without dashes and spaces, or a
 * whole invite link or message containing one.
 */
export function readInviteText(text: string): { code: string } | { error: string } {
  if (text.trim() === '') return { error: 'Paste the invite code or link you were sent.' };
  const code = parseInviteCode(text);
  return code
    ? { code }
    : {
        error:
          'That is not an invite code. A code starts with FN- and has 26 more letters and digits; you can also paste the whole invite link.',
      };
}

/** An invite's state in a few words, for its row: "3 days left · 0 of 1 used", "Expired"... */
export function inviteSummary(invite: Invite, now: number): string {
  const uses = `${invite.uses} of ${invite.maxUses} used`;
  switch (invite.status) {
    case 'revoked':
      return `Revoked · ${uses}`;
    case 'expired':
      return `Expired · ${uses}`;
    case 'used_up':
      return `Used up · ${uses}`;
    case 'active':
      return `${timeLeft(Date.parse(invite.expiresAt) - now)} left · ${uses}`;
  }
}

function timeLeft(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/**
 * Any failure of a Team call in words for the person at the screen: what happened and what to do.
 * The API's own message is used where it is already written for people (its 400s and 403s say which
 * rule was hit); the technical ones get a sentence.
 */
export function teamErrorMessage(error: unknown, now = Date.now()): string {
  const failure = classifyFailure(error, now);
  switch (failure.kind) {
    case 'offline':
      return 'The FanNotes API cannot be reached. Check your connection, or the API URL in Settings below.';
    case 'auth':
      return 'You are not signed in (or your session has expired). Sign in, then reload this page.';
    case 'not-found':
      return /invite/i.test(failure.message)
        ? 'This invite does not work: it may be mistyped, expired, revoked or used up. Ask for a new one.'
        : 'This is no longer there: a teammate may have changed it. The list has been refreshed.';
    case 'retry':
      return failure.code === 'rate_limit_exceeded'
        ? 'Too many tries in a short time. Wait a minute, then try again.'
        : 'The FanNotes API is busy right now. Try again in a moment.';
    case 'refused':
      if (failure.code === 'permission_denied')
        return `Your role does not allow this. ${sentence(failure.message)}`;
      return sentence(failure.message);
  }
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
