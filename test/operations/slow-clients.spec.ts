import { connect, type Socket } from 'node:net';
import { startTestApp, type TestApp } from '../support/app';
import { registerSource } from '../support/events';

interface RawExchange {
  readonly socket: Socket;
  /** Everything the server sent, once it closed the connection (or the wait ended). */
  readonly answer: Promise<{ text: string; closedAfterMs: number | undefined }>;
}

/** A raw TCP client that sends the head of a request and only what it is told of the body, and then waits. */
function slowRequest(app: TestApp, head: string, bodyStart: string, waitMs: number): RawExchange {
  const { port } = new URL(app.url);
  const socket = connect(Number(port), '127.0.0.1');
  const opened = Date.now();
  const answer = new Promise<{ text: string; closedAfterMs: number | undefined }>((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedAfterMs: undefined });
    }, waitMs);
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - opened });
    });
  });
  socket.write(`${head}\r\n\r\n${bodyStart}`);
  return { socket, answer };
}

const head = (path: string, length: number, headers: string[] = []) =>
  [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${length}`, ...headers].join('\r\n');

describe('clients that send slowly or not at all', () => {
  let app: TestApp;
  let sourceId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { HTTP_REQUEST_TIMEOUT_MS: '1000' } });
    sourceId = (await registerSource(app, 'authorization_server')).id;
  });
  afterAll(async () => {
    await app.close();
  });

  it('a webhook whose body never finishes is answered 408 and its connection closed within the request timeout', async () => {
    const exchanges = Array.from({ length: 20 }, (_, index) =>
      slowRequest(app, head(`/v1/events?source=${sourceId}`, 1000, [`webhook-id: slow-${index}`, 'webhook-timestamp: 1', 'webhook-signature: v1,x']), '{"type":', 8000),
    );
    const answers = await Promise.all(exchanges.map((exchange) => exchange.answer));
    for (const { text, closedAfterMs } of answers) {
      expect(closedAfterMs).toBeDefined();
      // The timeout is 1 s, checked every 250 ms.
      expect(closedAfterMs).toBeLessThan(3000);
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toContain('urn:jartrail:problem:request-timeout');
    }
    // The service still answers everyone else.
    expect((await app.http().get('/health/ready')).status).toBe(200);
  });

  it('a connection whose headers never end, or that sends nothing, is closed within the request timeout', async () => {
    const { port: silentPort } = new URL(app.url);
    const silent = connect(Number(silentPort), '127.0.0.1').on('error', () => undefined);
    const silentOpened = Date.now();
    const silentClosedAfterMs = new Promise<number>((resolve) => silent.resume().on('close', () => resolve(Date.now() - silentOpened)));

    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    const opened = Date.now();
    let answer = '';
    const closedAfterMs = new Promise<number>((resolve) =>
      socket
        .on('data', (chunk) => (answer += chunk.toString('utf8')))
        .on('error', () => undefined)
        .on('close', () => resolve(Date.now() - opened)),
    );
    socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1');
    const timer = setTimeout(() => socket.destroy(), 8000);
    expect(await closedAfterMs).toBeLessThan(3000);
    clearTimeout(timer);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await silentClosedAfterMs).toBeLessThan(3000);
  });

  it('an admin request whose body is slow but whose key is valid is cut off the same way', async () => {
    const { answer } = slowRequest(app, head('/v1/sources', 1000, [`Authorization: Bearer ${app.adminKey}`]), '{"name":', 8000);
    const { text, closedAfterMs } = await answer;
    expect(closedAfterMs).toBeLessThan(3000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it.each([
    ['no key', []],
    ['an unknown key', ['Authorization: Bearer jtk_not-a-key-anybody-issued']],
    ['a malformed authorization header', ['Authorization: Basic dXNlcjpwYXNz']],
  ])('an admin or auditor request with %s is refused before its body is read', async (_, headers) => {
    for (const path of ['/v1/sources', '/v1/api-keys', '/v1/ledger/checkpoints']) {
      // Announces 10 MiB and sends none of it: the answer cannot wait for the body.
      const { socket, answer } = slowRequest(app, head(path, 10 * 1024 * 1024, headers), '', 800);
      const text = await new Promise<string>((resolve) => {
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk.toString('utf8');
          if (received.includes('}')) resolve(received);
        });
        void answer.then(() => resolve(received));
      });
      socket.destroy();
      expect(text).toMatch(/^HTTP\/1\.1 401 /);
      expect(text).toContain('urn:jartrail:problem:unauthenticated');
      expect(text.toLowerCase()).toContain('www-authenticate: bearer realm="jartrail"');
    }
  });

  it('still serves authenticated requests in full', async () => {
    const response = await app.http().post('/v1/sources').set('authorization', `Bearer ${app.adminKey}`).send({ name: 'after-slow-clients', kind: 'agent' });
    expect(response.status).toBe(201);
  });
});
