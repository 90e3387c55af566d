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

function refuse(response: ServerResponse, status: number, code: string, message: string): void {
  // The unread body is not drained: the connection closes after the answer.
  answerJson(response, status, { errors: [{ message, extensions: { code } }] }, { connection: 'close' });
}
