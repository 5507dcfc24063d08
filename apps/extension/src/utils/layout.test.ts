import { expect, test } from 'vitest';
import { PANEL_TOP, panelMaxHeight } from './layout.ts';

const viewport = { width: 1280, height: 760 };
const box = (top: number, left: number, right: number) => ({
  top,
  left,
  right,
  width: right - left,
  height: 60,
});

test("the panel stops above OnlyFans' message box when the box is under it", () => {
  // The fixture's chat: the footer spans the right column from x=500 to the edge, 62 px high.
  expect(panelMaxHeight(viewport, box(698, 500, 1280))).toBe(698 - 8 - PANEL_TOP);
});

test('without a message box, or one beside the panel, it may use the whole height', () => {
  expect(panelMaxHeight(viewport, null)).toBe(760 - 16 - PANEL_TOP);
  expect(panelMaxHeight(viewport, box(698, 200, 900))).toBe(760 - 16 - PANEL_TOP);
  expect(panelMaxHeight(viewport, { ...box(698, 500, 1280), width: 0, height: 0 })).toBe(
    760 - 16 - PANEL_TOP,
  );
});

test('a message box high on a small window still leaves a usable panel', () => {
  expect(panelMaxHeight({ width: 1280, height: 300 }, box(150, 500, 1280))).toBe(180);
});
