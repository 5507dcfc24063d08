import type { Reply } from '../utils/messages.ts';
import type { FanView, UnsavedEdit } from '../utils/model.ts';
import { colorName } from '../utils/note-labels.ts';
import { summarizeUnsaved } from '../utils/unsaved.ts';
import { h } from './dom.ts';

/**
 * Edits the API did not save, listed until their author dismisses them: what the change was, its
 * text (selectable, with a copy button), why, in plain words, and "Try again" when the refusal was
 * about the fan (a role that may be restored). Other fans' are counted, with links to them.
 */
export function createUnsavedList(
  doc: Document,
  root: ShadowRoot,
  actions: { dismiss(id: number): Promise<Reply>; retry(id: number): Promise<Reply> },
  report: (reply: Promise<Reply>) => void,
  redraw: () => void,
) {
  const box = h(doc, 'section', { class: 'unsaved', 'aria-labelledby': 'fannotes-unsaved', hidden: true });
  /** The unsaved edit whose text was just copied (or selected, when the clipboard said no). */
  let copied: { id: number; how: 'copied' | 'selected' } | null = null;
  let copiedTimer: ReturnType<typeof setTimeout> | undefined;

  function item(edit: UnsavedEdit, view: FanView | null): HTMLElement {
    const id = edit.mutation.id;
    const summary = summarizeUnsaved(edit, view, colorName);
    const text = summary.text === null ? null : h(doc, 'p', { class: 'unsaved-text' }, summary.text);
    const copy = () => {
      if (!text || summary.text === null) return;
      const done = (how: 'copied' | 'selected') => {
        copied = { id, how };
        clearTimeout(copiedTimer);
        copiedTimer = setTimeout(() => {
          copied = null;
          redraw();
        }, 4000);
        redraw();
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
      { class: 'unsaved-item', 'data-unsaved-id': String(id), 'data-kind': edit.kind },
      h(doc, 'p', { class: 'unsaved-what' }, summary.what, summary.context && ` ${summary.context}`),
      text,
      h(doc, 'p', { class: 'unsaved-reason' }, summary.reason),
      h(
        doc,
        'div',
        { class: 'actions' },
        text && h(doc, 'button', { type: 'button', class: 'primary', onclick: copy }, 'Copy text'),
        summary.canRetry &&
          h(doc, 'button', { type: 'button', onclick: () => report(actions.retry(id)) }, 'Try again'),
        h(doc, 'button', { type: 'button', onclick: () => report(actions.dismiss(id)) }, 'Dismiss'),
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

  return {
    element: box,
    draw(fanId: string, view: FanView | null, all: readonly UnsavedEdit[], names: Record<string, string>) {
      const mine = all.filter((edit) => edit.fanId === fanId);
      const others = new Map<string, number>();
      for (const edit of all)
        if (edit.fanId !== fanId) others.set(edit.fanId, (others.get(edit.fanId) ?? 0) + 1);
      box.hidden = mine.length === 0 && others.size === 0;
      if (box.hidden) return box.replaceChildren();
      box.replaceChildren(
        h(
          doc,
          'h3',
          { id: 'fannotes-unsaved' },
          mine.length > 0 ? `Not saved (${mine.length})` : 'Not saved',
        ),
      );
      if (mine.length > 0) {
        box.append(
          h(doc, 'ul', { 'aria-label': 'Changes not saved' }, ...mine.map((edit) => item(edit, view))),
        );
      }
      if (others.size > 0) {
        box.append(
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
    },
    /** A new fan: forget the copy feedback of the last one. */
    reset() {
      copied = null;
    },
    destroy() {
      clearTimeout(copiedTimer);
    },
  };
}
