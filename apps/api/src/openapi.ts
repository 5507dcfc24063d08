import {
  AccountId,
  ErrorEnvelope,
  eventsRouteDescription,
  FanId,
  LiveEvent,
  PROTOCOL_VERSION,
} from '@fannotes/contract';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { z } from 'zod';
import { EVENTS_PATH } from './events-route.ts';
import { appRouter } from './root.ts';

/** The OpenAPI 3 document of the REST surface, generated from the procedures' meta and schemas. */
export function createOpenApiDocument(baseUrl: string): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'FanNotes Sync API',
    version: `2.${PROTOCOL_VERSION}.0`,
    description:
      'Notes about OnlyFans fans, shared by a creator team and kept in sync with OnlyFans. ' +
      'Authenticate with a Supabase access token: `Authorization: Bearer <token>`. Every error is ' +
      '`{ "status": "error", "error": { "code", "message", "details"? } }`. An optional request field ' +
      "may be sent as `null`, which means the same as leaving it out; only a note's `color` gives " +
      '`null` a meaning of its own: it clears the colour.',
    baseUrl,
    docsUrl: '/docs',
    tags: ['notes', 'accounts', 'fans', 'profile'],
    securitySchemes: {
      Authorization: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    },
    defs: { ErrorEnvelope },
  });
  // The event stream is a subscription, which trpc-to-openapi does not document: written here, from
  // the contract's schemas, in the generated operations' shape.
  document.paths = { ...document.paths, [EVENTS_PATH]: { get: eventsOperation() } };
  return document;
}

const errorResponse = (description: string, schema: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/error.${schema}` } } },
});

type Operation = NonNullable<NonNullable<OpenAPIObject['paths']>[string]['get']>;
type Schema = NonNullable<Extract<NonNullable<Operation['parameters']>[number], { in: string }>['schema']>;
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input'): Schema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io });
  return rest as Schema;
};
/** Each event's `data`: the event without its `type`, which the SSE event name carries. */
const [change, resync, end] = LiveEvent.options;
const eventData = z.union([
  change.omit({ type: true }),
  resync.omit({ type: true }),
  end.omit({ type: true }),
]);

function eventsOperation(): Operation {
  return {
    operationId: 'notes-changes',
    summary: "Live updates: a poke whenever a fan's notes change",
    description: eventsRouteDescription,
    tags: ['notes'],
    security: [{ Authorization: [] }],
    parameters: [
      { in: 'query', name: 'fanId', required: false, schema: jsonSchema(FanId) },
      { in: 'query', name: 'accountId', required: false, schema: jsonSchema(AccountId) },
    ],
    responses: {
      200: {
        description:
          "A `text/event-stream`. Each event's `data` is one of these, as JSON: a poke (no event name), " +
          '`{}` (`event: resync`), or why the stream ends (`event: end`).',
        content: { 'text/event-stream': { schema: jsonSchema(eventData, 'output') } },
      },
      400: errorResponse('Bad request', 'BAD_REQUEST'),
      401: errorResponse('Unauthorized', 'UNAUTHORIZED'),
      404: errorResponse('Not found', 'NOT_FOUND'),
      429: errorResponse('Too many requests', 'TOO_MANY_REQUESTS'),
      503: errorResponse('Service unavailable', 'SERVICE_UNAVAILABLE'),
    },
  };
}
