import type { Mutation, SyncNotesData } from '@fannotes/contract';

// A small reference model of the sync protocol's note rules (DESIGN.md, "The sync protocol"), written
// from the rules rather than from sync-core, and the reconstruction of the server's order from what
// clients observed over HTTP. protocol-processes.test.ts replays every observed answer through it and
// compares the statuses and the final rows with what the API processes wrote to PostgreSQL.

/** A note as the rules see it (type and colour are never sent by the simulated clients). */
export interface ModelNote {
  content: string;
  isPinned: boolean;
  conflictOf: string | null;
  /** The fan's version at the note's last visible change. */
  version: number;
  /** The fan's version when its text last changed, and the client that changed it. */
  contentVersion: number;
  contentClientId: string | null;
  deleted: boolean;
}

export type ModelState = ReadonlyMap<string, ModelNote>;

/** One answered sync request (status 200) as a client saw it. */
export interface Observed {
  clientId: string;
  mutations: readonly Mutation[];
  data: SyncNotesData;
  /** The answer's cursor, decoded: the fan version its transaction committed (or read, if it wrote nothing). */
  version: number;
}

/** One mutation the server processed (its result is not `duplicate`), in server order. */
export interface Processed {
  entry: Observed;
  mutation: Mutation;
  status: 'applied' | 'conflict' | 'rejected';
  /** Whether the model says it changed a note (a visible change, which bumps the fan's version). */
  changed: boolean;
}

interface Replayed {
  state: Map<string, ModelNote>;
  processed: Processed[];
  changed: boolean;
  problems: string[];
}

/**
 * Applies the non-duplicate results of one answer, in their order, to `state` at fan version
 * `version`, and lists every status the model disagrees with.
 */
export function replayAnswer(state: ModelState, entry: Observed, version: number): Replayed {
  const next = new Map(state);
  const processed: Processed[] = [];
  const problems: string[] = [];
  let changed = false;
  const byId = new Map(entry.mutations.map((mutation) => [mutation.id, mutation]));
  for (const result of entry.data.results) {
    if (result.status === 'duplicate') continue;
    const mutation = byId.get(result.id);
    if (!mutation) {
      problems.push(`result for id ${result.id}, which the request did not carry`);
      continue;
    }
    const stored = next.get(mutation.noteId);
    // A client's own last text change is never stale to it: it could not learn that version offline.
    const base =
      stored && stored.contentClientId === entry.clientId
        ? Math.max(mutation.baseVersion, stored.contentVersion)
        : mutation.baseVersion;
    let status: Processed['status'] = 'applied';
    let touched = false;
    const stamp = (id: string, note: ModelNote) => {
      next.set(id, { ...note, version });
      touched = true;
    };
    const text = (content: string) => ({ content, contentVersion: version, contentClientId: entry.clientId });

    if (mutation.op === 'delete') {
      if (stored && !stored.deleted) {
        if (base >= stored.contentVersion) stamp(mutation.noteId, { ...stored, deleted: true });
        else status = 'rejected';
      }
    } else {
      // The simulated clients always send text with an upsert.
      const { content: sent, isPinned } = mutation.note;
      const content = sent!;
      if (!stored) {
        stamp(mutation.noteId, {
          ...text(content),
          isPinned: isPinned ?? false,
          conflictOf: null,
          version,
          deleted: false,
        });
      } else {
        const pinned = isPinned ?? stored.isPinned;
        if (stored.deleted) {
          // Editing a deleted note brings it back with the client's text, whatever its base.
          stamp(mutation.noteId, { ...stored, ...text(content), isPinned: pinned, deleted: false });
        } else if (base >= stored.contentVersion || content === stored.content) {
          const textChanged = content !== stored.content;
          if (textChanged || pinned !== stored.isPinned) {
            stamp(mutation.noteId, {
              ...stored,
              ...(textChanged ? text(content) : {}),
              isPinned: pinned,
            });
          }
        } else {
          // Stale text: the server's text stays, the pin is last-writer-wins, the client's text is copied.
          status = 'conflict';
          if (pinned !== stored.isPinned) stamp(mutation.noteId, { ...stored, isPinned: pinned });
          const copyId = result.status === 'conflict' ? result.conflictNoteId : `(no copy for ${result.id})`;
          stamp(copyId, {
            ...text(content),
            isPinned: pinned,
            conflictOf: mutation.noteId,
            version,
            deleted: false,
          });
        }
      }
    }
    if (result.status !== status) {
      problems.push(
        `client ${entry.clientId} mutation ${result.id} (${mutation.op} ${mutation.noteId}, base ${mutation.baseVersion}) at version ${version}: server said ${result.status}, model says ${status}`,
      );
    }
    changed ||= touched;
    processed.push({ entry, mutation, status, changed: touched });
  }
  return { state: next, processed, changed, problems };
}

export interface Explained {
  state: ModelState;
  /** The fan version the model ends at: one bump per answer that changed something. */
  version: number;
  /** Every processed mutation, in server order. */
  processed: Processed[];
  problems: string[];
}

/**
 * Puts the answers in server order and replays them. Every write takes the fan row lock, and the
 * answer's cursor is the version it committed (a write bumps the version by one) or, for a sync that
 * changed nothing, the version it read. So for each version v exactly one answer with cursor v changed
 * something, and it came before every other answer with cursor v, which all changed nothing. Which
 * one that is the model decides (the only candidate that changes something and leaves the others
 * unchanged); a version with no such answer is reported.
 */
export function explain(entries: readonly Observed[]): Explained {
  const byVersion = new Map<number, Observed[]>();
  for (const entry of entries) {
    if (!entry.data.results.some((result) => result.status !== 'duplicate')) continue;
    byVersion.set(entry.version, [...(byVersion.get(entry.version) ?? []), entry]);
  }
  let state: ModelState = new Map();
  let version = 0;
  const processed: Processed[] = [];
  const problems: string[] = [];
  // Answers that changed nothing, in a stable order (by client, then first id), after their version's writer.
  const quiet = (group: Observed[]) =>
    [...group].sort(
      (a, b) => a.clientId.localeCompare(b.clientId) || firstProcessedId(a.data) - firstProcessedId(b.data),
    );

  for (const v of [...byVersion.keys()].sort((a, b) => a - b)) {
    const group = byVersion.get(v)!;
    if (v === version) {
      for (const entry of quiet(group)) {
        const replayed = replayAnswer(state, entry, v);
        problems.push(...replayed.problems);
        if (replayed.changed)
          problems.push(`an answer at version ${v} changes notes, but ${v} was already written`);
        processed.push(...replayed.processed);
      }
      continue;
    }
    if (v !== version + 1) {
      problems.push(`answers jump from version ${version} to ${v}: a write was not observed`);
      break;
    }
    let found: { writer: Replayed; rest: Replayed[] } | undefined;
    let best: string[] | undefined;
    for (const candidate of group) {
      const writer = replayAnswer(state, candidate, v);
      if (!writer.changed || writer.problems.length > 0) {
        best ??= writer.problems.length > 0 ? writer.problems : [`no answer at version ${v} changes notes`];
        continue;
      }
      const rest = quiet(group.filter((entry) => entry !== candidate)).map((entry) =>
        replayAnswer(writer.state, entry, v),
      );
      const restProblems = rest.flatMap((replayed) => [
        ...replayed.problems,
        ...(replayed.changed ? [`a second answer at version ${v} changes notes`] : []),
      ]);
      if (restProblems.length === 0) {
        found = { writer, rest };
        break;
      }
      best = restProblems;
    }
    if (!found) {
      problems.push(...(best ?? [`no answer explains version ${v}`]));
      break;
    }
    state = found.writer.state;
    version = v;
    processed.push(...found.writer.processed, ...found.rest.flatMap((replayed) => replayed.processed));
  }
  return { state, version, processed, problems };
}

function firstProcessedId(data: SyncNotesData): number {
  return data.results.find((result) => result.status !== 'duplicate')?.id ?? 0;
}
