import type { NoteSource, NoteType } from '@fannotes/contract';
// The note kinds alone: the contract's main entry would bring zod into the page.
import { noteTypes } from '@fannotes/contract/note-kinds';
import { COLORS, ONLYFANS_NOTE_HINT, typeLabel } from '../utils/note-labels.ts';
import { h } from './dom.ts';

/** A note being edited: the draft survives the re-renders a sync causes. */
export interface Editing {
  noteId: string;
  source: NoteSource;
  content: string;
  type: NoteType;
  color: string | null;
}

export function typeSelect(doc: Document, value: NoteType, label: string): HTMLSelectElement {
  const select = h(doc, 'select', { 'aria-label': label });
  for (const type of noteTypes)
    select.append(h(doc, 'option', { value: type, selected: type === value }, typeLabel(type)));
  return select;
}

export function colorSelect(doc: Document, value: string | null, label: string): HTMLSelectElement {
  const select = h(doc, 'select', { 'aria-label': label });
  const known = COLORS.some(([, color]) => color === value);
  const options = known || value === null ? COLORS : [...COLORS, [value, value] as const];
  for (const [name, color] of options)
    select.append(h(doc, 'option', { value: color ?? '', selected: color === value }, name));
  return select;
}

/**
 * The edit form of one note: text, type, colour; Ctrl+Enter saves, Esc cancels (and stops there:
 * Esc elsewhere in the panel folds it). An OnlyFans note says what saving changes.
 */
export function noteEditor(
  doc: Document,
  draft: Editing,
  on: { save(draft: Editing): void; cancel(): void },
): HTMLFormElement {
  const text = h(doc, 'textarea', { 'data-editor': true, 'aria-label': 'Note text' });
  text.value = draft.content;
  text.addEventListener('input', () => (draft.content = text.value));
  const type = typeSelect(doc, draft.type, 'Note type');
  type.addEventListener('change', () => (draft.type = type.value as NoteType));
  const color = colorSelect(doc, draft.color, 'Note colour');
  color.addEventListener('change', () => (draft.color = color.value || null));
  const form = h(
    doc,
    'form',
    { 'aria-label': 'Edit note' },
    text,
    draft.source === 'onlyfans' && h(doc, 'p', { class: 'hint' }, ONLYFANS_NOTE_HINT),
    h(
      doc,
      'div',
      { class: 'row' },
      type,
      color,
      h(doc, 'span', { class: 'grow' }),
      h(doc, 'button', { type: 'button', onclick: () => on.cancel() }, 'Cancel'),
      h(doc, 'button', { type: 'submit', class: 'primary' }, 'Save'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    on.save(draft);
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      on.cancel();
    } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      on.save(draft);
    }
  });
  return form;
}
