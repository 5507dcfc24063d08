import { z } from 'zod';

/** The documented success envelope: `{ "status": "success", "data": ..., "message"?: ... }`. */
export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.object({
    status: z.literal('success'),
    data,
    message: z.string().optional(),
  });
}

export type SuccessEnvelope<T> = { status: 'success'; data: T; message?: string };
