import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JwksFetchError, jwksUriProblem, RemoteJwksCache, type RemoteJwksOptions } from './remote-jwks';

const KEY_A = { kty: 'EC', crv: 'P-256', kid: 'a', x: 'L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0', y: 'YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs' };
const KEY_B = { ...KEY_A, kid: 'b' };

describe('RemoteJwksCache', () => {
  let server: Server;
  let keys: object[] = [KEY_A];
  let chunked = false;
  let url: string;
  let clock = 0;

  const options: RemoteJwksOptions = { timeoutMs: 500, maxBytes: 2048, cacheTtlSeconds: 300, refetchMinIntervalSeconds: 30, allowLoopbackHttp: true };
  const cache = () => new RemoteJwksCache(options, () => clock);

  beforeAll(async () => {
    server = createServer((_request, response) => {
      const body = JSON.stringify({ keys });
      if (chunked) {
        // No Content-Length: the limit has to hold while reading.
        response.write(body.slice(0, 10));
        response.end(body.slice(10));
      } else {
        response.end(body);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    keys = [KEY_A];
    chunked = false;
    clock = 1_000_000;
  });

  it('caches a key set until it expires', async () => {
    const jwks = cache();
    await jwks.get(url, 'a');
    await jwks.get(url, 'a');
    expect(jwks.fetches.get(url)).toBe(1);
    clock += 301_000;
    await jwks.get(url, 'a');
    expect(jwks.fetches.get(url)).toBe(2);
  });

  it('fetches again for an unknown kid, at most once per interval', async () => {
    const jwks = cache();
    await jwks.get(url, 'a');
    keys = [KEY_A, KEY_B];
    // Within the interval of the first fetch: the cached set answers, without kid b.
    expect((await jwks.get(url, 'b')).keys.map((key) => key.kid)).toEqual(['a']);
    clock += 30_000;
    expect((await jwks.get(url, 'b')).keys.map((key) => key.kid)).toEqual(['a', 'b']);
    for (let index = 0; index < 10; index++) await jwks.get(url, `made-up-${index}`);
    expect(jwks.fetches.get(url)).toBe(2);
  });

  it('refuses a key set over the size limit, also when no Content-Length announces it', async () => {
    keys = Array.from({ length: 30 }, (_, index) => ({ ...KEY_A, kid: `k${index}` }));
    await expect(cache().get(url)).rejects.toMatchObject({ failure: 'too_large' });
    chunked = true;
    await expect(cache().get(url)).rejects.toMatchObject({ failure: 'too_large' });
  });

  it('refuses private keys and non-JSON', async () => {
    keys = [{ ...KEY_A, d: 'private' }];
    await expect(cache().get(url)).rejects.toBeInstanceOf(JwksFetchError);
  });

  it('fetches https only, plain http for loopback behind the setting', () => {
    expect(jwksUriProblem('https://keys.example.com/jwks', false)).toBeUndefined();
    expect(jwksUriProblem('http://keys.example.com/jwks', true)).toMatch(/https/);
    expect(jwksUriProblem('http://127.0.0.1:8080/jwks', false)).toMatch(/https/);
    expect(jwksUriProblem('http://127.0.0.1:8080/jwks', true)).toBeUndefined();
    expect(jwksUriProblem('http://localhost/jwks', true)).toBeUndefined();
    expect(jwksUriProblem('https://user:pw@keys.example.com/jwks', false)).toMatch(/credentials/);
  });

  it('refuses to fetch an insecure URI even when asked directly', async () => {
    await expect(new RemoteJwksCache({ ...options, allowLoopbackHttp: false }).get(url)).rejects.toMatchObject({ failure: 'insecure_uri' });
  });
});
