import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { answerJson } from './http-listener.js';

/**
 * Lets through only requests whose body is declared (`Content-Length`) and at most `maxBytes`:
 * node's parser never reads more than the declared length as the body, so the declaration is the
 * limit, checked before a byte of the body is read. A longer one answers 413, a body of unknown
 * length (chunked) 411.
 */
export function withBodyLimit(maxBytes: number, handler: RequestListener): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const length = request.headers['content-length'];
    const hasBody = length !== undefined || request.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return handler(request, response);
    if (length === undefined) return refuse(response, 411, 'LENGTH_REQUIRED', 'A request body needs a Content-Length');
    if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
      return refuse(response, 413, 'BODY_TOO_LARGE', `The request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES)`);
    }
    return handler(request, response);
  };
}

/** How long a refused request's connection may go on sending after the answer before it is cut. */
const LINGER_MS = 2_000;

function refuse(response: ServerResponse, status: number, code: string, message: string): void {
  // The connection closes after the answer; the unread body is dropped as it arrives (lingerOnClose).
  lingerOnClose(response);
  answerJson(response, status, { errors: [{ message, extensions: { code } }] }, { connection: 'close' });
}

/**
 * node ends a `connection: close` answer with `socket.destroySoon()`: the FIN, then at once the
 * destroy, which with body bytes still arriving makes the kernel reset the connection, and a
 * client still sending can lose the answer before reading it. Here the FIN goes out as before;
 * what else arrives is dropped, and the socket is destroyed when the client closes its side, or
 * after LINGER_MS (a client that goes on sending regardless).
 */
function lingerOnClose(response: ServerResponse): void {
  const { req: request, socket } = response;
  if (!socket || request.complete) return;
  socket.destroySoon = () => {
    socket.end();
    socket.resume();
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    cut.unref();
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(cut));
  };
}
