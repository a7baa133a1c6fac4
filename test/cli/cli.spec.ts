import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateNow, startTestApp, type TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { aConsent, aToolCall, aVerification, type Envelope } from '../support/events';
import { freePort } from '../support/ports';
import { COMMANDS } from '../../src/cli/commands';
import { REPOSITORY_ROOT, runCli } from '../support/process';

/**
 * The CLI as users run it: `bin/jartrail.js` in a process of its own, over the built dist/ (the npm `pretest`
 * script builds it; run `npm run build` before `npx jest test/cli`). Only what the CLI needs is in its
 * environment, so nothing of the test process leaks into it.
 */
const jartrail = runCli;

interface SourceCreated {
  readonly id: string;
  readonly secret: string;
}

const withId = (envelope: Envelope, id: string): Envelope => ({ id, ...envelope });
const ndjson = (envelopes: readonly Envelope[]) => `${envelopes.map((envelope) => JSON.stringify(envelope)).join('\n')}\n`;

describe('the jartrail command line', () => {
  let app: TestApp;
  let dir: string;
  /** Everything any CLI run printed: the admin key must never be in it. */
  const printed: string[] = [];

  const run = async (args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}) => {
    const result = await jartrail(args, { ...options, env: { JARTRAIL_URL: app.url, JARTRAIL_API_KEY: app.adminKey, ...options.env } });
    printed.push(result.stdout, result.stderr);
    return result;
  };
  const file = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };
  const createSource = async (name: string, kind = 'authorization_server'): Promise<SourceCreated> => {
    const created = await run(['sources', 'create', '--name', name, '--kind', kind]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(created.stdout) as SourceCreated;
  };
  const asSource = (source: SourceCreated) => ({ JARTRAIL_SOURCE_ID: source.id, JARTRAIL_SOURCE_SECRET: source.secret });
  const eventIdsOf = async (source: SourceCreated) =>
    (await app.db.rows<{ event_id: string }>('SELECT event_id FROM events WHERE source_id = $1 ORDER BY seq', [source.id])).map((row) => row.event_id);

  beforeAll(async () => {
    if (!existsSync(join(REPOSITORY_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` first');
    app = await startTestApp();
    dir = await mkdtemp(join(tmpdir(), 'jartrail-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await app.close();
  });

  it('creates a source and shows its secret that once; listing and showing never do', async () => {
    const source = await createSource('as-1');
    expect(source).toMatchObject({ name: 'as-1', kind: 'authorization_server', status: 'enabled', secret: expect.stringMatching(/^whsec_/) });

    const listed = await run(['sources', 'list']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).items).toContainEqual(expect.objectContaining({ id: source.id, name: 'as-1' }));
    const shown = await run(['sources', 'show', source.id]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: source.id, secrets: [expect.objectContaining({ expires_at: null })] });
    for (const output of [listed.stdout, shown.stdout]) {
      expect(output).not.toContain(source.secret);
      expect(output).not.toContain('"secret"');
    }
  });

  it('sends an envelope file, signed with the source secret, and the event is recorded under its id', async () => {
    const source = await createSource('as-single');
    const event = await file('verification.json', JSON.stringify(withId(aVerification(), 'evt-cli-1'), null, 2));

    const sent = await run(['send', event], { env: asSource(source) });
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(sent.stdout)).toEqual({ event_id: 'evt-cli-1', status: 'accepted', position: expect.stringMatching(/^\d+$/) });
    expect(await eventIdsOf(source)).toEqual(['evt-cli-1']);
    expect(sent.stdout + sent.stderr).not.toContain(source.secret);

    // The same file again: a duplicate, nothing new.
    const again = await run(['send', '--source', source.id, '--source-secret', source.secret, event], { env: { JARTRAIL_SOURCE_ID: '', JARTRAIL_SOURCE_SECRET: '' } });
    expect(JSON.parse(again.stdout)).toEqual({ event_id: 'evt-cli-1', status: 'duplicate', position: JSON.parse(sent.stdout).position });
    expect(await eventIdsOf(source)).toEqual(['evt-cli-1']);
  });

  it('follows the README: the example files keep their ids, so a changed example sent again is refused with 409 and kept as a conflict', async () => {
    const as = await createSource('as-readme');
    const example = join(REPOSITORY_ROOT, 'examples', '2-consent-decision.json');
    const sent = await run(['send', join(REPOSITORY_ROOT, 'examples', '1-request-object-verification.json'), example], { env: asSource(as) });
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    const [eventId] = (await eventIdsOf(as)).slice(1);

    // "change an event and send it under the same id": the README's own edit of the consent example.
    const text = await readFile(example, 'utf8');
    expect(text).toContain('"approved"');
    const changed = await file('2-consent-decision-changed.json', text.replace('"approved"', '"denied"'));
    const refused = await run(['send', changed], { env: asSource(as) });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ status: 409, type: 'urn:jartrail:problem:event-id-conflict', event_id: eventId });
    const conflicts = await app.db.rows<{ decision: string }>(`SELECT data ->> 'decision' AS decision FROM event_conflicts WHERE source_id = $1 AND event_id = $2`, [as.id, eventId]);
    expect(conflicts).toEqual([{ decision: 'denied' }]);
    expect(await eventIdsOf(as)).toHaveLength(2);

    // "the changed consent above is kept as a conflict, which is itself a finding"
    await evaluateNow(app);
    const digest = JSON.parse(await readFile(join(REPOSITORY_ROOT, 'examples', '1-request-object-verification.json'), 'utf8')).data.digest as string;
    const findings = (await app.get(`/v1/findings?chain=${digest}&status=open`).expect(200)).body.items as { rule: string; severity: string }[];
    expect(findings.map(({ rule, severity }) => ({ rule, severity }))).toEqual([{ rule: 'conflicting_redelivery', severity: 'medium' }]);
  });

  it('follows the README: the second example authorization replays the first one\'s request_uri and fires four rules', async () => {
    const [as, tokens, agent] = [await createSource('as-findings'), await createSource('tokens-findings', 'token_service'), await createSource('agent-findings', 'agent')];
    const example = (name: string) => join(REPOSITORY_ROOT, 'examples', name);
    for (const [source, files] of [
      [as, ['1-request-object-verification.json', '2-consent-decision.json', '5-replayed-verification.json', '6-consent-decision.json']],
      [tokens, ['3-token-issued.json', '7-token-issued.json']],
      [agent, ['4-tool-call-recorded.json', '8-tool-call-recorded.json']],
    ] as const) {
      expect(await run(['send', ...files.map(example)], { env: asSource(source) })).toMatchObject({ code: 0, stderr: '' });
    }
    await evaluateNow(app);
    const digest = JSON.parse(await readFile(example('5-replayed-verification.json'), 'utf8')).data.digest as string;
    const findings = (await app.get(`/v1/findings?chain=${digest}&status=open`).expect(200)).body.items as { rule: string; severity: string }[];
    expect(findings.map(({ rule, severity }) => `${rule}/${severity}`).sort()).toEqual([
      'beyond_grant/high',
      'consent_exceeds_request/high',
      'request_uri_replay/high',
      'token_exceeds_consent/high',
    ]);
    const search = (await app.get('/v1/chains?finding=request_uri_replay').expect(200)).body.items as { digest: string }[];
    expect(search.map((item) => item.digest)).toContain(digest);
  });

  it('sends an NDJSON file as a batch; envelopes without an id get one from their content, so sending again records nothing twice', async () => {
    const source = await createSource('as-batch');
    const events = await file('events.ndjson', ndjson([withId(aVerification(), 'evt-b-1'), aConsent(), aConsent()]));

    const sent = await run(['send', events], { env: asSource(source) });
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 3, duplicates: 0, conflicts: 0, rejected: 0 });
    const recorded = await eventIdsOf(source);
    expect(recorded).toHaveLength(3);
    expect(recorded[0]).toBe('evt-b-1');

    const again = await run(['send', events], { env: asSource(source) });
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(await eventIdsOf(source)).toEqual(recorded);
  });

  it('reads stdin, sends a JSON array in requests of --batch-size, and prints one answer indexed over the whole file', async () => {
    const source = await createSource('as-stdin');
    const envelopes = [aConsent(), aConsent(), aConsent(), aConsent(), aConsent()];
    const sent = await run(['send', '--batch-size', '2', '-'], { env: asSource(source), input: JSON.stringify(envelopes) });
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    const answer = JSON.parse(sent.stdout);
    expect(answer).toMatchObject({ accepted: 5, rejected: 0 });
    expect(answer.results.map((result: { index: number }) => result.index)).toEqual([0, 1, 2, 3, 4]);
    expect(await eventIdsOf(source)).toHaveLength(5);
  });

  it('exits 1 and says so when items of a batch are rejected, after recording the valid ones', async () => {
    const source = await createSource('as-partial');
    const events = await file('partial.ndjson', ndjson([aConsent(), { ...aConsent(), type: 'consent.unknown' }]));
    const sent = await run(['send', events], { env: asSource(source) });
    expect(sent.code).toBe(1);
    expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 1, rejected: 1, results: [{ status: 'accepted' }, { status: 'rejected', problem: { status: 422 } }] });
    expect(sent.stderr).toContain('partial.ndjson: 1 rejected and 0 conflicting of 2 events');
    expect(await eventIdsOf(source)).toHaveLength(1);
  });

  it('sends several files one after the other, the next even when one is refused, and names the refused one', async () => {
    const source = await createSource('as-several');
    const allowed = await file('allowed.json', JSON.stringify(withId(aConsent(), 'evt-allowed')));
    const notItsKind = await file('not-its-kind.json', JSON.stringify(aToolCall()));
    const after = await file('after.ndjson', ndjson([withId(aConsent(), 'evt-after')]));

    const sent = await run(['send', allowed, notItsKind, after], { env: asSource(source) });
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('"status": 403');
    expect(sent.stderr).toContain(`jartrail: ${notItsKind}: not recorded`);
    expect(await eventIdsOf(source)).toEqual(['evt-allowed', 'evt-after']);
  });

  it('refuses a wrong secret with exit 1 and the 401 problem on stderr, and records nothing', async () => {
    const source = await createSource('as-wrong-secret');
    const event = await file('wrong-secret.json', JSON.stringify(aConsent()));
    const wrong = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

    const sent = await run(['send', event], { env: { JARTRAIL_SOURCE_ID: source.id, JARTRAIL_SOURCE_SECRET: wrong } });
    expect(sent.code).toBe(1);
    expect(sent.stdout).toBe('');
    expect(JSON.parse(sent.stderr)).toMatchObject({ type: 'urn:jartrail:problem:invalid-signature', status: 401 });
    expect(sent.stderr).not.toContain(wrong);
    expect(await eventIdsOf(source)).toEqual([]);
  });

  it('rotates a secret: the new one signs at once, the old one for the grace period, and not after a grace period of 0', async () => {
    const source = await createSource('as-rotated');
    const event = await file('rotated.json', JSON.stringify(aConsent()));
    const rotate = async (...options: string[]) => {
      const rotated = await run(['sources', 'rotate-secret', source.id, ...options]);
      expect(rotated.code).toBe(0);
      const { secret } = JSON.parse(rotated.stdout) as SourceCreated;
      expect(secret).toMatch(/^whsec_/);
      return secret;
    };
    const sendsWith = async (secret: string) => (await run(['send', event], { env: { ...asSource(source), JARTRAIL_SOURCE_SECRET: secret } })).code;

    const second = await rotate();
    expect([await sendsWith(source.secret), await sendsWith(second)]).toEqual([0, 0]);
    const third = await rotate('--grace-period', '0');
    expect([await sendsWith(source.secret), await sendsWith(second), await sendsWith(third)]).toEqual([1, 1, 0]);
  });

  it('disables a source, whose events are then refused, and enables it again', async () => {
    const source = await createSource('as-disabled');
    const event = await file('disabled.json', JSON.stringify(aConsent()));
    expect(JSON.parse((await run(['sources', 'disable', source.id])).stdout)).toMatchObject({ status: 'disabled' });
    const refused = await run(['send', event], { env: asSource(source) });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ status: 403 });

    expect(JSON.parse((await run(['sources', 'enable', source.id])).stdout)).toMatchObject({ status: 'enabled' });
    expect((await run(['send', event], { env: asSource(source) })).code).toBe(0);
  });

  it('shows the master keys and runs a rotation, which exits 0 when nothing is left under another key', async () => {
    const status = await run(['keys', 'status']);
    expect(status.code).toBe(0);
    const { current_key_id: current } = JSON.parse(status.stdout) as { current_key_id: string };
    const rotated = await run(['keys', 'rotate-master', '--batch-size', '10']);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(rotated.stdout)).toMatchObject({ ok: true, to_key_id: current, from_key_ids: [], remaining: [] });
  });

  it('disables a client and a decryption key, which stay listed as disabled', async () => {
    const clientFile = await file('disable-client.json', JSON.stringify({ client_id: 'cli-disabled', jwks_uri: 'https://client.example.com/jwks', request_object_signing_alg_values: ['ES256'] }));
    expect((await run(['clients', 'create', '--file', clientFile])).code).toBe(0);
    expect(JSON.parse((await run(['clients', 'disable', 'cli-disabled'])).stdout)).toMatchObject({ client_id: 'cli-disabled', status: 'disabled' });
    expect(JSON.parse((await run(['clients', 'enable', 'cli-disabled'])).stdout)).toMatchObject({ status: 'enabled' });
    const missing = await run(['decryption-keys', 'disable', '00000000-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ status: 404 });
  });

  it('issues an auditor API key with the given scopes, which the API then accepts, and revokes it', async () => {
    const created = await run(['api-keys', 'create', '--name', 'incident-7', '--scope', 'audit:read']);
    expect(created.code).toBe(0);
    const issued = JSON.parse(created.stdout) as { id: string; key: string; scopes: string[] };
    expect(issued).toMatchObject({ name: 'incident-7', scopes: ['audit:read'], key: expect.any(String) });
    await app.get('/v1/chains', issued.key).expect(200);

    const listed = await run(['api-keys', 'list']);
    expect(JSON.parse(listed.stdout).items).toContainEqual(expect.objectContaining({ id: issued.id, revoked_at: null }));
    expect(listed.stdout).not.toContain(issued.key);

    expect(JSON.parse((await run(['api-keys', 'revoke', issued.id])).stdout)).toMatchObject({ id: issued.id, revoked_at: expect.any(String) });
    await app.get('/v1/chains', issued.key).expect(401);
  });

  it('prints the problem of a refused admin request on stderr with exit 1', async () => {
    const refused = await run(['sources', 'list'], { env: { JARTRAIL_API_KEY: 'not-a-key-of-this-service' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(JSON.parse(refused.stderr)).toMatchObject({ status: 401 });
    expect(refused.stderr).not.toContain('not-a-key-of-this-service');
  });

  it('reads the access log, refused attempts included, one page at a time, and never prints a presented key', async () => {
    const wrongKey = `jtk_wrong-${Date.now()}`;
    expect((await run(['sources', 'list'], { env: { JARTRAIL_API_KEY: wrongKey } })).code).toBe(1);

    const refused = await run(['access-records', '--outcome', 'refused', '--route', '/v1/sources', '--limit', '1']);
    expect(refused).toMatchObject({ code: 0, stderr: '' });
    const page = JSON.parse(refused.stdout) as { items: Record<string, unknown>[]; next_cursor: string | null };
    expect(page.items).toEqual([
      expect.objectContaining({ api_key: null, credential: 'unknown_key', presented_key_fingerprint: expect.stringMatching(/^kfp:/), method: 'GET', route: '/v1/sources', status: 401 }),
    ]);
    expect(refused.stdout).not.toContain(wrongKey);

    const first = JSON.parse((await run(['access-records', '--limit', '2'])).stdout) as { items: { seq: string }[]; next_cursor: string };
    const second = JSON.parse((await run(['access-records', '--limit', '2', '--cursor', first.next_cursor])).stdout) as { items: { seq: string }[] };
    expect(second.items).toHaveLength(2);
    expect(BigInt(second.items[0]!.seq)).toBeLessThan(BigInt(first.items[1]!.seq));

    const bad = await run(['access-records', '--outcome', 'maybe']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ status: 400, errors: [expect.objectContaining({ field: 'outcome' })] });
  });

  it('exits 2 with a short hint on a usage error, and 1 with one line when the service cannot be reached', async () => {
    const usage = await run(['sources', 'create', '--name', 'x', '--kind', 'printer']);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toBe(
      "jartrail: option '--kind <KIND>' argument 'printer' is invalid. Allowed choices are authorization_server, token_service, agent.\nRun 'jartrail sources create --help' for its usage.\n",
    );

    const unreachable = await run(['sources', 'list', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^jartrail: could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('registers a client from a file, lists, shows and replaces it, and gives a source its SET keys', async () => {
    const jwks = JSON.parse(await readFile(join(REPOSITORY_ROOT, 'examples', 'client-jwks.json'), 'utf8'));
    const registration = await file('client.json', JSON.stringify({ client_id: 'cli-app', jwks, request_object_signing_alg_values: ['ES256'] }));
    const created = await run(['clients', 'create', '--file', registration]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(created.stdout)).toMatchObject({ client_id: 'cli-app', max_request_object_lifetime: 3600 });
    expect(JSON.parse((await run(['clients', 'list'])).stdout).items).toContainEqual(expect.objectContaining({ client_id: 'cli-app' }));

    const replaced = await run(['clients', 'update', 'cli-app', '--file', '-'], { input: JSON.stringify({ jwks, request_object_signing_alg_values: ['ES256'], max_request_object_lifetime: 300 }) });
    expect(JSON.parse(replaced.stdout)).toMatchObject({ max_request_object_lifetime: 300 });
    expect(JSON.parse((await run(['clients', 'show', 'cli-app'])).stdout)).toMatchObject({ max_request_object_lifetime: 300 });
    expect(await run(['clients', 'create', '--file', registration])).toMatchObject({ code: 1, stderr: expect.stringContaining('urn:jartrail:problem:conflict') });

    const source = await createSource('as-sets');
    const keys = await run(['sources', 'set-keys', source.id, '--jwks', join(REPOSITORY_ROOT, 'examples', 'client-jwks.json')]);
    expect(keys).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(keys.stdout).set_jwks).toEqual(jwks);
  });

  it('writes the OpenAPI document the service serves, without any database', async () => {
    const target = join(dir, 'docs', 'openapi.json');
    const written = await jartrail(['openapi', target], { env: { JARTRAIL_DATA_DIR: join(dir, 'no-data') } });
    expect(written.code).toBe(0);
    const text = await readFile(target, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const document = JSON.parse(text) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/events/batch', '/v1/sources']));
    expect(document).toEqual((await app.http().get('/openapi.json').expect(200)).body);
    // Preview mode touched no database: no embedded PostgreSQL was set up.
    expect(existsSync(join(dir, 'no-data'))).toBe(false);
  });

  it('migrates an empty database, and then finds nothing left to do', async () => {
    const db = await createTestDatabase({ migrated: false });
    try {
      const first = await jartrail(['migrate'], { env: { DATABASE_URL: db.url } });
      expect(first.code).toBe(0);
      const { applied } = JSON.parse(first.stdout) as { applied: string[] };
      expect(applied.length).toBeGreaterThan(0);
      expect(await db.rows('SELECT name FROM schema_migrations')).toHaveLength(applied.length);

      const second = await jartrail(['migrate'], { env: { DATABASE_URL: db.url } });
      expect(JSON.parse(second.stdout)).toEqual({ applied: [] });
    } finally {
      await db.drop();
    }
  });

  it('shows each command its own usage for --help, and the version for --version, through the built CLI', async () => {
    const { version } = JSON.parse(await readFile(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await jartrail(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    const helps: { command: string; code: number | null; first: string | undefined; stderr: string }[] = [];
    // Four processes at a time: the machine is small and shared.
    for (let start = 0; start < COMMANDS.length; start += 4) {
      const runs = await Promise.all(COMMANDS.slice(start, start + 4).map((spec) => jartrail([...spec.words, '--help'])));
      runs.forEach((help, index) => {
        const command = COMMANDS[start + index]!.words.join(' ');
        helps.push({ command, code: help.code, first: help.stdout.split('\n')[0], stderr: help.stderr });
      });
    }
    expect(helps).toEqual(COMMANDS.map((spec) => ({ command: spec.words.join(' '), code: 0, first: expect.stringMatching(new RegExp(`^Usage: jartrail ${spec.words.join(' ')}( |$)`)), stderr: '' })));
  });

  // Last, so that it sees the output of every command above.
  it('never prints the API key it was given', () => {
    expect(printed.length).toBeGreaterThan(0);
    expect(printed.join('\n')).not.toContain(app.adminKey);
  });
});
