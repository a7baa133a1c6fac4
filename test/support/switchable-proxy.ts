import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './ports';

/**
 * A fixed URL in front of a jartrail that can go away and come back: `down()` closes the listening socket (senders
 * get ECONNREFUSED, as from a stopped service), `up(target)` listens again on the same port and forwards to the
 * target, which may be a new jartrail on the same database. Senders keep one URL across the outage, as they would
 * with a load balancer in front of restarted replicas.
 */
export class SwitchableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Requests forwarded so far, by path (without the query). */
  readonly forwarded: string[] = [];

  private constructor(
    private readonly port: number,
    private target: string,
  ) {}

  static async start(target: string): Promise<SwitchableProxy> {
    const proxy = new SwitchableProxy(await freePort(), target);
    await proxy.up(target);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(target: string = this.target): Promise<void> {
    this.target = target;
    if (this.server) return;
    const server = createServer((request, response) => void this.forward(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((done, failed) => {
      server.once('error', failed);
      server.listen(this.port, '127.0.0.1', () => done());
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  }

  private async forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || ['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    try {
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(new URL(request.url ?? '/', this.target), { method: request.method, headers, body });
      this.forwarded.push(new URL(request.url ?? '/', this.target).pathname);
      const text = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
      response.end(text);
    } catch {
      // The target went away mid-request: the sender sees a dropped connection, as it would from the service.
      response.destroy();
    }
  }

  async close(): Promise<void> {
    await this.down();
  }
}
