import { readFileSync } from 'node:fs';

/**
 * Node's arguments in `pnpm start` after its build step (apps/api/package.json, `scripts.start`:
 * `node build.js && node <these>`), for whatever else runs the bundle as users do: the bench and the
 * bundle test. Read from package.json so that they cannot drift from it.
 */
export function startArguments(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const command = manifest.scripts.start.split('&&').at(-1)!.trim().split(/\s+/);
  if (command[0] !== 'node' || command.at(-1) !== 'dist/main.js') {
    throw new Error(
      `apps/api's start script does not end with "node ... dist/main.js": ${manifest.scripts.start}`,
    );
  }
  return command.slice(1);
}
