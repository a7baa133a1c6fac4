import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressLiteralOf, isLocalhostName, isPublicAddress, NonPublicAddressError, publicOnlyLookup } from '../net/public-address';
import { type PublicKeySet, publicKeySetProblem } from './key-set';

export interface RemoteJwksOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly cacheTtlSeconds: number;
  /** An unknown kid refetches a cached set at most once in this interval. */
  readonly refetchMinIntervalSeconds: number;
  readonly allowLoopbackHttp: boolean;
  /** Allow loopback, private, link-local and other non-public addresses (JWKS_URI_ALLOW_PRIVATE). */
  readonly allowPrivateAddresses: boolean;
}

export type JwksUriPolicy = Pick<RemoteJwksOptions, 'allowLoopbackHttp' | 'allowPrivateAddresses'>;

export type JwksFailure = 'insecure_uri' | 'timeout' | 'unreachable' | 'http_status' | 'too_large' | 'invalid';

/** A jwks_uri could not give a usable key set now. Verification waits and tries again later. */
export class JwksFetchError extends Error {
  constructor(
    readonly failure: JwksFailure,
    message: string,
  ) {
    super(message);
    this.name = 'JwksFetchError';
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  if (LOOPBACK_NAMES.has(hostname)) return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/**
 * Why a jwks_uri may not be fetched, or undefined: https only (plain http for loopback behind a setting), and no
 * host that is a non-public address literal or a localhost name unless private addresses are allowed. A name is
 * checked again, resolved, at every fetch.
 */
export function jwksUriProblem(uri: string, policy: JwksUriPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopbackHttp && isLoopback(url.hostname))) {
    return policy.allowLoopbackHttp ? 'must be https (plain http only for a loopback host)' : 'must be https';
  }
  if (!policy.allowPrivateAddresses) {
    const literal = addressLiteralOf(url.hostname);
    if (isLocalhostName(url.hostname) || (literal !== undefined && !isPublicAddress(literal))) {
      return 'must not name a loopback, private, link-local or other non-public address (JWKS_URI_ALLOW_PRIVATE=true allows them)';
    }
  }
  return undefined;
}

interface Entry {
  readonly set: PublicKeySet;
  readonly fetchedAt: number;
}

/**
 * Key sets fetched from jwks_uri: with a timeout and a size limit, cached until they expire, fetched again early
 * when a JWS names a kid the cached set lacks (at most once per interval, so that a stream of made-up kids cannot
 * turn jartrail into a load generator), one fetch at a time per URI.
 */
export class RemoteJwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly lastFetchAt = new Map<string, number>();
  /** Fetches made, per URI: tests and operators can see the rate limit work. */
  readonly fetches = new Map<string, number>();

  constructor(
    private readonly options: RemoteJwksOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async get(uri: string, kid?: string): Promise<PublicKeySet> {
    const entry = this.entries.get(uri);
    const now = this.now();
    if (entry && now - entry.fetchedAt < this.options.cacheTtlSeconds * 1000) {
      const knowsKid = kid === undefined || entry.set.keys.some((key) => key.kid === kid);
      const mayRefetch = now - (this.lastFetchAt.get(uri) ?? 0) >= this.options.refetchMinIntervalSeconds * 1000;
      if (knowsKid || !mayRefetch) return entry.set;
    }
    return (await this.fetchOnce(uri)).set;
  }

  /** Forgets a URI (its client or source changed). */
  forget(uri: string): void {
    this.entries.delete(uri);
    this.lastFetchAt.delete(uri);
  }

  private fetchOnce(uri: string): Promise<Entry> {
    let pending = this.inFlight.get(uri);
    if (!pending) {
      this.lastFetchAt.set(uri, this.now());
      this.fetches.set(uri, (this.fetches.get(uri) ?? 0) + 1);
      pending = this.fetch(uri)
        .then((set) => {
          const entry = { set, fetchedAt: this.now() };
          this.entries.set(uri, entry);
          return entry;
        })
        .finally(() => this.inFlight.delete(uri));
      this.inFlight.set(uri, pending);
    }
    return pending;
  }

  private async fetch(uri: string): Promise<PublicKeySet> {
    const insecure = jwksUriProblem(uri, this.options);
    if (insecure) throw new JwksFetchError('insecure_uri', `jwks_uri ${insecure}`);
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let text: string;
    try {
      text = await this.download(new URL(uri), signal);
    } catch (error) {
      if (error instanceof JwksFetchError) throw error;
      if (error instanceof NonPublicAddressError) throw new JwksFetchError('insecure_uri', `jwks_uri ${error.message} (JWKS_URI_ALLOW_PRIVATE=true allows it)`);
      if (signal.aborted) throw new JwksFetchError('timeout', `jwks_uri did not answer within ${this.options.timeoutMs} ms`);
      throw new JwksFetchError('unreachable', `jwks_uri could not be fetched: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new JwksFetchError('invalid', 'jwks_uri did not return JSON');
    }
    const problem = publicKeySetProblem(parsed);
    if (problem) throw new JwksFetchError('invalid', `the key set at jwks_uri ${problem}`);
    return parsed as PublicKeySet;
  }

  /**
   * One GET with node:http(s) rather than fetch, for its `lookup` hook: the addresses a name resolves to are
   * checked right before the connection is made to them. No redirects are followed (a 3xx is a failure), and at
   * most maxBytes are read, whatever Content-Length said (it may be absent or wrong).
   */
  private download(url: URL, signal: AbortSignal): Promise<string> {
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<string>((resolve, reject) => {
      const request = client.get(
        url,
        {
          signal,
          headers: { accept: 'application/jwk-set+json, application/json' },
          ...(!this.options.allowPrivateAddresses && { lookup: publicOnlyLookup }),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) {
            response.destroy();
            return reject(new JwksFetchError('http_status', `jwks_uri answered ${status}`));
          }
          const declared = Number(response.headers['content-length'] ?? '0');
          if (declared > this.options.maxBytes) {
            response.destroy();
            return reject(new JwksFetchError('too_large', `jwks_uri declared ${declared} bytes; at most ${this.options.maxBytes} are read`));
          }
          const chunks: Buffer[] = [];
          let total = 0;
          response.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > this.options.maxBytes) {
              response.destroy();
              reject(new JwksFetchError('too_large', `jwks_uri returned more than ${this.options.maxBytes} bytes`));
            } else {
              chunks.push(chunk);
            }
          });
          response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
    });
  }
}
