/** Where the panel sits: fixed to the right edge of the viewport, under OnlyFans' top bar. */
export const PANEL_TOP = 72;
export const PANEL_RIGHT = 16;
export const PANEL_WIDTH = 320;
const GAP = 8;
/** Below this the panel would be useless; it then keeps this much and the chatter can fold it. */
const MIN_HEIGHT = 180;

export interface Box {
  top: number;
  left: number;
  right: number;
  width: number;
  height: number;
}

/**
 * How tall the panel may be: down to the viewport's bottom, or, when OnlyFans' message box lies
 * under the panel's column, down to just above that box, so that the chatter can always type.
 */
export function panelMaxHeight(viewport: { width: number; height: number }, composer: Box | null): number {
  let bottom = viewport.height - 16;
  const left = viewport.width - PANEL_RIGHT - PANEL_WIDTH;
  const right = viewport.width - PANEL_RIGHT;
  if (
    composer &&
    composer.width > 0 &&
    composer.height > 0 &&
    composer.left < right &&
    composer.right > left &&
    composer.top > PANEL_TOP
  ) {
    bottom = Math.min(bottom, composer.top - GAP);
  }
  return Math.max(MIN_HEIGHT, Math.round(bottom - PANEL_TOP));
}

/**
 * OnlyFans' message box: the chat footer (`.b-page-content.m-chat-footer`, see
 * shared/reference/onlyfans-web.md), with its test hook and the older class as fallbacks.
 */
export const COMPOSER_SELECTOR = '.m-chat-footer, [at-attr="chat_footer"], .b-chat__footer';
