import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { WebhookSender } from './webhook-sender';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

describe('WebhookSender', () => {
  let server: Server;
  let port: number;
  const requests: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let answer: (url: string) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } = () => ({ status: 200 });

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const { status, headers, body, delayMs } = answer(request.url ?? '');
        setTimeout(() => {
          response.writeHead(status, headers);
          response.end(body);
        }, delayMs ?? 0).unref();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
    answer = () => ({ status: 200 });
  });

  const message = (url: string) => ({ url, secret: SECRET, messageId: 'msg_finding_change_7', body: JSON.stringify({ type: 'finding.opened', data: { n: 1 } }) });

  it('POSTs the body signed per Standard Webhooks, as the reference library verifies it', async () => {
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivateAddresses: true });
    try {
      const result = await sender.send(message(`http://127.0.0.1:${port}/hook`));
      expect(result).toMatchObject({ outcome: 'delivered', statusCode: 200, error: null });
      const [received] = requests;
      expect(received!.headers['webhook-id']).toBe('msg_finding_change_7');
      expect(new Webhook(SECRET).verify(received!.body, received!.headers as Record<string, string>)).toEqual({ type: 'finding.opened', data: { n: 1 } });
      expect(Number(received!.headers['webhook-timestamp'])).toBe(Math.floor(result.at.getTime() / 1000));
    } finally {
      await sender.close();
    }
  });

  it('does not follow a redirect: a 3xx is a failed attempt and the other URL gets nothing', async () => {
    answer = (url) => (url === '/moved' ? { status: 307, headers: { location: `http://127.0.0.1:${port}/elsewhere` } } : { status: 200 });
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivateAddresses: true });
    try {
      expect(await sender.send(message(`http://127.0.0.1:${port}/moved`))).toMatchObject({ outcome: 'http_status', statusCode: 307 });
      expect(requests.map((request) => request.url)).toEqual(['/moved']);
    } finally {
      await sender.close();
    }
  });

  it('keeps a short excerpt of an error answer, never the whole of it', async () => {
    answer = () => ({ status: 502, body: `bad gateway ${'x'.repeat(100_000)}` });
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivateAddresses: true });
    try {
      const result = await sender.send(message(`http://127.0.0.1:${port}/hook`));
      expect(result).toMatchObject({ outcome: 'http_status', statusCode: 502 });
      expect(result.responseExcerpt).toMatch(/^bad gateway x+$/);
      expect(result.responseExcerpt!.length).toBe(256);
    } finally {
      await sender.close();
    }
  });

  it('gives up an attempt at its timeout', async () => {
    answer = () => ({ status: 200, delayMs: 1500 });
    const sender = new WebhookSender({ timeoutMs: 200, allowPrivateAddresses: true });
    try {
      expect(await sender.send(message(`http://127.0.0.1:${port}/slow`))).toMatchObject({ outcome: 'timeout', statusCode: null });
    } finally {
      await sender.close();
    }
  });

  it('names a connection that cannot be made', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivateAddresses: true });
    try {
      expect(await sender.send(message(`http://127.0.0.1:${deadPort}/hook`))).toMatchObject({ outcome: 'connection_error', error: expect.stringMatching(/ECONNREFUSED/) });
    } finally {
      await sender.close();
    }
  });

  it('refuses non-public addresses unless allowed: a literal, and a name that resolves to one (checked at connect time)', async () => {
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivateAddresses: false });
    try {
      expect(await sender.send(message(`http://127.0.0.1:${port}/hook`))).toMatchObject({ outcome: 'address_refused' });
      expect(await sender.send(message(`http://localhost:${port}/hook`))).toMatchObject({ outcome: 'address_refused', error: expect.stringMatching(/not a public address/) });
      expect(requests).toEqual([]);
    } finally {
      await sender.close();
    }
  });
});
