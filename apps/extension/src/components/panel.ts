import type { NoteType } from '@fannotes/contract';
// The note kinds alone: the contract's main entry would bring zod into the page.
import { defaultNoteType, noteTypes } from '@fannotes/contract/note-kinds';
import type { DetectedFan } from '../utils/detect-fan.ts';
import { displayNotes, type DisplayNote } from '../utils/local-view.ts';
import type { Reply } from '../utils/messages.ts';
import type { FanView, LiveState, NoteEdit, OutboxEntry, SyncStatus, UnsavedEdit } from '../utils/model.ts';
import { pageIsDark } from '../utils/theme.ts';
import { summarizeUnsaved } from '../utils/unsaved.ts';
import { panelCss } from './panel-styles.ts';

/** The stable hook for automation and user styles. */
export const PANEL_HOST_ID = 'fannotes-panel';

const COLORS: [string, string | null][] = [
  ['No colour', null],
  ['Red', '#F04438'],
  ['Orange', '#F79009'],
  ['Yellow', '#FDB022'],
  ['Green', '#12B76A'],
  ['Blue', '#00AFF0'],
  ['Purple', '#7A5AF8'],
];

export interface PanelState {
  fan: DetectedFan;
  view: FanView | null;
  outbox: OutboxEntry[];
  status: SyncStatus | null;
  /** The background's live-update stream (`open`: teammates' changes show as they happen). */
  live?: LiveState | null;
  /** Every edit of the user that the API did not save (this fan's are listed, others counted). */
  unsaved?: UnsavedEdit[];
  /** How to name the other fans with unsaved edits (from their cached views), by fan id. */
  fanNames?: Record<string, string>;
}

export interface PanelActions {
  save(noteId: string | undefined, edit: NoteEdit): Promise<Reply>;
  remove(noteId: string): Promise<Reply>;
  keep(originalId: string, copyId: string, keep: 'original' | 'copy'): Promise<Reply>;
  refresh(): Promise<Reply>;
  openOptions(): Promise<Reply>;
  dismissUnsaved(id: number): Promise<Reply>;
  retryUnsaved(id: number): Promise<Reply>;
}

/** What the status chip says: signed out and errors first, then offline, pending, syncing, synced. */
export function statusLabel(
  status: SyncStatus | null,
  pending: number,
  stale = false,
): { state: string; text: string; detail: string | null } {
  const queued = pending > 0 ? `${pending} pending` : null;
  switch (status?.state) {
    case 'signed-out':
      return { state: 'signed-out', text: 'Signed out', detail: status.message };
    case 'error':
      return { state: 'error', text: queued ? `Error · ${queued}` : 'Error', detail: status.message };
    case 'offline':
      return { state: 'offline', text: queued ? `Offline · ${queued}` : 'Offline', detail: status.message };
    case 'syncing':
      return { state: 'syncing', text: queued ? `Syncing · ${queued}` : 'Syncing…', detail: null };
    default:
      if (queued) return { state: 'pending', text: queued, detail: null };
      // A teammate changed this fan while no panel showed it: the cached notes are behind.
      if (stale) return { state: 'syncing', text: 'Updating…', detail: null };
      return status
        ? { state: 'synced', text: 'Synced', detail: null }
        : { state: 'syncing', text: 'Starting…', detail: null };
  }
}

type Child = Node | string | null | false | undefined;

function h<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  props: Record<string, string | boolean | ((event: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = doc.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') element.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(key, '');
    else if (value !== false) element.setAttribute(key, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

interface Editing {
  noteId: string;
  content: string;
  type: NoteType;
  color: string | null;
}

/**
 * The CRM panel: a host element (`#fannotes-panel`) with an open shadow root, fixed to the right edge
 * of the viewport so that OnlyFans' own layout never moves, attached to `<html>` outside the subtree
 * Vue manages, and re-attached if the page removes it. Plain DOM: the content script stays small.
 */
export function createPanel(doc: Document, actions: PanelActions) {
  const host = h(doc, 'div', { id: PANEL_HOST_ID, hidden: true });
  const root = host.attachShadow({ mode: 'open' });
  const style = h(doc, 'style');
  style.textContent = panelCss;
  const title = h(doc, 'h2', { id: 'fannotes-title' });
  const status = h(doc, 'span', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const collapse = h(
    doc,
    'button',
    { class: 'icon', type: 'button', 'aria-expanded': 'true', title: 'Hide notes' },
    '–',
  );
  const refresh = h(
    doc,
    'button',
    { class: 'icon', type: 'button', 'aria-label': 'Refresh notes', title: 'Refresh' },
    '↻',
  );
  const notice = h(doc, 'div', { class: 'notice', hidden: true });
  const unsavedBox = h(doc, 'section', {
    class: 'unsaved',
    'aria-labelledby': 'fannotes-unsaved',
    hidden: true,
  });
  const list = h(doc, 'ul', { 'aria-label': 'Notes' });
  const addText = h(doc, 'textarea', {
    'aria-label': 'New note',
    placeholder: 'Add a note… (Ctrl+Enter to save)',
  });
  const addType = typeSelect(doc, defaultNoteType, 'Type of the new note');
  const addColor = colorSelect(doc, null, 'Colour of the new note');
  const addPin = h(doc, 'input', { type: 'checkbox', 'aria-label': 'Pin the new note' });
  const addButton = h(doc, 'button', { class: 'primary', type: 'submit' }, 'Add');
  const addForm = h(
    doc,
    'form',
    { 'aria-label': 'Add a note' },
    addText,
    h(
      doc,
      'div',
      { class: 'row' },
      addType,
      addColor,
      h(doc, 'label', { class: 'check' }, addPin, 'Pin'),
      h(doc, 'span', { class: 'grow' }),
      addButton,
    ),
  );
  const panel = h(
    doc,
    'section',
    { class: 'panel', 'aria-labelledby': 'fannotes-title' },
    h(doc, 'header', {}, title, status, refresh, collapse),
    notice,
    h(doc, 'div', { class: 'body' }, unsavedBox, addForm, list),
  );
  root.append(style, panel);

  let state: PanelState | null = null;
  let editing: Editing | null = null;
  let confirmDelete: string | null = null;
  let error: string | null = null;
  /** The unsaved edit whose text was just copied (or selected, when the clipboard said no). */
  let copied: { id: number; how: 'copied' | 'selected' } | null = null;
  let copiedTimer: ReturnType<typeof setTimeout> | undefined;

  const report = async (reply: Promise<Reply>) => {
    const result = await reply.catch((cause: unknown) => ({ ok: false as const, error: String(cause) }));
    error = result.ok ? null : result.error;
    draw();
    return result.ok;
  };

  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = addText.value.trim();
    if (!content) return addText.focus();
    const edit: NoteEdit = {
      content,
      type: addType.value as NoteType,
      color: addColor.value || null,
      isPinned: addPin.checked,
    };
    void report(actions.save(undefined, edit)).then((ok) => {
      if (!ok) return;
      addText.value = '';
      addPin.checked = false;
    });
  });
  addText.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) addForm.requestSubmit();
  });
  refresh.addEventListener('click', () => void report(actions.refresh()));
  collapse.addEventListener('click', () => {
    const collapsed = panel.classList.toggle('collapsed');
    collapse.textContent = collapsed ? '+' : '–';
    collapse.setAttribute('aria-expanded', String(!collapsed));
    collapse.title = collapsed ? 'Show notes' : 'Hide notes';
  });

  function noteItem(note: DisplayNote, original: DisplayNote | null): HTMLElement {
    const isEditing = editing?.noteId === note.id;
    const badges = h(
      doc,
      'div',
      { class: 'badges' },
      note.isPinned && h(doc, 'span', { class: 'badge pinned' }, 'Pinned'),
      h(doc, 'span', { class: 'badge type' }, note.type),
      note.source === 'onlyfans' &&
        h(doc, 'span', { class: 'badge onlyfans', title: 'Imported from OnlyFans' }, 'OnlyFans note'),
      note.color &&
        h(
          doc,
          'span',
          { class: 'badge', title: note.color },
          h(doc, 'span', { class: 'swatch', style: `background:${note.color}` }),
          ` ${colorName(note.color)}`,
        ),
      note.pending && h(doc, 'span', { class: 'badge pending' }, 'Pending'),
    );
    const item = h(
      doc,
      original ? 'div' : 'li',
      {
        class: original ? 'conflict' : 'note',
        'data-note-id': note.id,
        'data-source': note.source,
        'data-pending': String(note.pending),
        ...(note.color ? { style: `--note-color:${note.color}` } : {}),
      },
      original && h(doc, 'p', { class: 'conflict-title' }, 'Conflicting version: keep one'),
      badges,
    );
    if (isEditing && editing) {
      item.append(editor(editing));
    } else {
      item.append(h(doc, 'p', { class: 'content' }, note.content));
      item.append(original ? conflictActions(original, note) : noteActions(note));
    }
    for (const copy of note.conflicts) item.append(noteItem(copy, note));
    return item;
  }

  function noteActions(note: DisplayNote): HTMLElement {
    const deleting = confirmDelete === note.id;
    return h(
      doc,
      'div',
      { class: 'actions' },
      h(doc, 'button', { type: 'button', onclick: () => startEdit(note) }, 'Edit'),
      h(
        doc,
        'button',
        {
          type: 'button',
          'aria-pressed': String(note.isPinned),
          onclick: () => void report(actions.save(note.id, { isPinned: !note.isPinned })),
        },
        note.isPinned ? 'Unpin' : 'Pin',
      ),
      h(
        doc,
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: () => {
            if (!deleting) {
              confirmDelete = note.id;
              return draw();
            }
            confirmDelete = null;
            void report(actions.remove(note.id));
          },
          onblur: () => {
            if (confirmDelete === note.id)
              setTimeout(() => {
                confirmDelete = null;
                draw();
              }, 150);
          },
        },
        deleting ? 'Confirm delete' : 'Delete',
      ),
    );
  }

  function conflictActions(original: DisplayNote, copy: DisplayNote): HTMLElement {
    return h(
      doc,
      'div',
      { class: 'actions' },
      h(
        doc,
        'button',
        { type: 'button', onclick: () => void report(actions.keep(original.id, copy.id, 'copy')) },
        'Keep this version',
      ),
      h(
        doc,
        'button',
        { type: 'button', onclick: () => void report(actions.keep(original.id, copy.id, 'original')) },
        'Keep the other',
      ),
    );
  }

  /**
   * Edits the API did not save, listed until their author dismisses them: what the change was, its
   * text (selectable, with a copy button), why, in plain words, and "Try again" when the refusal was
   * about the fan (a role that may be restored). Other fans' are counted, with links to them.
   */
  function drawUnsaved(fanId: string, view: FanView | null, all: readonly UnsavedEdit[]) {
    const mine = all.filter((item) => item.fanId === fanId);
    const others = new Map<string, number>();
    for (const item of all)
      if (item.fanId !== fanId) others.set(item.fanId, (others.get(item.fanId) ?? 0) + 1);
    unsavedBox.hidden = mine.length === 0 && others.size === 0;
    if (unsavedBox.hidden) return unsavedBox.replaceChildren();
    const names = state?.fanNames ?? {};
    unsavedBox.replaceChildren(
      h(doc, 'h3', { id: 'fannotes-unsaved' }, mine.length > 0 ? `Not saved (${mine.length})` : 'Not saved'),
    );
    if (mine.length > 0) {
      unsavedBox.append(
        h(doc, 'ul', { 'aria-label': 'Changes not saved' }, ...mine.map((item) => unsavedItem(item, view))),
      );
    }
    if (others.size > 0) {
      unsavedBox.append(
        h(
          doc,
          'p',
          { class: 'unsaved-others' },
          mine.length > 0 ? 'Also, for other fans: ' : 'Changes for other fans: ',
          ...[...others].flatMap(([otherId, count], index) => [
            index > 0 ? ', ' : '',
            h(doc, 'a', { href: `/my/chats/chat/${otherId}/` }, names[otherId] ?? `fan #${otherId}`),
            ` (${count})`,
          ]),
        ),
      );
    }
  }

  function unsavedItem(item: UnsavedEdit, view: FanView | null): HTMLElement {
    const id = item.mutation.id;
    const summary = summarizeUnsaved(item, view, colorName);
    const text = summary.text === null ? null : h(doc, 'p', { class: 'unsaved-text' }, summary.text);
    const copy = () => {
      if (!text || summary.text === null) return;
      const done = (how: 'copied' | 'selected') => {
        copied = { id, how };
        clearTimeout(copiedTimer);
        copiedTimer = setTimeout(() => {
          copied = null;
          draw();
        }, 4000);
        draw();
        // The list was drawn again: select the new text element, so Ctrl+C works from there too.
        if (how === 'selected') selectText(root.querySelector(`[data-unsaved-id="${id}"] .unsaved-text`));
      };
      // The clipboard may be refused (no focus, a policy): then the text is selected for Ctrl+C.
      if (!navigator.clipboard) return done('selected');
      navigator.clipboard.writeText(summary.text).then(
        () => done('copied'),
        () => done('selected'),
      );
    };
    const feedback =
      copied?.id === id ? (copied.how === 'copied' ? 'Copied' : 'Selected: press Ctrl+C') : null;
    return h(
      doc,
      'li',
      { class: 'unsaved-item', 'data-unsaved-id': String(id), 'data-kind': item.kind },
      h(doc, 'p', { class: 'unsaved-what' }, summary.what, summary.context && ` ${summary.context}`),
      text,
      h(doc, 'p', { class: 'unsaved-reason' }, summary.reason),
      h(
        doc,
        'div',
        { class: 'actions' },
        text && h(doc, 'button', { type: 'button', class: 'primary', onclick: copy }, 'Copy text'),
        summary.canRetry &&
          h(
            doc,
            'button',
            { type: 'button', onclick: () => void report(actions.retryUnsaved(id)) },
            'Try again',
          ),
        h(
          doc,
          'button',
          { type: 'button', onclick: () => void report(actions.dismissUnsaved(id)) },
          'Dismiss',
        ),
        feedback && h(doc, 'span', { class: 'copied', role: 'status' }, feedback),
      ),
    );
  }

  function selectText(element: Element | null) {
    const selection = doc.getSelection();
    if (!element || !selection) return;
    const range = doc.createRange();
    range.selectNodeContents(element);
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function startEdit(note: DisplayNote) {
    editing = { noteId: note.id, content: note.content, type: note.type, color: note.color };
    draw();
    root.querySelector<HTMLTextAreaElement>('textarea[data-editor]')?.focus();
  }

  function editor(draft: Editing): HTMLElement {
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
      h(
        doc,
        'div',
        { class: 'row' },
        type,
        color,
        h(doc, 'span', { class: 'grow' }),
        h(
          doc,
          'button',
          {
            type: 'button',
            onclick: () => {
              editing = null;
              draw();
            },
          },
          'Cancel',
        ),
        h(doc, 'button', { type: 'submit', class: 'primary' }, 'Save'),
      ),
    );
    const submit = () => {
      void report(
        actions.save(draft.noteId, { content: draft.content, type: draft.type, color: draft.color }),
      ).then((ok) => {
        if (ok && editing === draft) editing = null;
        draw();
      });
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit();
    });
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        editing = null;
        draw();
      } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      }
    });
    return form;
  }

  function draw() {
    if (!state) return;
    const { fan, view, outbox } = state;
    const pending = outbox.length;
    const label = statusLabel(state.status, pending, view?.staleVersion != null);
    title.replaceChildren(
      'Notes ',
      h(
        doc,
        'small',
        {},
        fan.name
          ? `${fan.name}${fan.username ? ` @${fan.username}` : ''}`
          : fan.username
            ? `@${fan.username}`
            : `#${fan.fanId}`,
      ),
    );
    status.dataset.state = label.state;
    status.textContent = label.text;
    status.title =
      label.detail ?? (state.live === 'open' ? "Live: teammates' changes show as they happen" : '');
    status.dataset.live = state.live ?? 'idle';

    const messages = [
      error,
      label.detail,
      view?.error,
      // Written by versions before the unsaved list; gone with the next answer about the fan.
      ...(view?.rejected ?? []).map((r) => `A change was refused: ${r.reason}`),
    ];
    const unique = [...new Set(messages.filter((m): m is string => Boolean(m)))];
    notice.hidden = unique.length === 0;
    notice.replaceChildren(unique.join(' · '));
    if (label.state === 'signed-out') {
      notice.append(
        h(doc, 'button', { type: 'button', onclick: () => void actions.openOptions() }, 'Options'),
      );
    }

    // Keep the caret where it was when a sync re-renders the note being edited.
    const active = root.activeElement as HTMLTextAreaElement | null;
    const caret = active?.matches('textarea[data-editor]')
      ? [active.selectionStart, active.selectionEnd]
      : null;
    // The item a focused button belongs to, as a selector that finds it again once redrawn.
    const focusedItem = active?.closest<HTMLElement>('[data-note-id], [data-unsaved-id]');
    const focusedId = focusedItem?.dataset.noteId
      ? `[data-note-id="${CSS.escape(focusedItem.dataset.noteId)}"]`
      : focusedItem?.dataset.unsavedId
        ? `[data-unsaved-id="${CSS.escape(focusedItem.dataset.unsavedId)}"]`
        : null;
    const focusedLabel = active instanceof HTMLButtonElement ? active.textContent : null;

    drawUnsaved(fan.fanId, view, state.unsaved ?? []);
    const notes = displayNotes(view, outbox, fan.fanId);
    if (editing && !notes.some((note) => note.id === editing?.noteId)) editing = null;
    list.replaceChildren(...notes.map((note) => noteItem(note, null)));
    if (notes.length === 0)
      list.append(
        h(doc, 'li', { class: 'empty' }, view?.syncedAt ? 'No notes about this fan yet.' : 'Loading notes…'),
      );

    if (caret) {
      const text = root.querySelector<HTMLTextAreaElement>('textarea[data-editor]');
      text?.focus();
      text?.setSelectionRange(caret[0] ?? 0, caret[1] ?? 0);
    } else if (focusedId && focusedLabel) {
      const buttons = root.querySelectorAll<HTMLButtonElement>(`${focusedId} button`);
      [...buttons].find((button) => button.textContent === focusedLabel)?.focus();
    }
  }

  const applyTheme = () => host.setAttribute('data-theme', pageIsDark(doc) ? 'dark' : 'light');
  const themeWatch = new MutationObserver(applyTheme);
  // OnlyFans re-renders freely: if our host is removed, put it back (at most once per change).
  const attachWatch = new MutationObserver(() => {
    if (!host.hidden && !host.isConnected) doc.documentElement.append(host);
  });

  const watched = new Set<Element>();
  const watch = () => {
    if (watched.size === 0) attachWatch.observe(doc.documentElement, { childList: true });
    for (const element of [doc.documentElement, doc.body]) {
      if (!element || watched.has(element)) continue;
      watched.add(element);
      themeWatch.observe(element, { attributes: true, attributeFilter: ['class', 'style', 'data-theme'] });
    }
  };

  return {
    host,
    render(next: PanelState | null) {
      if (next === null) {
        state = null;
        host.hidden = true;
        return;
      }
      if (state?.fan.fanId !== next.fan.fanId) {
        editing = null;
        confirmDelete = null;
        error = null;
        copied = null;
      }
      state = next;
      watch();
      if (!host.isConnected) doc.documentElement.append(host);
      host.hidden = false;
      applyTheme();
      draw();
    },
    destroy() {
      clearTimeout(copiedTimer);
      attachWatch.disconnect();
      themeWatch.disconnect();
      host.remove();
    },
  };
}

function typeSelect(doc: Document, value: NoteType, label: string): HTMLSelectElement {
  const select = h(doc, 'select', { 'aria-label': label });
  for (const type of noteTypes)
    select.append(h(doc, 'option', { value: type, selected: type === value }, type));
  return select;
}

function colorSelect(doc: Document, value: string | null, label: string): HTMLSelectElement {
  const select = h(doc, 'select', { 'aria-label': label });
  const known = COLORS.some(([, color]) => color === value);
  const options = known || value === null ? COLORS : [...COLORS, [value, value] as [string, string]];
  for (const [name, color] of options)
    select.append(h(doc, 'option', { value: color ?? '', selected: color === value }, name));
  return select;
}

function colorName(color: string): string {
  return COLORS.find(([, value]) => value === color.toUpperCase())?.[0] ?? color;
}
