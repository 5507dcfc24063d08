/** A note id made here for an offline create, in the protocol's `note_<uuid>` form. */
export function randomNoteId(): string {
  return `note_${crypto.randomUUID()}`;
}
