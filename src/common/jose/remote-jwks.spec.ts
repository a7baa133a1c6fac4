import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NonPublicAddressError, publicOnlyLookup } from '../net/public-address';
import { JwksFetchError, jwksUriProblem, RemoteJwksCache, type RemoteJwksOptions } from './remote-jwks';

const KEY_A = { kty: 'EC', crv: 'P-256', kid: 'a', x: 'L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0', y: 'YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs' };
const KEY_B = { ...KEY_A, kid: 'b' };

describe('RemoteJwksCache', () => {
  let server: Server;
  let keys: object[] = [KEY_A];
  let chunked = false;
  let url: string;
  let clock = 0;

  const options: RemoteJwksOptions = { timeoutMs: 500, maxBytes: 2048, cacheTtlSeconds: 300, refetchMinIntervalSeconds: 30, allowLoopbackHttp: true, allowPrivateAddresses: true };
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
    const open = { allowLoopbackHttp: true, allowPrivateAddresses: true };
    const strict = { allowLoopbackHttp: false, allowPrivateAddresses: true };
    expect(jwksUriProblem('https://keys.example.com/jwks', strict)).toBeUndefined();
    expect(jwksUriProblem('http://keys.example.com/jwks', open)).toMatch(/https/);
    expect(jwksUriProblem('http://127.0.0.1:8080/jwks', strict)).toMatch(/https/);
    expect(jwksUriProblem('http://127.0.0.1:8080/jwks', open)).toBeUndefined();
    expect(jwksUriProblem('http://localhost/jwks', open)).toBeUndefined();
    expect(jwksUriProblem('https://user:pw@keys.example.com/jwks', strict)).toMatch(/credentials/);
  });

  it.each([
    'https://127.0.0.1/jwks',
    'https://127.1/jwks',
    'https://0x7f000001/jwks',
    'https://localhost/jwks',
    'https://api.localhost./jwks',
    'https://10.1.2.3/jwks',
    'https://172.20.0.1/jwks',
    'https://192.168.1.1/jwks',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/jwks',
    'https://0.0.0.0/jwks',
    'https://224.0.0.1/jwks',
    'https://255.255.255.255/jwks',
    'https://[::1]/jwks',
    'https://[::]/jwks',
    'https://[fe80::1]/jwks',
    'https://[fd00::1]/jwks',
    'https://[ff02::1]/jwks',
    'https://[::ffff:127.0.0.1]/jwks',
    'https://[::ffff:a9fe:a9fe]/jwks',
    'https://[64:ff9b::10.0.0.1]/jwks',
  ])('refuses the non-public host of %s unless private addresses are allowed', (uri) => {
    expect(jwksUriProblem(uri, { allowLoopbackHttp: false, allowPrivateAddresses: false })).toMatch(/non-public/);
    expect(jwksUriProblem(uri, { allowLoopbackHttp: false, allowPrivateAddresses: true })).toBeUndefined();
  });

  it.each(['https://keys.example.com/jwks', 'https://93.184.215.14/jwks', 'https://[2606:4700::1111]/jwks', 'https://[64:ff9b::5db8:d70e]/jwks'])(
    'takes the public host of %s',
    (uri) => {
      expect(jwksUriProblem(uri, { allowLoopbackHttp: false, allowPrivateAddresses: false })).toBeUndefined();
    },
  );

  it('refuses to fetch an insecure URI even when asked directly', async () => {
    await expect(new RemoteJwksCache({ ...options, allowLoopbackHttp: false }).get(url)).rejects.toMatchObject({ failure: 'insecure_uri' });
    await expect(new RemoteJwksCache({ ...options, allowPrivateAddresses: false }).get(url)).rejects.toMatchObject({ failure: 'insecure_uri' });
  });

  it('checks the addresses a name resolves to right before connecting (DNS rebinding)', async () => {
    const lookedUp = new Promise<Error | null>((resolve) => publicOnlyLookup('localhost', { all: true }, (error) => resolve(error)));
    await expect(lookedUp).resolves.toBeInstanceOf(NonPublicAddressError);
  });
});
