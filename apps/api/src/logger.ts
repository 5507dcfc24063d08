import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets in headers never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'fannotes-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'token'],
      censor: '[redacted]',
    },
  });
}
