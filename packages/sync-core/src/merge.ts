/**
 * An OnlyFans-sourced note as stored. `importedContent` is the text as last imported from OnlyFans,
 * so `content !== importedContent` means the CRM edited the note since.
 */
export interface StoredOnlyFansNote {
  id: string;
  onlyFansNoteId: string;
  content: string;
  importedContent: string;
  deleted: boolean;
}

/** A note as seen on OnlyFans right now. */
export interface OnlyFansNoteText {
  onlyFansNoteId: string;
  content: string;
}

/**
 * What the API does for one note. Every action that carries OnlyFans' text also stores it as the
 * note's `importedContent`, which is what makes a second merge of the same snapshot a no-op.
 */
export type SnapshotAction =
  /** New on OnlyFans: a new OnlyFans-sourced note (content and importedContent). */
  | { kind: 'create'; onlyFansNoteId: string; content: string }
  /** OnlyFans changed it and the CRM did not edit it since the import: take OnlyFans' text. */
  | { kind: 'update'; noteId: string; content: string }
  /** OnlyFans now shows the CRM's edited text: only record the import. */
  | { kind: 'acknowledge'; noteId: string; importedContent: string }
  /** Both changed: keep the CRM's text, record the import, save OnlyFans' text as a copy (`conflictOf`). */
  | { kind: 'conflict'; noteId: string; importedContent: string; copyContent: string }
  /** Deleted in the CRM, but OnlyFans' text changed since the import: bring it back with that text. */
  | { kind: 'restore'; noteId: string; content: string }
  /**
   * Gone from OnlyFans and not edited in the CRM since the import: make it a tombstone, no longer tied
   * to OnlyFans (source `onlyautomator`, no OnlyFans id, no imported text).
   */
  | { kind: 'delete'; noteId: string }
  /** Gone from OnlyFans but edited in the CRM since: keep it as a CRM note, no longer tied to OnlyFans. */
  | { kind: 'detach'; noteId: string }
  /**
   * Deleted in the CRM and now gone from OnlyFans too: the tombstone lets go of the OnlyFans id, as
   * `delete` leaves it. Nothing a client sees changes: a tombstone is only ever sent as its id.
   */
  | { kind: 'untie'; noteId: string };

/**
 * Merges the complete list of a fan's notes on OnlyFans into the stored OnlyFans-sourced notes.
 *
 * A note is tied to an OnlyFans id only while OnlyFans lists it. A note OnlyFans dropped lets go of
 * its id whatever its state (live and edited, live and unedited, or deleted in the CRM before), so a
 * CRM edit that brings it back makes a CRM note whether that edit reaches the server before or after
 * the snapshot that dropped it (issue #19: the two orders used to end differently), and OnlyFans
 * listing the id again later is a new OnlyFans note. A tombstone keeps its tie only while OnlyFans
 * still lists the note: that tie is what stops the next snapshot importing a note the CRM deleted.
 *
 * Invariants: no text is lost except CRM-unedited text that OnlyFans itself replaced or deleted; a CRM
 * delete is not undone by syncs that bring nothing new (only a change of the text on OnlyFans brings
 * a deleted note back; an id OnlyFans lists again after dropping it is imported as a new note); after
 * a merge, every stored note tied to an OnlyFans id, tombstones included, is one the snapshot lists;
 * merging the same snapshot again yields no actions.
 *
 *   on OnlyFans | stored note                              | action
 *   ------------+------------------------------------------+------------------------------------
 *   text T      | none                                     | create
 *   text T      | any, importedContent == T                | none (OnlyFans did not change it)
 *   text T      | live, content == importedContent         | update to T
 *   text T      | live, edited, content == T               | acknowledge T
 *   text T      | live, edited, content != T               | conflict (copy T)
 *   text T      | deleted                                  | restore with T
 *   absent      | live, content == importedContent         | delete (a tombstone, untied)
 *   absent      | live, edited                             | detach (a CRM note)
 *   absent      | deleted                                  | untie (a CRM tombstone)
 *
 * A snapshot naming one OnlyFans id twice is read as OnlyFans' latest word on it: the last entry wins
 * and earlier ones are ignored. Stored notes are expected to have distinct OnlyFans ids (the database
 * enforces it); should two share one, the first is merged and later ones count as absent from OnlyFans.
 * Output order is deterministic: snapshot order (at each id's last entry), then removals in stored order.
 */
export function mergeOnlyFansSnapshot(
  stored: readonly StoredOnlyFansNote[],
  snapshot: readonly OnlyFansNoteText[],
): SnapshotAction[] {
  const byOnlyFansId = new Map<string, StoredOnlyFansNote>();
  for (const note of stored) {
    if (!byOnlyFansId.has(note.onlyFansNoteId)) byOnlyFansId.set(note.onlyFansNoteId, note);
  }
  const lastEntry = new Map<string, number>();
  snapshot.forEach((entry, index) => lastEntry.set(entry.onlyFansNoteId, index));

  const actions: SnapshotAction[] = [];
  snapshot.forEach(({ onlyFansNoteId, content }, index) => {
    if (lastEntry.get(onlyFansNoteId) !== index) return;
    const note = byOnlyFansId.get(onlyFansNoteId);
    if (note === undefined) {
      actions.push({ kind: 'create', onlyFansNoteId, content });
      return;
    }
    if (content !== note.importedContent) actions.push(takeOnlyFansChange(note, content));
  });

  for (const note of stored) {
    const merged = byOnlyFansId.get(note.onlyFansNoteId) === note && lastEntry.has(note.onlyFansNoteId);
    if (!merged) actions.push({ kind: removal(note), noteId: note.id });
  }
  return actions;
}

/** The action for a stored note OnlyFans no longer lists. */
function removal(note: StoredOnlyFansNote): 'delete' | 'detach' | 'untie' {
  if (note.deleted) return 'untie';
  return note.content === note.importedContent ? 'delete' : 'detach';
}

/** The action for a stored note whose text OnlyFans changed since it was last imported. */
function takeOnlyFansChange(note: StoredOnlyFansNote, content: string): SnapshotAction {
  const noteId = note.id;
  if (note.deleted) return { kind: 'restore', noteId, content };
  if (note.content === note.importedContent) return { kind: 'update', noteId, content };
  if (note.content === content) return { kind: 'acknowledge', noteId, importedContent: content };
  return { kind: 'conflict', noteId, importedContent: content, copyContent: content };
}
