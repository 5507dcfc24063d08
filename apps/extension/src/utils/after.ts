/** Schedules `run` after `ms`; the returned function cancels it. Tests pass a fake clock. */
export type After = (ms: number, run: () => void) => () => void;

/**
 * The real timer. In a file of its own: the page's content script needs it, and importing it from
 * live-stream.ts would bring the contract's zod schemas into every onlyfans.com tab.
 */
export const realAfter: After = (ms, run) => {
  const handle = setTimeout(run, ms);
  return () => clearTimeout(handle);
};
