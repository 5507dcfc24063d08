import type { FanView, UnsavedEdit } from './model.ts';

/** An unsaved edit as the panel shows it. Types only from the contract: this runs in the page. */
export interface UnsavedSummary {
  /** What the change was: "New note", "Edit", "Delete", "Pin, colour or type". */
  what: string;
  /** The text the user wrote, to show and copy; null when the change carried none. */
  text: string | null;
  /** Which note a change without text was about (its text as last synced), and what it changed. */
  context: string | null;
  /** Why it was not saved, in plain words. */
  reason: string;
  /** Whether sending it again may work: the refusal was about the fan (a role, a membership). */
  canRetry: boolean;
}

export function summarizeUnsaved(
  item: UnsavedEdit,
  view: FanView | null,
  colorName: (color: string) => string = (color) => color,
): UnsavedSummary {
  const { mutation } = item;
  const known = view?.notes.find((note) => note.id === mutation.noteId);
  const quoted = known ? `“${snippet(known.content)}”` : 'a note';
  const common = { reason: plainReason(item), canRetry: item.kind === 'refused' };
  if (mutation.op === 'delete') return { ...common, what: 'Delete', text: null, context: `of ${quoted}` };
  const { content, type, color, isPinned } = mutation.note;
  if (content !== undefined)
    return { ...common, what: known ? 'Edit' : 'New note', text: content, context: null };
  const changes = [
    isPinned === undefined ? null : isPinned ? 'pin' : 'unpin',
    color === undefined ? null : color === null ? 'no colour' : `colour ${colorName(color)}`,
    type === undefined ? null : `type ${type}`,
  ].filter((change): change is string => change !== null);
  return {
    ...common,
    what: 'Pin, colour or type',
    text: null,
    context: `${changes.join(', ')} of ${quoted}`,
  };
}

/**
 * The API's reason in the words of someone who is not a developer: what happened, and what to do.
 * Unknown reasons are shown as the API gave them.
 */
export function plainReason(item: Pick<UnsavedEdit, 'kind' | 'code' | 'reason'>): string {
  const { kind, code, reason } = item;
  if (kind === 'refused') {
    if (code === 'permission_denied')
      return "Your role on this fan's account lets you read notes but not write them. Ask an owner or manager for write access, then try again.";
    // The extension tried to add the fan first: the reason is then why that did not work.
    if (code === 'resource_not_found')
      return `This fan is not in any of your FanNotes accounts. ${
        reason === 'Fan not found.' ? 'Ask an owner to add you or the fan, then try again.' : reason
      }`;
    if (code === 'validation_error' && reason.includes('several of your accounts'))
      return 'This fan is in several of your accounts, so FanNotes could not tell which one to save to.';
    return code === null ? reason : `The FanNotes API refused it: ${reason}`;
  }
  if (reason === 'note not found') return 'The note no longer exists.';
  if (reason === 'note was deleted') return 'Someone deleted the note in the meantime.';
  if (reason.startsWith('note was edited after'))
    return 'Someone changed this note after you last saw it, so it was not deleted. Look at the new text; delete it again if you still want to.';
  const full = /^this fan has (\d+) notes/.exec(reason);
  if (full) return `This fan already has ${full[1]} notes, the most one fan can have. Delete some first.`;
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}
