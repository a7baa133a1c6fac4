import { inspect } from 'node:util';
import { DEFAULT_BATCH_SIZE, parseCommandLine, UsageError } from './cli-arguments';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const SOURCE = '0b6f4c1e-6a4d-4f7e-9d51-5f2a3c7b9e10';
const ADMIN_ENV = { JARTRAIL_API_KEY: 'admin-key-from-env' };

const parse = (argv: string[], env: Record<string, string> = ADMIN_ENV) => parseCommandLine(argv, env);
const usageError = (argv: string[], env: Record<string, string> = ADMIN_ENV) => {
  try {
    parse(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('the command line', () => {
  it('turns sources create into a POST of the name and kind, with the API key from the environment', () => {
    const command = parse(['sources', 'create', '--name', 'as-1', '--kind', 'authorization_server']);
    expect(command).toMatchObject({
      command: 'call',
      url: 'http://localhost:3000',
      request: { method: 'POST', path: '/v1/sources', body: { name: 'as-1', kind: 'authorization_server' } },
    });
    expect(command.command === 'call' && command.apiKey.reveal()).toBe('admin-key-from-env');
  });

  it.each([
    [['sources', 'list'], 'GET', '/v1/sources', undefined],
    [['sources', 'show', SOURCE], 'GET', `/v1/sources/${SOURCE}`, undefined],
    [['sources', 'disable', SOURCE], 'POST', `/v1/sources/${SOURCE}/disable`, undefined],
    [['sources', 'enable', SOURCE], 'POST', `/v1/sources/${SOURCE}/enable`, undefined],
    [['sources', 'rotate-secret', SOURCE], 'POST', `/v1/sources/${SOURCE}/rotate-secret`, undefined],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '0'], 'POST', `/v1/sources/${SOURCE}/rotate-secret`, { grace_period_seconds: 0 }],
    [['api-keys', 'list'], 'GET', '/v1/api-keys', undefined],
    [['api-keys', 'revoke', 'k/1'], 'POST', '/v1/api-keys/k%2F1/revoke', undefined],
    [['api-keys', 'create', '--name', 'ir', '--scope', 'audit:read', '--scope', 'audit:export', '--scope', 'audit:read'], 'POST', '/v1/api-keys', { name: 'ir', scopes: ['audit:read', 'audit:export'] }],
  ])('maps %j to %s %s', (argv, method, path, body) => {
    const command = parse(argv);
    expect(command.command === 'call' && command.request).toEqual({ method, path, ...(body && { body }) });
  });

  it.each([
    [['clients', 'create', '--file', 'c.json'], { method: 'POST', path: '/v1/clients', bodyFile: { path: 'c.json' } }],
    [['clients', 'list'], { method: 'GET', path: '/v1/clients' }],
    [['clients', 'show', 'agent/app'], { method: 'GET', path: '/v1/clients/agent%2Fapp' }],
    [['clients', 'update', 'agent-app', '--file', '-'], { method: 'PUT', path: '/v1/clients/agent-app', bodyFile: { path: '-' } }],
    [
      ['decryption-keys', 'add', '--issuer', 'https://as.example.com', '--alg', 'RSA-OAEP-256', '--file', 'k.json'],
      { method: 'POST', path: '/v1/decryption-keys', body: { issuer: 'https://as.example.com', alg: 'RSA-OAEP-256' }, bodyFile: { path: 'k.json', into: 'jwk' } },
    ],
    [['decryption-keys', 'list'], { method: 'GET', path: '/v1/decryption-keys' }],
    [['keys', 'status'], { method: 'GET', path: '/v1/master-keys' }],
    [['keys', 'rotate-master'], { method: 'POST', path: '/v1/master-keys/rotate', body: {} }],
    [['keys', 'rotate-master', '--batch-size', '50'], { method: 'POST', path: '/v1/master-keys/rotate', body: { batch_size: 50 } }],
    [['clients', 'disable', 'agent/app'], { method: 'POST', path: '/v1/clients/agent%2Fapp/disable' }],
    [['clients', 'enable', 'agent-app'], { method: 'POST', path: '/v1/clients/agent-app/enable' }],
    [['decryption-keys', 'disable', SOURCE], { method: 'POST', path: `/v1/decryption-keys/${SOURCE}/disable` }],
    [['sources', 'set-keys', SOURCE, '--jwks', 'keys.json'], { method: 'PUT', path: `/v1/sources/${SOURCE}/set-keys`, body: {}, bodyFile: { path: 'keys.json', into: 'set_jwks' } }],
    [['sources', 'set-keys', SOURCE, '--jwks-uri', 'https://as.example.com/jwks'], { method: 'PUT', path: `/v1/sources/${SOURCE}/set-keys`, body: { set_jwks_uri: 'https://as.example.com/jwks' } }],
  ])('maps %j to the client registry and key calls', (argv, request) => {
    const command = parse(argv);
    expect(command.command === 'call' && command.request).toEqual(request);
  });

  it('refuses clients create without a file, and set-keys with both kinds of keys', () => {
    expect(() => parseCommandLine(['clients', 'create'], ADMIN_ENV)).toThrow(/--file/);
    expect(() => parseCommandLine(['sources', 'set-keys', SOURCE, '--jwks', 'a', '--jwks-uri', 'b'], ADMIN_ENV)).toThrow(/not both/);
  });

  it('takes options before or after the command words, and --url over JARTRAIL_URL', () => {
    const command = parse(['--url', 'https://audit.example.com/jartrail/', 'sources', 'list'], { ...ADMIN_ENV, JARTRAIL_URL: 'http://other:1' });
    expect(command).toMatchObject({ url: 'https://audit.example.com/jartrail' });
    expect(parse(['sources', 'list'], { ...ADMIN_ENV, JARTRAIL_URL: 'http://env.example:8080' })).toMatchObject({ url: 'http://env.example:8080' });
  });

  it('exits 1 from keys rotate-master unless nothing is left under another key, and refuses a bad batch size', () => {
    expect(parse(['keys', 'rotate-master'])).toMatchObject({ command: 'call', failUnlessOk: true });
    expect(usageError(['keys', 'rotate-master', '--batch-size', '0'])).toMatch(/--batch-size must be a whole number of at least 1/);
    expect(usageError(['keys', 'rotate'])).toMatch(/unknown action "keys rotate"/);
  });

  it('turns the ledger commands into their requests, and verify into an offline command that needs no key', () => {
    expect(parse(['ledger', 'verify'])).toMatchObject({ command: 'call', request: { method: 'GET', path: '/v1/ledger/verify' }, failUnlessOk: true });
    expect(parse(['ledger', 'export-chain', 'a/b'])).toMatchObject({ command: 'call', request: { method: 'GET', path: '/v1/chains/a%2Fb/evidence' } });
    expect(parse(['verify', 'bundle.json', '--jwks', 'jwks.json'], {})).toEqual({ command: 'verify', file: 'bundle.json', jwksFile: 'jwks.json', manifestFile: undefined });
    expect(parse(['verify', '-'], {})).toEqual({ command: 'verify', file: '-', jwksFile: undefined, manifestFile: undefined });
    expect(parse(['verify', 'export.csv', '--manifest', 'manifest.json', '--jwks', 'jwks.json'], {})).toEqual({
      command: 'verify',
      file: 'export.csv',
      jwksFile: 'jwks.json',
      manifestFile: 'manifest.json',
    });
    expect(usageError(['verify'], {})).toMatch(/verify needs the FILE/);
    expect(usageError(['verify', 'a.json', '--url', 'http://x'], {})).toMatch(/does not take --url/);
    expect(usageError(['ledger', 'rewrite'])).toMatch(/unknown action "ledger rewrite"/);
  });

  it('turns access-records and its filters into one GET of the access log, the filters percent-encoded', () => {
    expect(parse(['access-records'])).toMatchObject({ command: 'call', request: { method: 'GET', path: '/v1/access-records' } });
    const filtered = parse(['access-records', '--api-key-id', 'k-1', '--route', '/v1/chains/:digest', '--outcome', 'refused', '--from', '2026-12-01T00:00:00+01:00', '--limit', '2', '--cursor', 'abc']);
    expect(filtered).toMatchObject({
      command: 'call',
      request: { method: 'GET', path: '/v1/access-records?api_key_id=k-1&route=%2Fv1%2Fchains%2F%3Adigest&outcome=refused&from=2026-12-01T00%3A00%3A00%2B01%3A00&limit=2&cursor=abc' },
    });
    expect(usageError(['access-records', 'extra'])).toMatch(/unexpected argument "extra"/);
    expect(usageError(['access-records', '--name', 'x'])).toMatch(/does not take --name/);
    expect(usageError(['sources', 'list', '--outcome', 'refused'])).toMatch(/does not take --outcome/);
  });

  it('shows the usage for --help, help, or nothing at all', () => {
    for (const argv of [[], ['--help'], ['help'], ['sources', '-h']]) expect(parse(argv, {})).toMatchObject({ command: 'help', text: expect.stringContaining('Usage: jartrail') });
  });

  it.each([
    [['sources', 'list'], {}, /API key/],
    [['sources', 'create', '--name', 'x'], ADMIN_ENV, /needs --kind/],
    [['sources', 'create', '--name', 'x', '--kind', 'printer'], ADMIN_ENV, /--kind must be one of authorization_server, token_service, agent/],
    [['sources', 'show'], ADMIN_ENV, /source id/],
    [['sources', 'show', SOURCE, 'extra'], ADMIN_ENV, /unexpected argument "extra"/],
    [['sources', 'list', '--name', 'x'], ADMIN_ENV, /does not take --name/],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '-1'], ADMIN_ENV, /'--grace-period' argument is ambiguous/],
    [['sources', 'rotate-secret', SOURCE, '--grace-period=-1'], ADMIN_ENV, /--grace-period must be a whole number of at least 0/],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '1.5'], ADMIN_ENV, /--grace-period must be a whole number/],
    [['sources', 'fly'], ADMIN_ENV, /unknown action "sources fly"/],
    [['api-keys', 'create', '--name', 'x'], ADMIN_ENV, /at least one --scope/],
    [['api-keys', 'create', '--name', 'x', '--scope', 'audit:write'], ADMIN_ENV, /unknown scope audit:write/],
    [['frobnicate'], ADMIN_ENV, /unknown command "frobnicate"/],
    [['sources', 'list', '--verbose'], ADMIN_ENV, /Unknown option '--verbose'/],
    [['sources', 'list', '--url', 'ftp://x'], ADMIN_ENV, /http:\/\/ or https:\/\//],
    [['sources', 'list', '--url', 'http://user:pw@x'], ADMIN_ENV, /--url must not carry credentials/],
    [['sources', 'list'], { ...ADMIN_ENV, JARTRAIL_URL: 'localhost:3000' }, /JARTRAIL_URL must be an http:\/\/ or https:\/\/ URL/],
    [['openapi'], ADMIN_ENV, /needs the FILE/],
    [['migrate', '--url', 'http://x'], ADMIN_ENV, /does not take --url/],
  ])('refuses %j as a usage error', (argv, env, message) => {
    expect(usageError(argv, env as Record<string, string>)).toMatch(message);
  });

  describe('send', () => {
    const SEND_ENV = { JARTRAIL_SOURCE_ID: SOURCE, JARTRAIL_SOURCE_SECRET: SECRET };

    it('takes the source and its secret from the environment, and the files in order', () => {
      const command = parse(['send', 'a.json', '-', 'b.ndjson'], SEND_ENV);
      expect(command).toMatchObject({ command: 'send', url: 'http://localhost:3000', sourceId: SOURCE, files: ['a.json', '-', 'b.ndjson'], batchSize: DEFAULT_BATCH_SIZE });
      expect(command.command === 'send' && command.sourceSecret.reveal()).toBe(SECRET);
    });

    it('accepts the ingest URL with its ?source= as a sender configuration holds it', () => {
      const command = parse(['send', '--source-secret', SECRET, '--url', `https://audit.example.com/v1/events?source=${SOURCE}`, 'e.json'], {});
      expect(command).toMatchObject({ url: 'https://audit.example.com', sourceId: SOURCE });
      expect(usageError(['send', '--source', 'other', '--url', `http://x/v1/events/batch?source=${SOURCE}`, 'e.json'], SEND_ENV)).toMatch(/differ/);
    });

    it.each([
      [['send', 'e.json'], { JARTRAIL_SOURCE_SECRET: SECRET }, /source id/],
      [['send', 'e.json'], { JARTRAIL_SOURCE_ID: SOURCE }, /source secret/],
      [['send', '--source-secret', 'whsec_not base64!', 'e.json'], { JARTRAIL_SOURCE_ID: SOURCE }, /whsec_/],
      [['send'], SEND_ENV, /at least one FILE/],
      [['send', '-', '-'], SEND_ENV, /stdin \(-\) can be read once/],
      [['send', '--batch-size', '0', 'e.json'], SEND_ENV, /--batch-size must be a whole number of at least 1/],
      [['send', '--api-key', 'k', 'e.json'], SEND_ENV, /send does not take --api-key/],
    ])('refuses %j', (argv, env, message) => {
      expect(usageError(argv, env)).toMatch(message);
    });

    it('never shows the secret or the API key when a command is printed or logged', () => {
      const sent = parse(['send', '--source-secret', SECRET, '--source', SOURCE, 'e.json'], {});
      const called = parse(['sources', 'list', '--api-key', 'very-secret-admin-key'], {});
      for (const command of [sent, called]) {
        for (const shown of [JSON.stringify(command), inspect(command, { depth: 5 }), `${Object.values(command).join(' ')}`]) {
          expect(shown).not.toContain(SECRET);
          expect(shown).not.toContain('very-secret-admin-key');
        }
      }
    });
  });
});
