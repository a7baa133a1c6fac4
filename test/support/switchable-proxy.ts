import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A fixed URL in front of a jartrail that can go away and come back: `down()` drops every connection, open or new
 * (senders see a reset connection, as from a service that died), `up(target)` forwards again, to the target given,
 * which may be a new jartrail on the same database. Senders keep one URL across the outage, as they would with a load
 * balancer in front of restarted replicas. The port stays bound throughout, so no other process can take it while
 * the service is "down".
 */
export class SwitchableProxy {
  private refusing = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private target: string,
  ) {}

  static async start(target: string): Promise<SwitchableProxy> {
    const server = createServer((request, response) => void proxy.forward(request, response));
    const proxy = new SwitchableProxy(server, target);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((done, failed) => {
      server.once('error', failed);
      server.listen(0, '127.0.0.1', () => done());
    });
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  private accept(socket: Socket): void {
    if (this.refusing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  up(target: string = this.target): Promise<void> {
    this.target = target;
    this.refusing = false;
    return Promise.resolve();
  }

  down(): Promise<void> {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
    return Promise.resolve();
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
      if (this.refusing) throw new Error('down');
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(new URL(request.url ?? '/', this.target), { method: request.method, headers, body });
      const text = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
      response.end(text);
    } catch {
      // The target went away mid-request: the sender sees a dropped connection, as it would from the service.
      response.destroy();
    }
  }

  async close(): Promise<void> {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
