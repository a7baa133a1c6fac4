import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type request from 'supertest';
import { issueApiKey, linkNow, startTestApp, type TestApp } from '../support/app';
import { aConsent, aToken, aToolCall, aVerification, randomDigest, registerSenders } from '../support/events';
import { REPOSITORY_ROOT, runCli, spawnCli } from '../support/process';

/** What the proxy does to a download's body: pass it, send only its first bytes and then hold, or change one byte. */
type Mode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'stall'; readonly after: number }
  | { readonly kind: 'cut'; readonly after: number }
  | { readonly kind: 'tamper'; readonly at: number };

interface Proxy {
  readonly url: string;
  mode: Mode;
  /** How many of the next polls of a job (GET /v1/exports/ID) get a 503, as from a service that is briefly down. */
  unavailable: number;
  /** Each download request that went through, with its Range header. */
  readonly downloads: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

/**
 * A reverse proxy between the CLI and the service, on loopback: what a slow or hostile network does to a download,
 * made deterministic. Everything but a download's body passes unchanged.
 */
async function startProxy(target: string): Promise<Proxy> {
  const held: ServerResponse[] = [];
  const proxy: Proxy = {
    url: '',
    mode: { kind: 'pass' },
    unavailable: 0,
    downloads: [],
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const parts: Buffer[] = [];
      for await (const part of request) parts.push(part as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers.set(name, value);
      const body = Buffer.concat(parts);
      if (request.method === 'GET' && /^\/v1\/exports\/[0-9a-f-]{36}$/.test(request.url!) && proxy.unavailable > 0) {
        proxy.unavailable--;
        response.writeHead(503, { 'content-type': 'application/problem+json' });
        return void response.end(JSON.stringify({ type: 'urn:jartrail:problem:unavailable', status: 503 }));
      }
      const upstream = await fetch(`${target}${request.url}`, { method: request.method, headers, body: body.length > 0 ? body : undefined });
      const bytes = Buffer.from(await upstream.arrayBuffer());
      const answerHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-encoding', 'transfer-encoding', 'connection', 'content-length', 'keep-alive'].includes(name)) answerHeaders[name] = value;
      });
      answerHeaders['content-length'] = String(bytes.length);
      response.writeHead(upstream.status, answerHeaders);
      const path = new URL(request.url!, 'http://proxy').pathname;
      if (!path.endsWith('/download') || upstream.status >= 300) return void response.end(bytes);
      proxy.downloads.push({ path, range: request.headers.range });
      const mode = proxy.mode;
      if (mode.kind === 'stall') {
        response.write(bytes.subarray(0, mode.after));
        held.push(response);
        return;
      }
      if (mode.kind === 'cut') {
        // The connection drops after these bytes, once; the next request passes.
        proxy.mode = { kind: 'pass' };
        response.write(bytes.subarray(0, mode.after), () => response.destroy());
        return;
      }
      if (mode.kind === 'tamper') bytes[mode.at] = bytes[mode.at]! ^ 0x20;
      response.end(bytes);
    })().catch((error: unknown) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * `jartrail export` as a user runs it (the built CLI in its own process) against the real service, through a proxy
 * that can stall or alter a download: it creates the job, follows it, downloads with Range, resumes after Ctrl-C,
 * verifies the manifest offline, and refuses what does not verify.
 */
describe('jartrail export', () => {
  let app: TestApp;
  let proxy: Proxy;
  let dir: string;
  let exporter: string;
  let jwksFile: string;
  const client = `cli-export-${randomUUID().slice(0, 8)}`;

  const exportArgs = (output: string, ...more: string[]) => ['export', '--client', client, '--format', 'csv', '-o', output, '--jwks', jwksFile, ...more];
  const env = () => ({ JARTRAIL_URL: proxy.url, JARTRAIL_API_KEY: exporter });
  const jobsCreated = async () =>
    (await app.db.rows<{ id: string }>(`SELECT "detail"->>'export_id' AS id FROM "access_records" WHERE "detail"->>'action' = 'export_created' AND "detail"->'scope'->>'client_id' = $1`, [client])).map(
      (row) => row.id,
    );

  beforeAll(async () => {
    if (!existsSync(join(REPOSITORY_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` first');
    // Small chunks and a quick worker: a file of a few kilobytes spans several chunks, and a job is done in a moment.
    app = await startTestApp({ env: { EXPORTS_CHUNK_BYTES: '1024', EXPORTS_POLL_INTERVAL_MS: '50' } });
    proxy = await startProxy(app.url);
    dir = await mkdtemp(join(tmpdir(), 'jartrail-export-'));
    exporter = (await issueApiKey(app, ['audit:export'], 'cli-exporter')).key;
    const senders = await registerSenders(app);
    const digest = randomDigest();
    const jti = `at-${randomUUID()}`;
    await senders.as.event(aVerification({ digest, client_id: client })).expect(202);
    await senders.as.event(aConsent({ digest })).expect(202);
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    for (let index = 0; index < 14; index++) await senders.agent.event(aToolCall({ token: { jti }, tool: 'mail', action: 'send' })).expect(202);
    await linkNow(app);
    jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify((await app.http().get('/.well-known/jwks.json').expect(200)).body));
  });
  afterAll(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
    await app.close();
  });
  beforeEach(() => {
    proxy.mode = { kind: 'pass' };
    proxy.unavailable = 0;
    proxy.downloads.length = 0;
  });

  it('creates the job, shows its progress, downloads, verifies the manifest and keeps the verified file and its manifest', async () => {
    const output = join(dir, 'whole', 'q3.csv');
    await mkdir(join(dir, 'whole'));
    const before = (await jobsCreated()).length;

    const run = await runCli(exportArgs(output), { env: env() });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; keys: string; checks: { subject: string; ok: boolean }[] };
    expect(report).toMatchObject({ kind: 'export', ok: true, keys: 'given' });
    expect(report.checks.map(({ subject, ok }) => [subject.split(' ')[0], ok])).toEqual([
      ['manifest', true],
      ['checkpoint', true],
      ['file', true],
      ['records', true],
    ]);
    // Not a terminal: plain progress lines on stderr, the job and the download.
    expect(run.stderr).toMatch(/^jartrail: export [0-9a-f-]{36} created \(csv\)/m);
    expect(run.stderr).toMatch(/^jartrail: downloading: .* \(100\.0%\)$/m);
    expect(run.stderr).toContain(`jartrail: wrote ${output} (17 records,`);

    const [id] = (await jobsCreated()).slice(before);
    const served = (await app.http().get(`/v1/exports/${id}/download`).set('authorization', `Bearer ${exporter}`).buffer(true).parse(binaryParser).expect(200)).body as Buffer;
    expect((await readFile(output)).equals(served)).toBe(true);
    expect((await readFile(output, 'utf8')).split('\r\n')[0]).toMatch(/^ledger_seq,event_id,/);
    // The file and its manifest only: the part and the state are gone.
    expect((await readdir(join(dir, 'whole'))).sort()).toEqual(['q3.csv', 'q3.csv.manifest.json']);

    // What it kept verifies again offline, as the message says.
    const again = await runCli(['verify', output, '--manifest', `${output}.manifest.json`, '--jwks', jwksFile]);
    expect(again.code).toBe(0);
  });

  it('checks the signatures against a JWKS URL, or the service keys with a note when none is pinned', async () => {
    const byUrl = await runCli(['export', '--client', client, '--format', 'ndjson', '--proofs', '-o', join(dir, 'by-url.ndjson'), '--jwks', `${app.url}/.well-known/jwks.json`], { env: env() });
    expect(byUrl.code).toBe(0);
    expect(JSON.parse(byUrl.stdout).checks).toContainEqual(expect.objectContaining({ subject: 'proofs', ok: true }));

    const unpinned = await runCli(['export', '--client', client, '--format', 'ndjson', '-o', join(dir, 'unpinned.ndjson')], { env: env() });
    expect(unpinned.code).toBe(0);
    expect(unpinned.stderr).toContain(`checked against the service's own keys (${proxy.url}/.well-known/jwks.json); pin the keys`);
  });

  it('resumes after Ctrl-C in the middle of a download: the same command finds the job and fetches only the rest', async () => {
    const output = join(dir, 'resumed.csv');
    const cut = 1500;
    proxy.mode = { kind: 'stall', after: cut };
    const before = (await jobsCreated()).length;

    const first = spawnCli(exportArgs(output), { env: env() });
    const deadline = Date.now() + 30_000;
    while (((await sizeOf(`${output}.part`)) ?? 0) < cut) {
      if (Date.now() > deadline || first.child.exitCode !== null) throw new Error(`no part of ${cut} bytes: ${JSON.stringify(first.output())}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    first.child.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`interrupted with ${cut} bytes in ${output}.part; the job goes on in the service: run the same command again to resume`);
    expect(await sizeOf(`${output}.part`)).toBe(cut);
    const state = JSON.parse(await readFile(`${output}.part.json`, 'utf8')) as { export_id: string };
    expect(existsSync(output)).toBe(false);

    proxy.mode = { kind: 'pass' };
    const second = await runCli(exportArgs(output), { env: env() });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`resuming export ${state.export_id}, ${cut} bytes already in ${output}.part`);
    // One job for both runs, and the second asked for the rest of the file only.
    expect((await jobsCreated()).slice(before)).toEqual([state.export_id]);
    expect(proxy.downloads).toEqual([
      { path: `/v1/exports/${state.export_id}/download`, range: undefined },
      { path: `/v1/exports/${state.export_id}/download`, range: `bytes=${cut}-` },
    ]);
    const size = (await stat(output)).size;
    const delivered = await app.db.rows<{ detail: { range?: string; bytes: number } }>(
      `SELECT "detail" FROM "access_records" WHERE "detail"->>'action' = 'export_download' AND "detail"->>'export_id' = $1 ORDER BY "seq"`,
      [state.export_id],
    );
    expect(delivered.at(-1)!.detail).toMatchObject({ range: `${cut}-${size - 1}`, bytes: size - cut });
    expect(JSON.parse(second.stdout)).toMatchObject({ ok: true });
    expect(existsSync(`${output}.part`) || existsSync(`${output}.part.json`)).toBe(false);
  });

  it('rides out a service briefly unavailable and a connection cut mid-download, fetching only what it does not have', async () => {
    const output = join(dir, 'cut.csv');
    const cut = 2000;
    proxy.unavailable = 2;
    proxy.mode = { kind: 'cut', after: cut };
    const run = await runCli(exportArgs(output), { env: env() });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/jartrail: following export [0-9a-f-]{36}: the service answered 503; trying again in 1 s\n.*trying again in 2 s/s);
    // The proxy sends `cut` bytes, then drops the connection; the client keeps what it read before the drop, which
    // on a loaded machine can be less (a stream that errors discards what its reader had not taken yet).
    const broke = new RegExp(`jartrail: downloading export [0-9a-f-]{36}: the connection broke after (\\d+) of \\d+ bytes .*; trying again in 1 s`).exec(run.stderr);
    expect(broke).not.toBeNull();
    const kept = Number(broke![1]);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(proxy.downloads.map(({ range }) => range)).toEqual([undefined, kept > 0 ? `bytes=${kept}-` : undefined]);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true });
  });

  it('refuses a download altered on the way: the file is not written, and the next run downloads it again', async () => {
    const output = join(dir, 'tampered.csv');
    proxy.mode = { kind: 'tamper', at: 700 };
    const refused = await runCli(exportArgs(output), { env: env() });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, first_failure: { subject: 'file' } });
    expect(refused.stderr).toMatch(/jartrail: NOT VERIFIED: file: the file has \d+ bytes and SHA-256 [0-9a-f]{64}; the manifest says/);
    expect(refused.stderr).toContain(`the download was refused and removed; ${output} was not written`);
    expect(existsSync(output) || existsSync(`${output}.part`)).toBe(false);
    const { export_id: id } = JSON.parse(await readFile(`${output}.part.json`, 'utf8')) as { export_id: string };

    proxy.mode = { kind: 'pass' };
    const again = await runCli(exportArgs(output), { env: env() });
    expect(again.code).toBe(0);
    expect(proxy.downloads.map(({ path, range }) => [path, range])).toEqual([
      [`/v1/exports/${id}/download`, undefined],
      [`/v1/exports/${id}/download`, undefined],
    ]);
  });

  it('refuses a manifest whose signature does not verify under the pinned keys', async () => {
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const otherKeys = join(dir, 'other-jwks.json');
    await writeFile(otherKeys, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'not-the-ledger', alg: 'EdDSA' }] }));
    const output = join(dir, 'forged.csv');
    const refused = await runCli(['export', '--client', client, '--format', 'csv', '-o', output, '--jwks', otherKeys], { env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/NOT VERIFIED: manifest: the signature does not verify under the JWKS/);
    expect(existsSync(output)).toBe(false);
  });

  it('sets aside a state file of another request, and replaces a job that no longer exists', async () => {
    const output = join(dir, 'stale.csv');
    const request = { format: 'csv', scope: { client_id: client }, proofs: false };
    const state = (exportId: string, scope: object) =>
      writeFile(`${output}.part.json`, JSON.stringify({ kind: 'jartrail-export-download', service: proxy.url, request: { ...request, scope }, export_id: exportId, created_at: new Date().toISOString() }));
    await writeFile(`${output}.part`, 'bytes of some other export');

    await state(randomUUID(), { client_id: 'another-client' });
    const other = await runCli(exportArgs(output), { env: env() });
    expect(other.code).toBe(0);
    expect(other.stderr).toContain(`${output}.part.json is of another export (another scope, format or service); starting a new one`);
    expect(proxy.downloads.map(({ range }) => range)).toEqual([undefined]);

    const gone = randomUUID();
    await state(gone, { client_id: client });
    await writeFile(`${output}.part`, 'bytes of the export that is gone');
    const replaced = await runCli(exportArgs(output), { env: env() });
    expect(replaced.code).toBe(0);
    expect(replaced.stderr).toContain(`export ${gone} no longer exists; starting a new export`);
    expect(proxy.downloads.map(({ range }) => range)).toEqual([undefined, undefined]);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ ok: true });
  });

  it('exports a scope with no records as an empty file, verified', async () => {
    const output = join(dir, 'nothing.ndjson');
    const run = await runCli(['export', '--client', 'nobody-at-all', '--format', 'ndjson', '-o', output, '--jwks', jwksFile], { env: env() });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, checks: expect.arrayContaining([expect.objectContaining({ subject: 'records', ok: true })]) });
    expect(await readFile(output, 'utf8')).toBe('');
  });

  it('refuses a bad command line with a short hint, and a refused request with the problem', async () => {
    const nowhere = await runCli(exportArgs(join(dir, 'no', 'such', 'folder.csv')), { env: env() });
    expect(nowhere).toMatchObject({ code: 1, stderr: `jartrail: cannot write into ${join(dir, 'no', 'such')}: ENOENT\n` });

    const noOutput = await runCli(['export', '--format', 'csv'], { env: env() });
    expect(noOutput).toMatchObject({ code: 2, stdout: '', stderr: "jartrail: required option '-o, --output <FILE>' not specified\nRun 'jartrail export --help' for its usage.\n" });

    const badTime = await runCli(['export', '--format', 'csv', '-o', join(dir, 'x.csv'), '--from', 'last tuesday'], { env: env() });
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/^jartrail: --from: /);

    const reader = (await issueApiKey(app, ['audit:read'], 'cli-reader')).key;
    const forbidden = await runCli(exportArgs(join(dir, 'forbidden.csv')), { env: { ...env(), JARTRAIL_API_KEY: reader } });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('"status": 403');
    expect(forbidden.stderr).toContain('jartrail: the export was not created: the service answered 403');
    expect(existsSync(join(dir, 'forbidden.csv.part.json'))).toBe(false);
  });
});

/** Collects a response body as bytes, whatever its content type (supertest's parse). */
function binaryParser(response: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const parts: Buffer[] = [];
  (response as unknown as NodeJS.ReadableStream).on('data', (part: Buffer) => parts.push(part));
  (response as unknown as NodeJS.ReadableStream).on('end', () => callback(null, Buffer.concat(parts)));
}
