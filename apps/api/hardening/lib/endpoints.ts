import type { z } from 'zod';
import { appRouter } from '../../src/root.ts';
import { send, trpcCall, type Reply, type Surface } from './http.ts';

/**
 * Every procedure of the router, with its REST route and input schema, read from the router itself:
 * a procedure added later is covered without anyone remembering to list it here.
 */
export interface Endpoint {
  procedure: string;
  kind: 'query' | 'mutation';
  method: 'GET' | 'POST' | 'DELETE';
  /** The REST path under the server root, e.g. `/api/v2/accounts/{accountId}/members`. */
  path: string;
  pathParams: string[];
  input: z.ZodType;
}

interface ProcedureDef {
  _def: {
    type: 'query' | 'mutation' | 'subscription';
    inputs: z.ZodType[];
    meta?: { openapi?: { method: Endpoint['method']; path: string } };
  };
}

export const endpoints: Endpoint[] = Object.entries(
  appRouter._def.procedures as unknown as Record<string, ProcedureDef>,
)
  // Subscriptions are streams, not request and answer (notes.changes: its authentication, stream cap
  // and foreign-fan answers are tested in test/live.test.ts); every other procedure is listed here.
  .filter(
    (entry): entry is [string, { _def: ProcedureDef['_def'] & { type: Endpoint['kind'] } }] =>
      entry[1]._def.type !== 'subscription',
  )
  .map(([procedure, { _def }]) => {
    const openapi = _def.meta?.openapi;
    if (!openapi || !_def.inputs[0]) throw new Error(`${procedure} has no REST route or no input schema`);
    const path = `/api${openapi.path}`;
    return {
      procedure,
      kind: _def.type,
      method: openapi.method,
      path,
      pathParams: [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
      input: _def.inputs[0],
    };
  });

export function endpointLabel(endpoint: Endpoint, surface: Surface): string {
  return surface === 'rest' ? `REST ${endpoint.method} ${endpoint.path}` : `tRPC ${endpoint.procedure}`;
}

/** A request body given as text or bytes, as sent, rather than as a value to serialise. */
export interface RawBody {
  raw: string | Uint8Array;
}

/** Raw text or bytes for a URL: text percent-encoded as UTF-8, bytes one by one (so invalid UTF-8 stays invalid). */
function urlEncoded(raw: string | Uint8Array): string {
  if (typeof raw === 'string') return encodeText(raw);
  return [...raw].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** Text for a URL even when it holds lone surrogates (encodeURIComponent refuses them): those go as WTF-8 bytes. */
function encodeText(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text]
      .map((char) => {
        const code = char.charCodeAt(0);
        if (char.length > 1 || code < 0xd800 || code > 0xdfff) return encodeURIComponent(char);
        return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
          .map((b) => `%${b.toString(16).toUpperCase()}`)
          .join('');
      })
      .join('');
  }
}

function pathValue(value: unknown): string {
  if (value === undefined) return '';
  return encodeText(typeof value === 'string' ? value : JSON.stringify(value));
}

/**
 * Sends `input` to an endpoint as its surface's client would: REST path parameters in the path, the
 * rest as the JSON body (POST, DELETE) or as query parameters (GET); tRPC queries as `?input=`,
 * mutations as a JSON body. `raw` replaces the body (or, for GET, the query string) with exact bytes.
 */
export function callEndpoint(
  base: string,
  endpoint: Endpoint,
  surface: Surface,
  input: unknown,
  options: {
    token?: string | null;
    headers?: Record<string, string>;
    raw?: RawBody;
    pathInput?: unknown;
  } = {},
): Promise<Reply> {
  const common = { token: options.token ?? null, ...(options.headers ? { headers: options.headers } : {}) };
  if (surface === 'trpc') {
    if (options.raw) {
      if (endpoint.kind === 'query') {
        return trpcCall(base, endpoint.procedure, 'query', undefined, {
          ...common,
          rawQuery: `?input=${urlEncoded(options.raw.raw)}`,
        });
      }
      return trpcCall(base, endpoint.procedure, 'mutation', undefined, {
        ...common,
        rawBody: options.raw.raw,
      });
    }
    return trpcCall(base, endpoint.procedure, endpoint.kind, input, common);
  }

  // REST: path parameters come from `pathInput` (the valid input a raw body stands beside) or the input.
  const source = (options.pathInput ?? input) as Record<string, unknown> | undefined;
  const isObject = typeof source === 'object' && source !== null && !Array.isArray(source);
  const path = endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    pathValue(isObject ? source[name] : undefined),
  );
  const rest: unknown =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? Object.fromEntries(Object.entries(input).filter(([key]) => !endpoint.pathParams.includes(key)))
      : input;

  if (endpoint.method === 'GET') {
    if (options.raw) return send(base, 'GET', `${path}?${urlEncoded(options.raw.raw)}`, common);
    const entries =
      typeof rest === 'object' && rest !== null && !Array.isArray(rest) ? Object.entries(rest) : [];
    const query = entries
      .map(
        ([key, value]) =>
          `${encodeText(key)}=${encodeText(typeof value === 'string' ? value : JSON.stringify(value))}`,
      )
      .join('&');
    return send(base, 'GET', query ? `${path}?${query}` : path, common);
  }
  if (options.raw) return send(base, endpoint.method, path, { ...common, body: options.raw });
  const empty =
    typeof rest === 'object' && rest !== null && !Array.isArray(rest) && Object.keys(rest).length === 0;
  return send(base, endpoint.method, path, {
    ...common,
    ...(empty && endpoint.method === 'DELETE' ? {} : { body: { json: rest } }),
  });
}
