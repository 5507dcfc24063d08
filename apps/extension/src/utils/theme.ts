/**
 * OnlyFans' dark-theme class is not publicly known, so the panel follows what the page looks like:
 * the computed background of `body` (or of `html` when the body is transparent).
 */
export function isDarkColor(cssColor: string): boolean | null {
  const match = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(
    cssColor.trim(),
  );
  if (!match) return null;
  const alpha =
    match[4] === undefined
      ? 1
      : match[4].endsWith('%')
        ? Number.parseFloat(match[4]) / 100
        : Number(match[4]);
  if (alpha === 0) return null;
  const [r, g, b] = [match[1], match[2], match[3]].map((part) => Number(part) / 255) as [
    number,
    number,
    number,
  ];
  // Relative luminance (sRGB, approximate gamma): below the midpoint reads as a dark page.
  const luminance = 0.2126 * r ** 2.2 + 0.7152 * g ** 2.2 + 0.0722 * b ** 2.2;
  return luminance < 0.18;
}

export function pageIsDark(doc: Document): boolean {
  const view = doc.defaultView;
  if (!view) return false;
  for (const element of [doc.body, doc.documentElement]) {
    if (!element) continue;
    const dark = isDarkColor(view.getComputedStyle(element).backgroundColor);
    if (dark !== null) return dark;
  }
  return view.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
}
