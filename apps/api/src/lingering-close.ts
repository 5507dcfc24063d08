import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What happens to the bytes a client is still sending once its request has been refused. Closing a
 * connection with bytes unread makes the kernel answer with a reset, and a reset can destroy the answer
 * before the client reads it: the client then sees EPIPE or ECONNRESET instead of the 413 or 431. So,
 * as nginx's `lingering_close` does, the rest is read and dropped until it ends or the client pauses
 * for LINGER_IDLE_MS; at most LINGER_MAX_MS and LINGER_MAX_BYTES, then the connection is closed anyway.
 */
const LINGER_IDLE_MS = 2_000;
const LINGER_MAX_MS = 10_000;
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads and drops what `source` still delivers, and calls `close` once a limit is reached; returns
 * what stops the limits (called here when `source` closes).
 */
function dropIncoming(source: IncomingMessage | Socket, close: () => void): () => void {
  let seen = 0;
  const idle = setTimeout(close, LINGER_IDLE_MS).unref();
  const cap = setTimeout(close, LINGER_MAX_MS).unref();
  const stop = () => {
    clearTimeout(idle);
    clearTimeout(cap);
  };
  source.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > LINGER_MAX_BYTES) close();
    else idle.refresh();
  });
  source.once('close', stop);
  source.resume();
  return stop;
}

/** A connection answered and ended by hand (the parser refused it): closed once its client stops sending. */
export function lingerThenClose(socket: Socket): void {
  dropIncoming(socket, () => socket.destroy());
}

/**
 * A request answered before its body was read (too large): the body is read and dropped, and the
 * connection stays open for the client's next request, unless a limit closes it first.
 */
export function dropRefusedBody(request: IncomingMessage): void {
  request.once(
    'end',
    dropIncoming(request, () => request.socket.destroy()),
  );
}
