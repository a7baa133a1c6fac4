import { randomUUID } from 'node:crypto';
import { type ManifestDocument, verifyExport } from '../../src/exports/export-manifest';
import { ExportsWorker } from '../../src/exports/exports.worker';
import { evaluateNow, fieldsOf, issueApiKey, problemOf, startTestApp, type TestApp, binaryBody } from '../support/app';
import { aToolCall, type Envelope, registerSenders } from '../support/events';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';
import { checkpointNow, tamper, verifyLedger } from '../support/ledger';

type Json = Record<string, unknown>;
interface TriageItem {
  id: string;
  status: string;
  note: string;
  triaged_by: Json;
  ledger_seq: number | null;
}

const lines = (file: Buffer) => file.toString('utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Json);

/**
 * Reviewers triage findings: each triage is a record (append-only, ledgered like the evidence), the finding shows the
 * latest as its triage_status and lists them all, and a triage altered around the service is detected. A reviewer
 * holds audit:triage or audit:admin, with an API key or an access token of the identity provider.
 */
describe('triage of findings', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;
  let findingId: string;
  /** Another orphan, triaged by token holders only. */
  let tokenFindingId: string;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    app = await startTestApp({ env: idp.env({ ORPHAN_GRACE_SECONDS: '0', EXPORTS_ENABLED: 'false' }) });
    const senders = await registerSenders(app);
    // Tool calls whose tokens never arrive: orphan findings to triage.
    const calls: Envelope[] = [0, 1].map(() => ({ ...aToolCall({ token: { jti: `at-${randomUUID()}` } }), id: `orphan-${randomUUID()}` }));
    for (const call of calls) await senders.agent.event(call).expect(202);
    await evaluateNow(app);
    const page = (await app.get('/v1/findings?rule=orphan&status=open').expect(200)).body as { items: { id: string; evidence: { event_id: string }[] }[] };
    [findingId, tokenFindingId] = calls.map((call) => page.items.find((finding) => finding.evidence.some((evidence) => evidence.event_id === call.id))!.id);
  });
  afterAll(async () => {
    await app?.close();
    await idp?.stop();
  });

  const triage = (body: unknown, key = app.adminKey, id = findingId) => app.http().post(`/v1/findings/${id}/triage`).set('authorization', `Bearer ${key}`).send(body as object);
  const triageOf = async (id: string) => ((await app.get(`/v1/findings/${id}`).expect(200)).body as { triage: TriageItem[] }).triage;

  it('records who decided what and when, mirrors the latest on the finding, and lists every triage oldest first', async () => {
    const reviewer = await issueApiKey(app, ['audit:read', 'audit:triage'], 'reviewer-alice');
    const first = (await triage({ status: 'acknowledged', note: 'looking into the agent that sent it' }, reviewer.key).expect(201)).body;
    expect(first).toEqual({
      id: expect.stringMatching(/^triage-/),
      status: 'acknowledged',
      note: 'looking into the agent that sent it',
      triaged_by: { api_key_id: reviewer.id, name: 'reviewer-alice' },
      recorded_at: expect.any(String),
      ledger_seq: null,
    });
    await triage({ status: 'false_positive', note: 'a test agent without a token service' }, reviewer.key).expect(201);

    await checkpointNow(app);
    const finding = (await app.get(`/v1/findings/${findingId}`).expect(200)).body;
    expect(finding.triage_status).toBe('false_positive');
    expect(finding.triage.map((entry: { status: string }) => entry.status)).toEqual(['acknowledged', 'false_positive']);
    expect(finding.triage.every((entry: { ledger_seq: number | null }) => typeof entry.ledger_seq === 'number')).toBe(true);
    // Triage is the reviewer's word, not the evidence's: the evaluator's status stays as the rules find it.
    expect(finding.status).toBe('open');
    expect((await app.get('/v1/findings?rule=orphan&status=open').expect(200)).body.items.map((item: { id: string }) => item.id)).toContain(findingId);
    expect(await verifyLedger(app)).toMatchObject({ ok: true, unledgered: 0 });
  });

  it('lets a key with audit:admin alone triage: the issue asks for audit:admin or a dedicated audit:triage', async () => {
    const admin = await issueApiKey(app, ['audit:admin'], 'admin-only');
    const answer = (await triage({ status: 'acknowledged', note: 'an admin key without audit:triage' }, admin.key).expect(201)).body as TriageItem;
    expect(answer.triaged_by).toEqual({ api_key_id: admin.id, name: 'admin-only' });
  });

  it('refuses a key with neither audit:triage nor audit:admin with 403, naming the scopes that would do, and writes nothing', async () => {
    const before = await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`);
    const reader = await issueApiKey(app, ['audit:read', 'audit:export']);
    const refused = await triage({ status: 'resolved', note: 'no' }, reader.key);
    const problem = problemOf(refused, 403, 'forbidden');
    expect(problem.accepted_scopes).toEqual(['audit:triage', 'audit:admin']);
    expect(problem.required_scope).toBeUndefined();
    expect(problem.detail).toBe('this request needs one of the scopes audit:triage, audit:admin');
    // RFC 6750's scope attribute lists scopes needed together: of alternatives, the least that suffices.
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="jartrail", error="insufficient_scope", scope="audit:triage"');
    expect(await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`)).toEqual(before);
  });

  it("records a token holder's triage by the token's subject and issuer: the answer, the finding's history, the row, and the ledger's leaf name them", async () => {
    const { accessToken } = await idp.signInWithCodeFlow('alice@example.com', { scope: 'openid audit:read audit:triage' });
    const answer = (await triage({ status: 'acknowledged', note: 'alice looks into it' }, accessToken, tokenFindingId).expect(201)).body as TriageItem;
    expect(answer).toMatchObject({ status: 'acknowledged', triaged_by: { subject: 'alice@example.com', issuer: idp.issuer } });
    expect(await app.db.rows('SELECT api_key_id, triaged_by_subject, triaged_by_issuer FROM finding_triage WHERE event_id = $1', [answer.id])).toEqual([
      { api_key_id: null, triaged_by_subject: 'alice@example.com', triaged_by_issuer: idp.issuer },
    ]);
    // A service client with audit:admin (and no audit:triage) triages too.
    const service = await idp.clientCredentialsToken('jartrail-admin', 'audit:admin');
    await triage({ status: 'resolved', note: 'closed by the service' }, service, tokenFindingId).expect(201);

    await checkpointNow(app);
    const history = await triageOf(tokenFindingId);
    expect(history.map((entry) => [entry.status, entry.triaged_by])).toEqual([
      ['acknowledged', { subject: 'alice@example.com', issuer: idp.issuer }],
      ['resolved', { subject: 'jartrail-admin', issuer: idp.issuer }],
    ]);
    expect(history.every((entry) => typeof entry.ledger_seq === 'number')).toBe(true);
    const proof = (await app.get(`/v1/ledger/proofs/inclusion?seq=${history[0]!.ledger_seq}`).expect(200)).body as { leaf: Json };
    expect(proof.leaf).toMatchObject({ kind: 'triage', event_id: answer.id, type: 'finding.triage', source_id: JSON.stringify([idp.issuer, 'alice@example.com']) });
    // The key holders' triage of the other finding keeps its key id as the leaf's source.
    const byKey = (await triageOf(findingId))[0]!;
    const keyProof = (await app.get(`/v1/ledger/proofs/inclusion?seq=${byKey.ledger_seq}`).expect(200)).body as { leaf: Json };
    expect(keyProof.leaf.source_id).toBe(byKey.triaged_by.api_key_id);
    expect(await verifyLedger(app)).toMatchObject({ ok: true, unledgered: 0 });
  });

  it('names exactly one reviewer in every triage row: an API key, or a subject with its issuer (PostgreSQL holds it)', async () => {
    const [key] = await app.db.rows<{ id: string }>(`SELECT id FROM api_keys LIMIT 1`);
    const insert = (apiKeyId: string | null, subject: string | null, issuer: string | null) =>
      app.db.pool.query(
        `INSERT INTO finding_triage (finding_id, event_id, api_key_id, triaged_by_subject, triaged_by_issuer, status, note, fingerprint, data)
         VALUES ($1, $2, $3, $4, $5, 'acknowledged', 'x', '\\x00', '{}')`,
        [findingId, `triage-${randomUUID()}`, apiKeyId, subject, issuer],
      );
    await expect(insert(null, null, null)).rejects.toThrow(/chk_finding_triage_triaged_by/);
    await expect(insert(key!.id, 'alice', idp.issuer)).rejects.toThrow(/chk_finding_triage_triaged_by/);
    await expect(insert(null, 'alice', null)).rejects.toThrow(/chk_finding_triage_triaged_by/);
  });

  it("exports a token holder's triage with who triaged: NDJSON with its proof, and OCSF's actor (the user by sub, the provider by iss)", async () => {
    const exporter = (await issueApiKey(app, ['audit:export'], 'triage-export')).key;
    const get = (path: string) => app.http().get(path).set('authorization', `Bearer ${exporter}`);
    const exportOf = async (body: Json) => {
      const created = (await app.http().post('/v1/exports').set('authorization', `Bearer ${exporter}`).send(body).expect(202)).body as { id: string };
      await app.app.get(ExportsWorker).runDue();
      expect((await get(`/v1/exports/${created.id}`).expect(200)).body).toMatchObject({ status: 'completed', error: null });
      const file = (await binaryBody(get(`/v1/exports/${created.id}/download`)).expect(200)).body as Buffer;
      const manifest = (await get(`/v1/exports/${created.id}/manifest`).expect(200)).body as ManifestDocument;
      const jwks = (await app.http().get('/.well-known/jwks.json').expect(200)).body as ManifestDocument['jwks'];
      return { records: lines(file), verified: await verifyExport(file, manifest, jwks) };
    };
    const alice = (await triageOf(tokenFindingId))[0]!;

    const ndjson = await exportOf({ format: 'ndjson', proofs: true });
    expect(ndjson.verified.ok).toBe(true);
    const record = ndjson.records.find((line) => line.event_id === alice.id)!;
    expect(record).toMatchObject({ kind: 'triage', type: 'finding.triage', source: null, data: { triaged_by: { subject: 'alice@example.com', issuer: idp.issuer } } });
    expect((record.proof as { leaf: Json }).leaf.source_id).toBe(JSON.stringify([idp.issuer, 'alice@example.com']));

    const ocsf = await exportOf({ format: 'ocsf' });
    expect(ocsf.verified.ok).toBe(true);
    const event = ocsf.records.find((line) => (line.metadata as Json).uid === alice.id);
    expect(event).toMatchObject({ class_uid: 2004, actor: { user: { uid: 'alice@example.com' }, idp: { uid: idp.issuer } } });
  });

  it.each([
    ['an unknown status', { status: 'closed', note: 'x' }, 'status'],
    ['no note', { status: 'resolved' }, 'note'],
    ['a blank note', { status: 'resolved', note: '   ' }, 'note'],
    ['a note over 4,096 characters', { status: 'resolved', note: 'x'.repeat(4097) }, 'note'],
    ['an unknown member', { status: 'resolved', note: 'x', extra: true }, 'extra'],
  ])('refuses %s, naming the field, and writes nothing', async (_, body, field) => {
    const before = await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`);
    expect(fieldsOf(problemOf(await triage(body), 400, 'invalid-request')).map(([name]) => name)).toContain(field);
    expect(await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`)).toEqual(before);
  });

  it('answers 404 for an unknown finding and writes nothing', async () => {
    const before = await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`);
    problemOf(await triage({ status: 'resolved', note: 'x' }, app.adminKey, '999999999'), 404, 'not-found');
    expect(await app.db.rows<{ n: string }>(`SELECT count(*) AS n FROM finding_triage`)).toEqual(before);
  });

  it('cannot be changed through the database, and a change made around the triggers is detected by the ledger', async () => {
    await expect(app.db.pool.query(`UPDATE finding_triage SET note = 'rewritten' WHERE finding_id = $1`, [findingId])).rejects.toThrow(/append-only/);
    await expect(app.db.pool.query(`DELETE FROM finding_triage WHERE finding_id = $1`, [findingId])).rejects.toThrow(/append-only/);

    await checkpointNow(app);
    await tamper(app, `UPDATE finding_triage SET data = jsonb_set(data, '{note}', '"rewritten"') WHERE finding_id = $1 AND status = 'false_positive'`, [findingId]);
    const report = await verifyLedger(app);
    expect(report.ok).toBe(false);
    expect(report.first_failure).toMatchObject({ what: 'record', reason: 'the payload differs from the one committed' });
  });

  it("detects a token holder's triage altered around the service: another subject in the row, or another reviewer in the payload", async () => {
    const [alice, service] = await triageOf(tokenFindingId);
    await tamper(app, `UPDATE finding_triage SET triaged_by_subject = 'mallory@example.com' WHERE event_id = $1`, [alice!.id]);
    await tamper(app, `UPDATE finding_triage SET data = jsonb_set(data, '{triaged_by,subject}', '"mallory@example.com"') WHERE event_id = $1`, [service!.id]);
    const { failures } = await verifyLedger(app);
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ what: 'record', ledger_seq: alice!.ledger_seq, reason: 'the record fields differ from the ones committed' }),
        expect.objectContaining({ what: 'record', ledger_seq: service!.ledger_seq, reason: 'the payload differs from the one committed' }),
      ]),
    );
  });
});
