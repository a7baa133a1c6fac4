import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from './problem.filter';
import { ProblemException } from './problem';

/**
 * Errors Node's HTTP server meets before there is a request to route (a request not received within
 * HTTP_REQUEST_TIMEOUT_MS, headers too large, bytes that are not HTTP), answered as problem details like every
 * other error, and the connection closed.
 */
export function problemClientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection is gone: there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ProblemException('request-timeout', { detail: 'the request, body included, did not arrive in time; the connection is closed' })
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new ProblemException('headers-too-large', { detail: 'the request headers are larger than the limit' })
        : new ProblemException('invalid-request', { detail: 'the request is not valid HTTP/1.1' });
  const { status } = problem;
  const body = JSON.stringify(problem.toDocument());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
