import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { codeFor, type ProblemDetails } from '../errors/problem-details.filter.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** The status Node itself answers each parser error with (lib/_http_server.js); anything else is 400. */
const STATUS_BY_ERROR_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

const DETAIL_BY_STATUS: Record<number, string> = {
  400: 'The request is not well-formed HTTP.',
  408: 'The request took too long to arrive.',
  413: 'A chunk extension of the request body is larger than the server accepts.',
  431: 'The request headers are larger than the server accepts.',
};

/**
 * A raw HTTP/1.1 response, as no request or response object exists for a request that
 * could not be parsed. It carries the headers every other response carries.
 */
export function malformedRequestResponse(status: number): string {
  const requestId = randomUUID();
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body: ProblemDetails = {
    type: `urn:problem:${codeFor(status)}`,
    title,
    status,
    detail: DETAIL_BY_STATUS[status],
    // The request target was never read: the root stands in for it.
    instance: '/',
    requestId,
  };
  const json = JSON.stringify(body);
  return [
    `HTTP/1.1 ${status} ${title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Connection: close',
    `${REQUEST_ID_HEADER}: ${requestId}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    "Content-Security-Policy: default-src 'none';frame-ancestors 'none'",
    'Referrer-Policy: no-referrer',
    '',
    json,
  ].join('\r\n');
}

/**
 * Node answers a request it cannot parse (a malformed request line or header, headers over
 * the size limit, a request too slow to arrive) itself, with a bare status line, before
 * Express sees it. This answers such requests with problem+json like every other refusal,
 * then closes the connection: nothing after a broken request can be trusted to start the
 * next one. A connection that carried a request before is closed without an answer: its
 * response may be on the way, and the client would take ours for it or for part of it.
 */
export function answerMalformedRequests(server: Server): void {
  const connectionsWithRequests = new WeakSet<Duplex>();
  server.on('request', (request: IncomingMessage) => connectionsWithRequests.add(request.socket));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset connection has nobody left to read an answer.
    if (connectionsWithRequests.has(socket) || !socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = STATUS_BY_ERROR_CODE[error.code ?? ''] ?? 400;
    socket.end(malformedRequestResponse(status), () => socket.destroy());
  });
}
