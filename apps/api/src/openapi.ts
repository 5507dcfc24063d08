import { ErrorEnvelope, PROTOCOL_VERSION } from '@fannotes/contract';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { appRouter } from './root.ts';

/** The OpenAPI 3 document of the REST surface, generated from the procedures' meta and schemas. */
export function createOpenApiDocument(baseUrl: string): OpenAPIObject {
  return generateOpenApiDocument(appRouter, {
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
    tags: ['notes', 'accounts', 'fans'],
    securitySchemes: {
      Authorization: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    },
    defs: { ErrorEnvelope },
  });
}
