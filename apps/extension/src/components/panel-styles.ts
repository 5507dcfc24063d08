/** The panel's styles, inside its shadow root: nothing leaks into OnlyFans' page, nothing leaks in. */
export const panelCss = `
:host {
  all: initial;
  position: fixed;
  top: 72px;
  right: 16px;
  z-index: 2147483000;
  width: 320px;
  max-height: calc(100vh - 96px);
  display: flex;
  font: 13px/1.4 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  --bg: #ffffff; --fg: #1b1b1f; --muted: #6b7280; --line: #e4e6eb; --card: #f7f8fa;
  --accent: #00aff0; --accent-fg: #ffffff; --danger: #d92d20; --focus: #0086c0;
  --warn-bg: #fffaeb; --warn-line: #fedf89; --warn-fg: #93370d;
  color-scheme: light;
}
:host([data-theme="dark"]) {
  --bg: #1c1c20; --fg: #f2f2f4; --muted: #a0a3ab; --line: #34353b; --card: #26272c;
  --focus: #5fd0ff;
  --warn-bg: #2a2214; --warn-line: #5c4a1e; --warn-fg: #fdb022;
  color-scheme: dark;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.panel {
  display: flex; flex-direction: column; width: 100%; max-height: inherit;
  background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 12px;
  box-shadow: 0 8px 24px rgba(0,0,0,.18); overflow: hidden;
}
header { display: flex; align-items: center; gap: 6px; padding: 10px 12px; border-bottom: 1px solid var(--line); }
header h2 { margin: 0; font-size: 14px; font-weight: 600; flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
header h2 small { color: var(--muted); font-weight: 400; }
.status { font-size: 11px; padding: 2px 8px; border-radius: 999px; background: var(--card); color: var(--muted); white-space: nowrap; }
.status[data-state="synced"] { color: #12b76a; }
.status[data-state="pending"], .status[data-state="syncing"] { color: var(--accent); }
.status[data-state="offline"], .status[data-state="error"], .status[data-state="signed-out"] { color: var(--danger); }
.notice { margin: 8px 12px 0; padding: 6px 8px; border-radius: 8px; background: var(--card); color: var(--danger); font-size: 12px; }
.notice button { margin-left: 6px; }
.body { overflow-y: auto; padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 10px; }
.collapsed .body, .collapsed .notice { display: none; }
button, select, textarea, input {
  font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
}
button { cursor: pointer; padding: 4px 10px; }
button.icon { padding: 2px 8px; line-height: 1.2; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { color: var(--danger); }
button:hover { filter: brightness(.96); }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
textarea { width: 100%; min-height: 60px; resize: vertical; padding: 6px 8px; }
select { padding: 3px 6px; max-width: 112px; }
.row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.row .grow { flex: 1; }
label.check { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); }
ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.note { background: var(--card); border-radius: 10px; padding: 8px 10px; border-left: 4px solid var(--note-color, transparent); }
.note[data-pending="true"] { opacity: .85; border-style: dashed; }
.badges { display: flex; gap: 4px; flex-wrap: wrap; margin-bottom: 4px; }
.badge { font-size: 10px; text-transform: uppercase; letter-spacing: .03em; padding: 1px 6px; border-radius: 999px; background: var(--bg); color: var(--muted); border: 1px solid var(--line); }
.badge.onlyfans { color: var(--accent); border-color: var(--accent); }
.badge.pending { color: #b54708; border-color: #fdb022; }
.badge.pinned { color: var(--fg); }
.content { margin: 0 0 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.actions { display: flex; gap: 4px; }
.actions button { font-size: 12px; padding: 2px 8px; }
.conflict { margin-top: 8px; padding: 6px 8px; border: 1px dashed var(--danger); border-radius: 8px; }
.conflict-title { font-size: 11px; color: var(--danger); margin: 0 0 4px; }
.empty { color: var(--muted); text-align: center; margin: 4px 0; }
.unsaved { border: 1px solid var(--warn-line); background: var(--warn-bg); border-radius: 10px; padding: 8px 10px; }
.unsaved h3 { margin: 0 0 6px; font-size: 12px; font-weight: 600; color: var(--warn-fg); }
.unsaved ul { gap: 10px; }
.unsaved-item + .unsaved-item { border-top: 1px solid var(--warn-line); padding-top: 8px; }
.unsaved-what { margin: 0 0 4px; font-size: 11px; font-weight: 600; color: var(--warn-fg); text-transform: uppercase; letter-spacing: .03em; }
.unsaved-text { margin: 0 0 6px; padding: 6px 8px; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 9em; overflow-y: auto; user-select: text; }
.unsaved-reason { margin: 0 0 6px; font-size: 12px; color: var(--fg); }
.unsaved .actions { align-items: center; flex-wrap: wrap; }
.unsaved .copied { font-size: 11px; color: var(--muted); }
.unsaved-others { margin: 6px 0 0; font-size: 12px; color: var(--fg); }
.unsaved-others a { color: var(--focus); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; vertical-align: middle; }
`;
