import { randomUUID } from 'node:crypto';
import { evaluateNow, fieldsOf, issueApiKey, problemOf, startTestApp, type TestApp } from '../support/app';
import { aToolCall, type Envelope, registerSenders } from '../support/events';
import { checkpointNow, tamper, verifyLedger } from '../support/ledger';

/**
 * Reviewers triage findings: each triage is a record (append-only, ledgered like the evidence), the finding shows the
 * latest as its triage_status and lists them all, and a triage altered around the service is detected.
 */
describe('triage of findings', () => {
  let app: TestApp;
  let findingId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { ORPHAN_GRACE_SECONDS: '0' } });
    const senders = await registerSenders(app);
    // A tool call whose token never arrives: an orphan finding to triage.
    const call: Envelope = { ...aToolCall({ token: { jti: `at-${randomUUID()}` } }), id: `orphan-${randomUUID()}` };
    await senders.agent.event(call).expect(202);
    await evaluateNow(app);
    const page = (await app.get('/v1/findings?rule=orphan&status=open').expect(200)).body as { items: { id: string; evidence: { event_id: string }[] }[] };
    findingId = page.items.find((finding) => finding.evidence.some((evidence) => evidence.event_id === call.id))!.id;
  });
  afterAll(async () => {
    await app.close();
  });

  const triage = (body: unknown, key = app.adminKey, id = findingId) => app.http().post(`/v1/findings/${id}/triage`).set('authorization', `Bearer ${key}`).send(body as object);

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

  it('needs the audit:triage scope', async () => {
    const reader = await issueApiKey(app, ['audit:read']);
    problemOf(await triage({ status: 'resolved', note: 'no' }, reader.key), 403, 'forbidden');
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
});
