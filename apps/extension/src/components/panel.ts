import type { NoteType } from '@fannotes/contract';
// The note kinds alone: the contract's main entry would bring zod into the page.
import { defaultNoteType } from '@fannotes/contract/note-kinds';
import type { DetectedFan } from '../utils/detect-fan.ts';
import { COMPOSER_SELECTOR, panelMaxHeight } from '../utils/layout.ts';
import { displayNotes, type DisplayNote } from '../utils/local-view.ts';
import { canWrite, nobody, personName, type People } from '../utils/members.ts';
import type { Reply } from '../utils/messages.ts';
import type { FanView, LiveState, NoteEdit, OutboxEntry, SyncStatus, UnsavedEdit } from '../utils/model.ts';
import { countNotes, FILTER_THRESHOLD, filterNotes } from '../utils/note-filter.ts';
import { fanLabel } from '../utils/note-labels.ts';
import { panelNotices, statusLabel } from '../utils/status-label.ts';
import { pageIsDark } from '../utils/theme.ts';
import { h } from './dom.ts';
import { colorSelect, noteEditor, typeSelect, type Editing } from './note-editor.ts';
import { noteItem, type NoteItemEnv } from './note-item.ts';
import { panelCss } from './panel-styles.ts';
import { createUnsavedList } from './unsaved-list.ts';

/** The stable hook for automation and user styles. */
export const PANEL_HOST_ID = 'fannotes-panel';

/** Relative times ("5 min ago") are redrawn this often while the panel is open. */
const CLOCK_MS = 30_000;

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
  /** The signed-in user and the account's members, to name authors and know the user's role. */
  people?: People;
}

export interface PanelActions {
  save(noteId: string | undefined, edit: NoteEdit): Promise<Reply>;
  remove(noteId: string): Promise<Reply>;
  keep(originalId: string, copyId: string, keep: 'original' | 'copy'): Promise<Reply>;
  refresh(): Promise<Reply>;
  openOptions(): Promise<Reply>;
  dismissUnsaved(id: number): Promise<Reply>;
  retryUnsaved(id: number): Promise<Reply>;
  /** The chatter folded or unfolded the panel: remember it. */
  collapsedChanged(collapsed: boolean): void;
}

/**
 * The CRM panel: a host element (`#fannotes-panel`) with an open shadow root, fixed to the right edge
 * of the viewport so that OnlyFans' own layout never moves, attached to `<html>` outside the subtree
 * Vue manages, and re-attached if the page removes it. It stops above OnlyFans' message box, and
 * folds into a slim tab on the edge (its button, or Esc inside it). Plain DOM: the content script
 * stays small.
 *
 *   header       fan's name (never cut by the chip), handle, status chip, refresh, fold
 *   notice       what went wrong, in plain words
 *   compose      the add box (always in view, above the scrolling list), the filter past 10 notes
 *   body         not-saved edits, then the notes (scrolls)
 */
export function createPanel(doc: Document, actions: PanelActions, options: { now?: () => number } = {}) {
  const now = options.now ?? (() => Date.now());
  const host = h(doc, 'div', { id: PANEL_HOST_ID, hidden: true });
  const root = host.attachShadow({ mode: 'open' });
  const style = h(doc, 'style');
  style.textContent = panelCss;

  const fanName = h(doc, 'span', { class: 'fan' });
  const title = h(
    doc,
    'h2',
    { id: 'fannotes-title' },
    h(doc, 'span', { class: 'kicker' }, 'Notes'),
    ' ',
    fanName,
  );
  const handle = h(doc, 'span', { class: 'handle' });
  const status = h(doc, 'span', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const refresh = h(
    doc,
    'button',
    { class: 'icon', type: 'button', 'aria-label': 'Refresh notes', title: 'Refresh' },
    '↻',
  );
  const collapse = h(
    doc,
    'button',
    {
      class: 'icon',
      type: 'button',
      'aria-expanded': 'true',
      'aria-label': 'Hide notes',
      title: 'Hide notes (Esc)',
    },
    '›',
  );
  const notice = h(doc, 'div', { class: 'notice', hidden: true });

  const addText = h(doc, 'textarea', {
    'aria-label': 'New note',
    rows: '1',
    placeholder: 'Add a note… (Ctrl+Enter to save)',
  });
  const addType = typeSelect(doc, defaultNoteType, 'Type of the new note');
  const addColor = colorSelect(doc, null, 'Colour of the new note');
  const addPin = h(doc, 'input', { type: 'checkbox', 'aria-label': 'Pin the new note' });
  const addButton = h(doc, 'button', { class: 'primary', type: 'submit' }, 'Add');
  const addForm = h(
    doc,
    'form',
    { class: 'add', 'aria-label': 'Add a note' },
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
  const readOnly = h(
    doc,
    'p',
    { class: 'read-only', hidden: true },
    'View only: your role on this account can read notes, not change them.',
  );
  const filter = h(doc, 'input', {
    type: 'search',
    class: 'filter',
    'aria-label': 'Filter notes',
    hidden: true,
  });
  const compose = h(doc, 'div', { class: 'compose' }, addForm, readOnly, filter);

  const list = h(doc, 'ul', { 'aria-label': 'Notes' });
  const report = async (reply: Promise<Reply>) => {
    const result = await reply.catch((cause: unknown) => ({ ok: false as const, error: String(cause) }));
    error = result.ok ? null : result.error;
    draw();
    return result.ok;
  };
  const unsaved = createUnsavedList(
    doc,
    root,
    { dismiss: (id) => actions.dismissUnsaved(id), retry: (id) => actions.retryUnsaved(id) },
    (reply) => void report(reply),
    () => draw(),
  );
  const panel = h(
    doc,
    'section',
    { class: 'panel', 'aria-labelledby': 'fannotes-title' },
    h(
      doc,
      'header',
      {},
      h(doc, 'div', { class: 'heading' }, title, h(doc, 'div', { class: 'meta' }, handle, status)),
      refresh,
      collapse,
    ),
    notice,
    compose,
    h(doc, 'div', { class: 'body' }, unsaved.element, list),
  );
  const tabCount = h(doc, 'span', { class: 'count' });
  const tab = h(
    doc,
    'button',
    { class: 'tab', type: 'button', 'aria-expanded': 'false', hidden: true },
    h(doc, 'span', { class: 'dot' }),
    h(doc, 'span', { class: 'tab-label' }, 'Notes'),
    tabCount,
  );
  root.append(style, panel, tab);

  let state: PanelState | null = null;
  let editing: Editing | null = null;
  let confirmDelete: string | null = null;
  let error: string | null = null;
  let collapsed = false;
  let query = '';

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
      addForm.classList.remove('filled');
    });
  });
  addText.addEventListener('input', () => addForm.classList.toggle('filled', addText.value !== ''));
  addText.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) addForm.requestSubmit();
  });
  // Pressing a button below the open add box takes the focus from it: folding it then would move the
  // list up under the pointer, and the button pressed would miss its click. It folds after the click.
  panel.addEventListener('pointerdown', (event) => {
    if (!addForm.matches(':focus-within') || addForm.contains(event.target as Node)) return;
    addForm.classList.add('held');
    doc.addEventListener('pointerup', () => setTimeout(() => addForm.classList.remove('held')), {
      once: true,
      capture: true,
    });
  });
  filter.addEventListener('input', () => {
    query = filter.value;
    draw();
  });
  refresh.addEventListener('click', () => void report(actions.refresh()));

  const setCollapsed = (next: boolean, remember: boolean) => {
    if (next === collapsed) return;
    collapsed = next;
    panel.hidden = collapsed;
    tab.hidden = !collapsed;
    host.toggleAttribute('data-collapsed', collapsed);
    collapse.setAttribute('aria-expanded', String(!collapsed));
    if (remember) actions.collapsedChanged(collapsed);
    draw();
  };
  collapse.addEventListener('click', () => {
    setCollapsed(true, true);
    tab.focus();
  });
  tab.addEventListener('click', () => {
    setCollapsed(false, true);
    collapse.focus();
  });
  // Esc anywhere in the panel folds it (the editor's Esc cancels the edit first, and stops there).
  panel.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    if (event.target === filter && filter.value) return; // Esc in a filled search box clears it.
    setCollapsed(true, true);
    tab.focus();
  });

  const env = (people: People, writable: boolean): NoteItemEnv => ({
    doc,
    people,
    now: now(),
    canWrite: writable,
    confirmDelete,
    editing,
    editor: (draft) =>
      noteEditor(doc, draft, {
        cancel: () => {
          editing = null;
          draw();
        },
        save: (saved) =>
          void report(
            actions.save(saved.noteId, { content: saved.content, type: saved.type, color: saved.color }),
          ).then((ok) => {
            if (ok && editing === saved) editing = null;
            draw();
          }),
      }),
    edit: (note) => {
      editing = {
        noteId: note.id,
        source: note.source,
        content: note.content,
        type: note.type,
        color: note.color,
      };
      draw();
      root.querySelector<HTMLTextAreaElement>('textarea[data-editor]')?.focus();
    },
    togglePin: (note) => void report(actions.save(note.id, { isPinned: !note.isPinned })),
    remove: (note) => {
      if (confirmDelete !== note.id) {
        confirmDelete = note.id;
        return draw();
      }
      confirmDelete = null;
      void report(actions.remove(note.id));
    },
    forgetDelete: (note) => {
      if (confirmDelete === note.id)
        setTimeout(() => {
          confirmDelete = null;
          draw();
        }, 150);
    },
    keep: (original, copy, keep) => void report(actions.keep(original.id, copy.id, keep)),
  });

  function draw() {
    if (!state) return;
    const { fan, view, outbox } = state;
    const people = state.people ?? nobody;
    const writable = canWrite(people, state.unsaved ?? [], fan.fanId);
    const label = statusLabel(state.status, outbox.length, view?.staleVersion != null);
    const names = fanLabel(fan);
    fanName.textContent = names.name;
    handle.textContent = names.handle ?? '';
    handle.hidden = names.handle === null;
    status.dataset.state = label.state;
    status.textContent = label.text;
    status.title =
      label.detail ?? (state.live === 'open' ? "Live: teammates' changes show as they happen" : '');
    status.dataset.live = state.live ?? 'idle';

    const notes = displayNotes(view, outbox, fan.fanId, people.me);
    const total = countNotes(notes);
    tab.dataset.state = label.state;
    tabCount.textContent = String(total);
    tab.setAttribute('aria-label', `Show notes about ${names.name} (${total})`);
    tab.title = `${label.text}: show the notes`;
    if (collapsed) return;

    const lines = panelNotices(label, error, view);
    notice.hidden = lines.length === 0;
    notice.dataset.state = label.state;
    notice.replaceChildren(lines.join(' · '));
    if (label.state === 'signed-out') {
      notice.append(
        h(doc, 'button', { type: 'button', onclick: () => void actions.openOptions() }, 'Options'),
      );
    }
    addForm.hidden = !writable;
    readOnly.hidden = writable;
    filter.hidden = total <= FILTER_THRESHOLD;
    if (filter.hidden && query) query = filter.value = '';
    filter.placeholder = `Filter ${total} notes…`;

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

    unsaved.draw(fan.fanId, view, state.unsaved ?? [], state.fanNames ?? {});
    if (
      editing &&
      !notes.some(
        (note) => note.id === editing?.noteId || note.conflicts.some((c) => c.id === editing?.noteId),
      )
    )
      editing = null;
    if (!writable) editing = null;
    const author = (note: DisplayNote) => personName(note.createdBy, people);
    const shown = filterNotes(notes, query, author);
    const itemEnv = env(people, writable);
    list.replaceChildren(...shown.map((note) => noteItem(itemEnv, note)));
    if (notes.length === 0)
      list.append(
        h(doc, 'li', { class: 'empty' }, view?.syncedAt ? 'No notes about this fan yet.' : 'Loading notes…'),
      );
    else if (shown.length === 0)
      list.append(h(doc, 'li', { class: 'empty' }, `No note matches “${query.trim()}”.`));

    if (caret) {
      const text = root.querySelector<HTMLTextAreaElement>('textarea[data-editor]');
      text?.focus();
      text?.setSelectionRange(caret[0] ?? 0, caret[1] ?? 0);
    } else if (focusedId && focusedLabel) {
      const buttons = root.querySelectorAll<HTMLButtonElement>(`${focusedId} button`);
      [...buttons].find((button) => button.textContent === focusedLabel)?.focus();
    }
  }

  // Never over OnlyFans' message box: the panel's height stops above it, measured again when the
  // page changes (coalesced to one measure per frame) or the window is resized.
  const win = doc.defaultView;
  let fitFrame = 0;
  const fit = () => {
    fitFrame = 0;
    if (!win || host.hidden) return;
    const composer = doc.querySelector(COMPOSER_SELECTOR)?.getBoundingClientRect() ?? null;
    const max = panelMaxHeight({ width: win.innerWidth, height: win.innerHeight }, composer);
    host.style.setProperty('--fannotes-max-height', `${max}px`);
  };
  const scheduleFit = () => {
    if (!fitFrame && win) fitFrame = win.requestAnimationFrame(fit);
  };
  const layoutWatch = new MutationObserver(scheduleFit);
  win?.addEventListener('resize', scheduleFit);

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
    if (doc.body && !watched.has(host)) {
      watched.add(host);
      layoutWatch.observe(doc.body, { childList: true, subtree: true });
    }
  };
  const clock = setInterval(() => {
    if (state && !host.hidden && !collapsed && doc.visibilityState === 'visible') draw();
  }, CLOCK_MS);

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
        query = filter.value = '';
        unsaved.reset();
      }
      state = next;
      watch();
      if (!host.isConnected) doc.documentElement.append(host);
      host.hidden = false;
      applyTheme();
      fit();
      draw();
    },
    /** Fold or unfold, as remembered (not written back). */
    setCollapsed(next: boolean) {
      setCollapsed(next, false);
    },
    destroy() {
      clearInterval(clock);
      if (fitFrame) win?.cancelAnimationFrame(fitFrame);
      win?.removeEventListener('resize', scheduleFit);
      unsaved.destroy();
      attachWatch.disconnect();
      themeWatch.disconnect();
      layoutWatch.disconnect();
      host.remove();
    },
  };
}
