/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, as `pnpm bench --profile` writes them): self time by
 * function and by package, the heaviest first. Usage: tsx src/profile-summary.ts <file.cpuprofile>...
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const where = (url: string) => {
  const pnpm = /node_modules\/\.pnpm\/([^/]+)\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[2]!;
  const ours = /\/(apps|packages)\/([^/]+)\/src\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}/${ours[3]}`;
  return url.startsWith('node:') ? url : url ? url.split('/').slice(-2).join('/') : '(native)';
};

// The API runs as a bundle (apps/api/dist/main.js): frames are mapped back to their sources through
// its source map, so that time is told by package and file as with the TypeScript sources.
const maps = new Map<string, { map: SourceMap; dir: string } | null>();
function located(frame: ProfileNode['callFrame']): { url: string; line: number } {
  const fallback = { url: frame.url, line: frame.lineNumber + 1 };
  if (!frame.url.startsWith('file://') || !frame.url.endsWith('.js')) return fallback;
  let entry = maps.get(frame.url);
  if (entry === undefined) {
    const path = `${fileURLToPath(frame.url)}.map`;
    entry = existsSync(path)
      ? { map: new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as SourceMapPayload), dir: dirname(path) }
      : null;
    maps.set(frame.url, entry);
  }
  if (!entry) return fallback;
  const found = entry.map.findEntry(frame.lineNumber, frame.columnNumber) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!found.originalSource) return fallback;
  const source = found.originalSource.startsWith('file://')
    ? fileURLToPath(found.originalSource)
    : resolve(entry.dir, found.originalSource);
  return { url: source, line: (found.originalLine ?? 0) + 1 };
}

for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)),
  );
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, micros] of self) {
    const { callFrame } = byId.get(id)!;
    const frame = { ...callFrame, ...located(callFrame) };
    const pkg = frame.url
      ? where(frame.url)
          .split('/')
          .slice(0, frame.url.includes('/apps/') || frame.url.includes('/packages/') ? 3 : 1)
          .join('/')
      : `(${frame.functionName || 'native'})`;
    const name = `${frame.functionName || '(anonymous)'} ${where(frame.url)}:${frame.line}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => `  ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  // Inclusive time: a function counts once per sample in which it is anywhere on the stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  const busy = total - (byFunction.get('(idle) (native):0') ?? 0);
  profile.samples.forEach((id, index) => {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = { ...byId.get(at)!.callFrame, ...located(byId.get(at)!.callFrame) };
      if (!frame.url) continue;
      seen.add(`${frame.functionName || '(anonymous)'} ${where(frame.url)}:${frame.line}`);
    }
    for (const name of seen)
      inclusive.set(name, (inclusive.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const topOfBusy = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => `  ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  process.stdout.write(
    `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy\n` +
      `self time by package (of all):\n${top(byPackage, 25)}\nself time by function (of all):\n${top(byFunction, 40)}\n` +
      `inclusive time (of busy):\n${topOfBusy(inclusive, Number(process.env.TOP ?? 60))}\n\n`,
  );
}
