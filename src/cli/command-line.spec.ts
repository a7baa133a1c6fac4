import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli';
import type { CliIo } from './cli-io';
import { COMMANDS } from './commands';
import { EXPORT_FORMATS } from '../exports/export-formats';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const SOURCE = '0b6f4c1e-6a4d-4f7e-9d51-5f2a3c7b9e10';
const ADMIN_ENV = { JARTRAIL_API_KEY: 'admin-key-from-env' };

interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly authorization: string | null;
  readonly body: unknown;
}

/**
 * The CLI in this process, with a fetch that records each request and answers `answer` (a JSON body and a status):
 * what each command line sends, byte for byte, without a service. test/cli runs the built CLI against a real one.
 */
async function cli(argv: readonly string[], options: { env?: Record<string, string>; stdin?: string; answer?: { status: number; body: unknown } } = {}) {
  const sent: Sent[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const answer = options.answer ?? { status: 200, body: { ok: true } };
  const io: CliIo = {
    env: options.env ?? ADMIN_ENV,
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    readStdin: () => Promise.resolve(options.stdin ?? ''),
    now: () => new Date('2026-12-04T08:00:00Z'),
    fetch: async (input, init) => {
      const request = input instanceof Request ? input : new Request(input, init);
      const text = await request.text();
      sent.push({ method: request.method, url: new URL(request.url), authorization: request.headers.get('authorization'), body: text === '' ? undefined : JSON.parse(text) });
      const problem = answer.status >= 400;
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': problem ? 'application/problem+json' : 'application/json' } });
    },
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, sent, out: out.join(''), err: err.join('') };
}

const request = (sent: readonly Sent[]) => {
  expect(sent).toHaveLength(1);
  const [{ method, url, body }] = sent as [Sent];
  return { method, path: `${url.pathname}${url.search}`, ...(body !== undefined && { body }) };
};

describe('the command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jartrail-cli-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(content));
    return path;
  };

  it('turns sources create into a POST of the name and kind, with the API key from the environment, and prints the answer', async () => {
    const run = await cli(['sources', 'create', '--name', 'as-1', '--kind', 'authorization_server'], { answer: { status: 201, body: { id: SOURCE } } });
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(request(run.sent)).toEqual({ method: 'POST', path: '/v1/sources', body: { name: 'as-1', kind: 'authorization_server' } });
    expect(run.sent[0]!.url.origin).toBe('http://localhost:3000');
    expect(run.sent[0]!.authorization).toBe('Bearer admin-key-from-env');
    expect(JSON.parse(run.out)).toEqual({ id: SOURCE });
  });

  it.each([
    [['sources', 'list'], 'GET', '/v1/sources', undefined],
    [['sources', 'show', SOURCE], 'GET', `/v1/sources/${SOURCE}`, undefined],
    [['sources', 'disable', SOURCE], 'POST', `/v1/sources/${SOURCE}/disable`, undefined],
    [['sources', 'enable', SOURCE], 'POST', `/v1/sources/${SOURCE}/enable`, undefined],
    [['sources', 'rotate-secret', SOURCE], 'POST', `/v1/sources/${SOURCE}/rotate-secret`, {}],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '0'], 'POST', `/v1/sources/${SOURCE}/rotate-secret`, { grace_period_seconds: 0 }],
    [['sources', 'set-keys', SOURCE, '--jwks-uri', 'https://as.example.com/jwks'], 'PUT', `/v1/sources/${SOURCE}/set-keys`, { set_jwks_uri: 'https://as.example.com/jwks' }],
    [['sources', 'set-keys', SOURCE], 'PUT', `/v1/sources/${SOURCE}/set-keys`, {}],
    [['api-keys', 'list'], 'GET', '/v1/api-keys', undefined],
    [['api-keys', 'revoke', 'k/1'], 'POST', '/v1/api-keys/k%2F1/revoke', undefined],
    [['api-keys', 'create', '--name', 'ir', '--scope', 'audit:read', '--scope', 'audit:export', '--scope', 'audit:read'], 'POST', '/v1/api-keys', { name: 'ir', scopes: ['audit:read', 'audit:export'] }],
    [['clients', 'list'], 'GET', '/v1/clients', undefined],
    [['clients', 'show', 'agent/app'], 'GET', '/v1/clients/agent%2Fapp', undefined],
    [['clients', 'disable', 'agent/app'], 'POST', '/v1/clients/agent%2Fapp/disable', undefined],
    [['clients', 'enable', 'agent-app'], 'POST', '/v1/clients/agent-app/enable', undefined],
    [['decryption-keys', 'list'], 'GET', '/v1/decryption-keys', undefined],
    [['decryption-keys', 'disable', SOURCE], 'POST', `/v1/decryption-keys/${SOURCE}/disable`, undefined],
    [['keys', 'status'], 'GET', '/v1/master-keys', undefined],
    [['keys', 'rotate-master'], 'POST', '/v1/master-keys/rotate', {}],
    [['keys', 'rotate-master', '--batch-size', '50'], 'POST', '/v1/master-keys/rotate', { batch_size: 50 }],
    [['ledger', 'verify'], 'GET', '/v1/ledger/verify', undefined],
    [['ledger', 'export-chain', 'a/b'], 'GET', '/v1/chains/a%2Fb/evidence', undefined],
    [['exports', 'show', SOURCE], 'GET', `/v1/exports/${SOURCE}`, undefined],
    [['exports', 'cancel', SOURCE], 'POST', `/v1/exports/${SOURCE}/cancel`, undefined],
    [['exports', 'list', '--limit', '5'], 'GET', '/v1/exports?limit=5', undefined],
  ])('maps %j to %s %s', async (argv, method, path, body) => {
    const run = await cli(argv);
    expect(run.code).toBe(0);
    expect(request(run.sent)).toEqual({ method, path, ...(body && { body }) });
  });

  it('sends the JSON of a --file as the body, or inside it, read from a file or stdin', async () => {
    const registration = { client_id: 'agent-app', jwks_uri: 'https://client.example.com/jwks' };
    expect(request((await cli(['clients', 'create', '--file', await file('c.json', registration)])).sent)).toEqual({ method: 'POST', path: '/v1/clients', body: registration });
    expect(request((await cli(['clients', 'update', 'agent-app', '--file', '-'], { stdin: '{"jwks_uri":"https://x.example/j"}' })).sent)).toEqual({
      method: 'PUT',
      path: '/v1/clients/agent-app',
      body: { jwks_uri: 'https://x.example/j' },
    });
    const jwk = { kty: 'EC', crv: 'P-256', d: 'private' };
    expect(request((await cli(['decryption-keys', 'add', '--issuer', 'https://as.example.com', '--alg', 'ECDH-ES+A256KW', '--file', await file('k.json', jwk)])).sent)).toEqual({
      method: 'POST',
      path: '/v1/decryption-keys',
      body: { issuer: 'https://as.example.com', alg: 'ECDH-ES+A256KW', jwk },
    });
    const jwks = { keys: [{ kty: 'EC' }] };
    expect(request((await cli(['sources', 'set-keys', SOURCE, '--jwks', await file('jwks.json', jwks)])).sent)).toEqual({
      method: 'PUT',
      path: `/v1/sources/${SOURCE}/set-keys`,
      body: { set_jwks: jwks },
    });
    const unreadable = await cli(['clients', 'create', '--file', join(dir, 'missing.json')]);
    expect(unreadable).toMatchObject({ code: 1, sent: [], err: expect.stringMatching(/^jartrail: cannot read .*missing\.json: ENOENT/) });
  });

  it('takes options before or after the command words, and --url over JARTRAIL_URL', async () => {
    const before = await cli(['--url', 'https://audit.example.com/jartrail/', 'sources', 'list'], { env: { ...ADMIN_ENV, JARTRAIL_URL: 'http://other:1' } });
    expect(before.sent[0]!.url.href).toBe('https://audit.example.com/jartrail/v1/sources');
    const fromEnv = await cli(['sources', 'list'], { env: { ...ADMIN_ENV, JARTRAIL_URL: 'http://env.example:8080' } });
    expect(fromEnv.sent[0]!.url.href).toBe('http://env.example:8080/v1/sources');
    const key = await cli(['--api-key', 'flag-key', 'sources', 'show', SOURCE]);
    expect(key.sent[0]!.authorization).toBe('Bearer flag-key');
  });

  it('exits 1 when a report says ok: false (ledger verify, keys rotate-master), and prints a refusal on stderr', async () => {
    expect((await cli(['keys', 'rotate-master'], { answer: { status: 200, body: { ok: false, remaining: [{ key_id: 'k' }] } } })).code).toBe(1);
    expect((await cli(['ledger', 'verify'], { answer: { status: 200, body: { ok: false } } })).code).toBe(1);
    expect((await cli(['ledger', 'verify'], { answer: { status: 200, body: { ok: true } } })).code).toBe(0);
    const refused = await cli(['sources', 'list'], { answer: { status: 401, body: { type: 'urn:jartrail:problem:unauthenticated', status: 401 } } });
    expect(refused).toMatchObject({ code: 1, out: '' });
    expect(JSON.parse(refused.err)).toMatchObject({ status: 401 });
  });

  it('turns access-records and its filters into one GET of the access log, the filters percent-encoded', async () => {
    expect(request((await cli(['access-records'])).sent)).toEqual({ method: 'GET', path: '/v1/access-records' });
    const filtered = await cli(['access-records', '--api-key-id', 'k-1', '--route', '/v1/chains/:digest', '--outcome', 'refused', '--from', '2026-12-01T00:00:00+01:00', '--limit', '2', '--cursor', 'abc']);
    const { url } = filtered.sent[0]!;
    expect(Object.fromEntries(url.searchParams)).toEqual({ api_key_id: 'k-1', route: '/v1/chains/:digest', outcome: 'refused', from: '2026-12-01T00:00:00+01:00', limit: '2', cursor: 'abc' });
  });

  it('builds the export request with the service schema, naming the option of a bad value', async () => {
    const output = join(dir, 'q3.csv');
    const refused = await cli(
      ['export', '--format', 'csv', '-o', output, '--client', 'agent-app', '--from', '2026-07-01T00:00:00Z', '--to', '2026-10-01T00:00:00Z', '--finding', 'orphan', '--type', 'consent.decision', '--from-seq', '3'],
      { answer: { status: 400, body: { status: 400, detail: 'no' } } },
    );
    expect(refused.code).toBe(1);
    expect(request(refused.sent)).toEqual({
      method: 'POST',
      path: '/v1/exports',
      body: { format: 'csv', scope: { client_id: 'agent-app', from: '2026-07-01T00:00:00Z', to: '2026-10-01T00:00:00Z', finding_rule: 'orphan', types: ['consent.decision'], from_seq: 3 }, proofs: false },
    });
  });

  it.each([
    [['export', '-o', 'x.csv'], /required option '--format <FORMAT>' not specified/, 'export'],
    [['export', '--format', 'csv'], /required option '-o, --output <FILE>' not specified/, 'export'],
    [['export', '--format', 'xlsx', '-o', 'x'], new RegExp(`argument 'xlsx' is invalid. Allowed choices are ${EXPORT_FORMATS.join(', ')}[.]`), 'export'],
    [['export', '--format', 'csv', '-o', 'x', '--from', 'yesterday'], /^jartrail: --from: /, 'export'],
    [['export', '--format', 'csv', '-o', 'x', '--from', '2026-02-01T00:00:00Z', '--to', '2026-01-01T00:00:00Z'], /--to: from must be before to/, 'export'],
    [['export', '--format', 'csv', '-o', 'x', '--proofs'], /--proofs: proofs are carried by NDJSON exports only/, 'export'],
    [['export', '--format', 'csv', '-o', 'x', '--severity', 'dire'], /Allowed choices are low, medium, high, critical/, 'export'],
  ])('refuses the export line %j as a usage error', async (argv, message, command) => {
    const run = await cli(argv);
    expect(run).toMatchObject({ code: 2, sent: [], out: '' });
    expect(run.err).toMatch(message);
    expect(run.err).toContain(`Run 'jartrail ${command} --help' for its usage.`);
  });

  it.each([
    [['sources', 'list'], {}, /sources list needs an API key: --api-key or JARTRAIL_API_KEY/, 'sources list'],
    [['sources', 'create', '--name', 'x'], ADMIN_ENV, /required option '--kind <KIND>' not specified/, 'sources create'],
    [['sources', 'create', '--name', 'x', '--kind', 'printer'], ADMIN_ENV, /argument 'printer' is invalid. Allowed choices are authorization_server, token_service, agent/, 'sources create'],
    [['sources', 'show'], ADMIN_ENV, /missing required argument 'ID'/, 'sources show'],
    [['sources', 'show', SOURCE, 'extra'], ADMIN_ENV, /too many arguments/, 'sources show'],
    [['sources', 'list', '--name', 'x'], ADMIN_ENV, /unknown option '--name'/, 'sources list'],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '-1'], ADMIN_ENV, /argument '-1' is invalid. It must be a whole number of at least 0/, 'sources rotate-secret'],
    [['sources', 'rotate-secret', SOURCE, '--grace-period', '1.5'], ADMIN_ENV, /must be a whole number/, 'sources rotate-secret'],
    [['sources', 'set-keys', SOURCE, '--jwks', 'a', '--jwks-uri', 'b'], ADMIN_ENV, /not both/, 'sources set-keys'],
    [['sources', 'fly'], ADMIN_ENV, /unknown command "sources fly"; sources has create, list/, 'sources'],
    [['sources'], ADMIN_ENV, /sources needs a command: create, list/, 'sources'],
    [['clients', 'create'], ADMIN_ENV, /required option '--file <FILE>'/, 'clients create'],
    [['api-keys', 'create', '--name', 'x'], ADMIN_ENV, /required option '--scope <SCOPE...>'/, 'api-keys create'],
    [['api-keys', 'create', '--name', 'x', '--scope', 'audit:write'], ADMIN_ENV, /argument 'audit:write' is invalid. Allowed choices are audit:read/, 'api-keys create'],
    [['keys', 'rotate-master', '--batch-size', '0'], ADMIN_ENV, /It must be a whole number of at least 1/, 'keys rotate-master'],
    [['keys', 'rotate'], ADMIN_ENV, /unknown command "keys rotate"/, 'keys'],
    [['ledger', 'rewrite'], ADMIN_ENV, /unknown command "ledger rewrite"/, 'ledger'],
    [['frobnicate'], ADMIN_ENV, /unknown command 'frobnicate'/, ''],
    [['sources', 'list', '--verbose'], ADMIN_ENV, /unknown option '--verbose'/, 'sources list'],
    [['sources', 'list', '--url', 'ftp://x'], ADMIN_ENV, /http:\/\/ or https:\/\//, 'sources list'],
    [['sources', 'list', '--url', 'http://user:pw@x'], ADMIN_ENV, /--url must not carry credentials/, 'sources list'],
    [['sources', 'list'], { ...ADMIN_ENV, JARTRAIL_URL: 'localhost:3000' }, /JARTRAIL_URL must be an http:\/\/ or https:\/\/ URL/, 'sources list'],
    [['access-records', 'extra'], ADMIN_ENV, /too many arguments/, 'access-records'],
    [['verify'], {}, /missing required argument 'FILE'/, 'verify'],
    [['verify', 'a.json', '--url', 'http://x'], {}, /unknown option '--url'/, 'verify'],
    [['openapi'], ADMIN_ENV, /missing required argument 'FILE'/, 'openapi'],
    [['migrate', '--url', 'http://x'], ADMIN_ENV, /unknown option '--url'/, 'migrate'],
  ])('refuses %j with a short hint and exit 2', async (argv, env, message, command) => {
    const run = await cli(argv, { env: env as Record<string, string> });
    expect(run).toMatchObject({ code: 2, sent: [], out: '' });
    expect(run.err).toMatch(/^jartrail: /);
    expect(run.err).toMatch(message);
    expect(run.err).toContain(`Run 'jartrail ${command === '' ? '' : `${command} `}--help' for its usage.`);
    // The hint, not the manual.
    expect(run.err.trim().split('\n')).toHaveLength(2);
  });

  describe('help', () => {
    it.each(COMMANDS.map((spec) => [spec.words.join(' ')]))('jartrail %s --help shows that command alone: its usage, summary and options', async (name) => {
      const spec = COMMANDS.find((candidate) => candidate.words.join(' ') === name)!;
      const run = await cli([...spec.words, '--help'], { env: {} });
      expect(run).toMatchObject({ code: 0, err: '', sent: [] });
      expect(run.out).toMatch(new RegExp(`^Usage: jartrail ${name} `));
      expect(run.out.replace(/\s+/g, ' ')).toContain(spec.summary);
      for (const option of spec.options ?? []) expect(run.out).toContain(option.flags);
      // Its own, not the overview of every command.
      expect(run.out).not.toContain('Exit status:');
      expect((await cli(['help', ...spec.words], { env: {} })).out).toBe(run.out);
      expect((await cli([...spec.words, '-h'], { env: {} })).out).toBe(run.out);
    });

    it('lists a group\'s commands for jartrail GROUP --help', async () => {
      const run = await cli(['sources', '--help'], { env: {} });
      expect(run.code).toBe(0);
      for (const action of ['create', 'list', 'show', 'rotate-secret', 'disable', 'enable', 'set-keys']) expect(run.out).toMatch(new RegExp(`^  ${action}\\b`, 'm'));
    });

    it('shows the overview for nothing, help or --help, every command in it, set-keys under its own heading', async () => {
      const runs = await Promise.all([[], ['help'], ['--help'], ['-h']].map((argv) => cli(argv, { env: {} })));
      for (const run of runs) expect(run).toMatchObject({ code: 0, out: runs[0]!.out });
      const text = runs[0]!.out;
      expect(text).toMatch(/^Usage: jartrail <command>/);
      for (const spec of COMMANDS) expect(text).toContain(`jartrail ${spec.words.join(' ')}`);
      const headings = text.split('\n\n');
      const setKeys = headings.find((part) => part.includes('sources set-keys'))!;
      expect(setKeys).toMatch(/^Keys for Security Event Tokens/);
      expect(setKeys).not.toContain('sources create');
    });

    it('prints the version of package.json for --version and -V', async () => {
      const { version } = JSON.parse(await readFile(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
      for (const flag of ['--version', '-V']) expect(await cli([flag], { env: {} })).toMatchObject({ code: 0, out: `${version}\n`, err: '' });
    });
  });

  describe('send', () => {
    const SEND_ENV = { JARTRAIL_SOURCE_ID: SOURCE, JARTRAIL_SOURCE_SECRET: SECRET };

    it('signs and posts a file with the source and secret from the environment', async () => {
      const event = await file('e.json', { id: 'evt-1', type: 'consent.decision', timestamp: '2026-12-04T08:00:00Z', data: {} });
      const run = await cli(['send', event], { env: SEND_ENV, answer: { status: 202, body: { event_id: 'evt-1', status: 'accepted' } } });
      expect(run.code).toBe(0);
      expect(request(run.sent)).toMatchObject({ method: 'POST', path: `/v1/events?source=${SOURCE}` });
    });

    it('accepts the ingest URL with its ?source= as a sender configuration holds it', async () => {
      const event = await file('e2.json', { id: 'evt-2', type: 'consent.decision', timestamp: '2026-12-04T08:00:00Z', data: {} });
      const run = await cli(['send', '--source-secret', SECRET, '--url', `https://audit.example.com/v1/events?source=${SOURCE}`, event], { env: {}, answer: { status: 202, body: {} } });
      expect(run.sent[0]!.url.href).toBe(`https://audit.example.com/v1/events?source=${SOURCE}`);
      expect((await cli(['send', '--source', 'other', '--url', `http://x/v1/events/batch?source=${SOURCE}`, event], { env: SEND_ENV })).err).toMatch(/differ/);
    });

    it.each([
      [['send', 'e.json'], { JARTRAIL_SOURCE_SECRET: SECRET }, /source id/],
      [['send', 'e.json'], { JARTRAIL_SOURCE_ID: SOURCE }, /source secret/],
      [['send', '--source-secret', 'whsec_not base64!', 'e.json'], { JARTRAIL_SOURCE_ID: SOURCE }, /whsec_/],
      [['send'], SEND_ENV, /missing required argument 'FILE'/],
      [['send', '-', '-'], SEND_ENV, /stdin \(-\) can be read once/],
      [['send', '--batch-size', '0', 'e.json'], SEND_ENV, /It must be a whole number of at least 1/],
      [['send', '--api-key', 'k', 'e.json'], SEND_ENV, /unknown option '--api-key'/],
    ])('refuses %j', async (argv, env, message) => {
      const run = await cli(argv, { env });
      expect(run).toMatchObject({ code: 2, sent: [] });
      expect(run.err).toMatch(message);
    });

    it('never prints the secret or the API key, whatever happens', async () => {
      const printed: string[] = [];
      for (const [argv, env] of [
        [['send', '--source-secret', SECRET, '--source', SOURCE, join(dir, 'missing.json')], {}],
        [['send', '--source-secret', SECRET, '--source', SOURCE, '--batch-size', 'x', 'e.json'], {}],
        [['sources', 'list', '--api-key', 'very-secret-admin-key', '--url', 'ftp://x'], {}],
      ] as const) {
        const run = await cli(argv, { env, answer: { status: 401, body: { status: 401 } } });
        printed.push(run.out, run.err);
      }
      const refused = await cli(['sources', 'list', '--api-key', 'very-secret-admin-key'], { env: {}, answer: { status: 401, body: { status: 401 } } });
      printed.push(refused.out, refused.err);
      expect(printed.join('\n')).not.toContain(SECRET);
      expect(printed.join('\n')).not.toContain('very-secret-admin-key');
    });
  });
});
