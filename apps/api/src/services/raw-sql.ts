import type { Database, Transaction } from '@fannotes/db';
import {
  fillPlaceholders,
  getTableColumns,
  type Column,
  type Placeholder,
  type Query,
  type SQL,
  type Table,
} from 'drizzle-orm';

/**
 * Helpers for the few hand-written statements of the sync hot path (see sync-statements.ts), which
 * fold several steps into one round trip with CTEs. Their text never depends on how many rows or ids
 * they carry (rows travel as one JSON parameter, ids as one array), so the driver prepares each once
 * per connection and every later call is a single round trip.
 */

/** Rows of `db.execute`, whichever driver is underneath (postgres.js: an array; PGlite: `{ rows }`). */
export async function executeRows(
  db: Database | Transaction,
  query: SQL,
): Promise<Record<string, unknown>[]> {
  return rowsOf(await db.execute(query));
}

const rowsOf = (result: unknown): Record<string, unknown>[] =>
  Array.isArray(result)
    ? (result as Record<string, unknown>[])
    : (result as { rows: Record<string, unknown>[] }).rows;

/** A value of a statement, or a placeholder for it in a statement whose text is kept (StatementShapes). */
export type Bound<T> = T | Placeholder;

/**
 * A statement whose text depends only on a few choices, its shape (a cursor or none, a clientId or
 * none...), and otherwise only on values: built with drizzle placeholders and turned into text once per
 * shape, then sent with each call's values. drizzle walks a statement's fragments to make its text on
 * every `execute`; for readOrPlan's statement, run by every throttled read, that walk was the largest
 * cost of the API's own code on the request (docs/PERFORMANCE.md). The text is the one `execute`
 * would make (the same parameters, numbered alike), so the driver prepares it once per connection as
 * before. A shape is a flat object of primitives, and the whole of it is the key of its text.
 */
export class StatementShapes<Shape extends Record<string, string | number | boolean>> {
  readonly #texts = new Map<string, Query>();

  constructor(
    private readonly build: (shape: Shape) => SQL,
    /** The most shapes kept; more is a bug (a value in a shape), said loudly rather than leaked. */
    private readonly maxShapes = 1024,
  ) {}

  async rows(
    db: Database | Transaction,
    shape: Shape,
    values: Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    const { session } = db as unknown as DrizzleInternals;
    const query = this.#text(db, shape);
    return rowsOf(await session.prepareQuery(query, undefined, undefined, false).execute(values));
  }

  /** The statement with `values` in its parameters, for the caller to send (pipelinedTransaction's last). */
  bind(db: Database | Transaction, shape: Shape, values: Record<string, unknown>): Query {
    const query = this.#text(db, shape);
    return { sql: query.sql, params: fillPlaceholders(query.params, values) };
  }

  #text(db: Database | Transaction, shape: Shape): Query {
    const key = JSON.stringify(shape);
    let query = this.#texts.get(key);
    if (!query) {
      if (this.#texts.size >= this.maxShapes) {
        throw new Error(`more than ${this.maxShapes} shapes of one statement: a shape holds a value`);
      }
      query = (db as unknown as DrizzleInternals).dialect.sqlToQuery(this.build(shape));
      this.#texts.set(key, query);
    }
    return query;
  }
}

/** What `db.execute` uses underneath, on either driver (drizzle's PgDatabase: `dialect`, `session`). */
interface DrizzleInternals {
  dialect: { sqlToQuery(sql: SQL): Query };
  session: {
    prepareQuery(
      query: Query,
      fields: undefined,
      name: undefined,
      arrayMode: false,
    ): { execute(values: Record<string, unknown>): Promise<unknown> };
  };
}

/**
 * A row of `table` from raw driver values keyed by column name (optionally prefixed), mapped exactly
 * as drizzle maps its own selects (timestamps to Date, bigint to number). Null when the row's first
 * column is null (the empty side of an outer join).
 */
export function decodeRow<T extends Table>(
  table: T,
  raw: Record<string, unknown>,
  prefix = '',
): T['$inferSelect'] | null {
  const columns = decodedColumns(table);
  const first = raw[prefix + columns[0]!.name];
  if (first === null || first === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const { key, name, column } of columns) {
    const value = raw[prefix + name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out;
}

/**
 * The columns of `table` in declaration order, listed once per table rather than with `Object.entries`
 * on every row decoded or written (a push of 100 writes 100 rows).
 */
const columnLists = new WeakMap<Table, { key: string; name: string; column: Column }[]>();
function decodedColumns(table: Table): { key: string; name: string; column: Column }[] {
  let columns = columnLists.get(table);
  if (!columns) {
    columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
      key,
      name: column.name,
      column,
    }));
    columnLists.set(table, columns);
  }
  return columns;
}

/** A PostgreSQL text[] literal, for one `$n::text[]` parameter. */
export function textArray(values: Iterable<string>): string {
  const items = [...values].map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`);
  return `{${items.join(',')}}`;
}

/** `name type, ...` of every column of `table`, for `jsonb_to_recordset(...) as x(...)`. */
export function recordsetColumns(table: Table): string {
  return Object.values(getTableColumns(table))
    .map((column) => `"${column.name}" ${column.getSQLType()}`)
    .join(', ');
}

/** A row of `table` keyed by column name, for a JSON parameter (Dates become ISO strings). */
export function toColumnNames<T extends Table>(table: T, row: T['$inferInsert']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, name } of decodedColumns(table)) {
    const value = (row as Record<string, unknown>)[key];
    out[name] = value === undefined ? null : value;
  }
  return out;
}
