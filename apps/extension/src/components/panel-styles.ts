/** The panel's styles, inside its shadow root: nothing leaks into OnlyFans' page, nothing leaks in. */
export const panelCss = `
:host {
  all: initial;
  position: fixed;
  top: 72px;
  right: 16px;
  z-index: 2147483000;
  width: 320px;
  max-height: var(--fannotes-max-height, calc(100vh - 96px));
  display: flex;
  font: 13px/1.4 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  --bg: #ffffff; --fg: #1b1b1f; --muted: #5f6570; --line: #e4e6eb; --card: #f7f8fa;
  --accent: #00aff0; --accent-fg: #ffffff; --danger: #d92d20; --focus: #0086c0; --ok: #087443;
  --warn-bg: #fffaeb; --warn-line: #fedf89; --warn-fg: #93370d; --pending: #b54708;
  color-scheme: light;
}
:host([data-theme="dark"]) {
  --bg: #1c1c20; --fg: #f2f2f4; --muted: #a0a3ab; --line: #34353b; --card: #26272c;
  --focus: #5fd0ff; --danger: #f97066; --ok: #47cd89;
  --warn-bg: #2a2214; --warn-line: #5c4a1e; --warn-fg: #fdb022; --pending: #fdb022;
  color-scheme: dark;
}
:host([hidden]) { display: none; }
:host([data-collapsed]) { right: 0; width: auto; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.panel {
  display: flex; flex-direction: column; width: 100%; max-height: inherit;
  background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 12px;
  box-shadow: 0 8px 24px rgba(0,0,0,.18); overflow: hidden;
}
header { display: flex; align-items: flex-start; gap: 6px; padding: 10px 12px 8px; border-bottom: 1px solid var(--line); }
.heading { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 14px; font-weight: 600; overflow-wrap: anywhere; }
header h2 .kicker { color: var(--muted); font-weight: 400; }
.meta { display: flex; align-items: center; gap: 6px; margin-top: 2px; min-width: 0; }
.handle { color: var(--muted); font-size: 12px; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.status { flex: none; font-size: 11px; padding: 1px 8px; border-radius: 999px; background: var(--card); color: var(--muted); white-space: nowrap; }
.status[data-state="synced"] { color: var(--ok); }
.status[data-state="pending"], .status[data-state="syncing"] { color: var(--focus); }
.status[data-state="offline"] { color: var(--pending); }
.status[data-state="error"], .status[data-state="signed-out"] { color: var(--danger); }
.notice { margin: 8px 12px 0; padding: 6px 8px; border-radius: 8px; background: var(--card); color: var(--danger); font-size: 12px; }
.notice[data-state="offline"] { color: var(--fg); background: var(--warn-bg); border: 1px solid var(--warn-line); }
.notice button { margin-left: 6px; }
.compose { padding: 10px 12px 0; display: flex; flex-direction: column; gap: 8px; }
.add .row { display: none; margin-top: 6px; }
.add:focus-within .row, .add.filled .row, .add.held .row { display: flex; }
.add textarea { min-height: 34px; height: 34px; }
.add:focus-within textarea, .add.filled textarea, .add.held textarea { height: 64px; }
.read-only { margin: 0; font-size: 12px; color: var(--muted); }
.filter { width: 100%; padding: 5px 8px; }
.body { overflow-y: auto; padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 10px; min-height: 0; }
button, select, textarea, input {
  font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
}
button { cursor: pointer; padding: 4px 10px; }
button.icon { padding: 2px 8px; line-height: 1.2; flex: none; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { color: var(--danger); }
button:hover { filter: brightness(.96); }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
textarea { width: 100%; min-height: 60px; resize: vertical; padding: 6px 8px; display: block; }
select { padding: 3px 6px; max-width: 112px; }
.row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.row .grow { flex: 1; }
label.check { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); }
ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.note { background: var(--card); border-radius: 10px; padding: 8px 10px; border-left: 4px solid var(--note-color, transparent); }
.note[data-pending="true"] { border-left: 3px dashed var(--note-color, var(--pending)); padding-left: 11px; }
.badges { display: flex; gap: 4px; flex-wrap: wrap; margin-bottom: 4px; }
.badge { font-size: 10px; text-transform: uppercase; letter-spacing: .03em; padding: 1px 6px; border-radius: 999px; background: var(--bg); color: var(--muted); border: 1px solid var(--line); }
.badge.onlyfans { color: var(--focus); border-color: var(--accent); }
.badge.pending { color: var(--pending); border-color: #fdb022; }
.badge.pinned { color: var(--fg); }
.content { margin: 0 0 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
.hint { margin: 0 0 4px; font-size: 11px; color: var(--muted); }
.foot { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 8px; }
.byline { flex: 1 1 0; min-width: 96px; margin: 0; font-size: 11px; color: var(--muted); }
.foot .actions { flex: none; }
.actions { display: flex; gap: 4px; flex-wrap: wrap; }
.actions button { font-size: 12px; padding: 2px 8px; }
.version-title { font-size: 11px; font-weight: 600; color: var(--muted); margin: 0 0 2px; }
.conflict { margin-top: 8px; padding: 6px 8px; border: 1px dashed var(--danger); border-radius: 8px; }
.conflict-title { font-size: 11px; color: var(--danger); margin: 0 0 4px; font-weight: 600; }
.empty { color: var(--muted); text-align: center; margin: 4px 0; }
.unsaved { border: 1px solid var(--warn-line); background: var(--warn-bg); border-radius: 10px; padding: 8px 10px; }
.unsaved h3 { margin: 0 0 6px; font-size: 12px; font-weight: 600; color: var(--warn-fg); }
.unsaved ul { gap: 10px; }
.unsaved-item + .unsaved-item { border-top: 1px solid var(--warn-line); padding-top: 8px; }
.unsaved-what { margin: 0 0 4px; font-size: 11px; font-weight: 600; color: var(--warn-fg); text-transform: uppercase; letter-spacing: .03em; }
.unsaved-text { margin: 0 0 6px; padding: 6px 8px; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 9em; overflow-y: auto; user-select: text; }
.unsaved-reason { margin: 0 0 6px; font-size: 12px; color: var(--fg); }
.unsaved .actions { align-items: center; }
.unsaved .copied { font-size: 11px; color: var(--muted); }
.unsaved-others { margin: 6px 0 0; font-size: 12px; color: var(--fg); }
.unsaved-others a { color: var(--focus); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; vertical-align: middle; }
.tab {
  display: flex; flex-direction: column; align-items: center; gap: 6px; width: 28px; padding: 10px 0;
  border-radius: 10px 0 0 10px; border-right: 0; background: var(--bg); color: var(--fg);
  box-shadow: 0 4px 14px rgba(0,0,0,.18); font-size: 12px; font-weight: 600;
}
.tab-label { writing-mode: vertical-rl; transform: rotate(180deg); letter-spacing: .04em; }
.tab .count { font-size: 11px; font-weight: 400; color: var(--muted); }
.tab .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--ok); }
.tab[data-state="pending"] .dot, .tab[data-state="syncing"] .dot { background: var(--accent); }
.tab[data-state="offline"] .dot { background: var(--pending); }
.tab[data-state="error"] .dot, .tab[data-state="signed-out"] .dot { background: var(--danger); }
`;
