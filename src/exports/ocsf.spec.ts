import { EVENT_TYPES } from '../evidence/event-types';
import type { ExportRecord } from './export-formats';
import { OCSF_CLASSES, OCSF_MAPPINGS, ocsfEvent } from './ocsf';

const record = (type: string, data: Record<string, unknown> | null, kind: ExportRecord['kind'] = 'event'): ExportRecord => ({
  ledgerSeq: 41,
  kind,
  recordSeq: '9',
  eventId: 'evt-9',
  source: 'as-main',
  type,
  emittedAt: '2026-05-01T10:00:00.000000Z',
  occurredAt: kind === 'event' ? '2026-05-01T10:00:00.250000Z' : null,
  recordedAt: '2026-05-01T10:00:01.000000Z',
  chainDigests: ['chain-a'],
  conflictsWith: kind === 'conflict' ? 40 : null,
  data,
  purge: data === null ? { purge_id: '3', policy: 'p90', purged_at: '2026-08-01T00:00:00.000000Z', from_ledger_seq: 0, to_ledger_seq: 99, fields: ['data'] } : null,
});

const classUids: number[] = Object.values(OCSF_CLASSES).map((ocsfClass) => ocsfClass.uid);

describe('the OCSF mapping', () => {
  it.each([...EVENT_TYPES.keys()])('maps every event type of the contract: %s (its example, as stored)', (type) => {
    expect(OCSF_MAPPINGS[type]).toBeDefined();
    const event = ocsfEvent(record(type, { ...EVENT_TYPES.get(type)!.example }));
    expect(classUids).toContain(event.class_uid);
    expect(event).toMatchObject({ type_uid: (event.class_uid as number) * 100 + (event.activity_id as number), metadata: { sequence: 41, uid: 'evt-9', correlation_uid: 'chain-a', version: '1.3.0' } });
    // When it happened, in epoch milliseconds: a revocation's own time, else the record's occurrence.
    const example = EVENT_TYPES.get(type)!.example;
    expect(event.time).toBe(type === 'token.revoked' ? Date.parse(String(example.revoked_at)) : Date.parse('2026-05-01T10:00:00.250Z'));
  });

  it.each([...EVENT_TYPES.keys()])('keeps the class of a purged %s, with only the envelope, and names the purge', (type) => {
    const full = ocsfEvent(record(type, { ...EVENT_TYPES.get(type)!.example }));
    const purged = ocsfEvent(record(type, null));
    expect(purged.class_uid).toBe(full.class_uid);
    expect(purged).toMatchObject({ status_id: 0, unmapped: { jartrail: { payload_purged: true, purge: { purge_id: '3', fields: ['data'] } } } });
  });

  it('maps a kept conflict as its type, at medium severity, naming the record it contradicts', () => {
    const event = ocsfEvent(record('consent.decision', { ...EVENT_TYPES.get('consent.decision')!.example }, 'conflict'));
    expect(event).toMatchObject({ class_uid: 3003, severity_id: 3, time: Date.parse('2026-05-01T10:00:01Z'), metadata: { labels: ['conflict'] }, unmapped: { jartrail: { conflicts_with_ledger_seq: 40 } } });
  });

  it.each([
    ['acknowledged', 2, 2],
    ['false_positive', 3, 3],
    ['resolved', 3, 4],
  ])('maps a triage %s to a Detection Finding update with the finding status', (status, activity, statusId) => {
    const data = { finding_id: '12', rule: 'beyond_grant', chain_digest: 'chain-a', status, note: '=1+1', triaged_by: { api_key_id: 'k', name: 'reviewer' } };
    expect(ocsfEvent(record('finding.triage', data, 'triage'))).toMatchObject({
      class_uid: 2004,
      activity_id: activity,
      status_id: statusId,
      finding_info: { uid: '12', title: 'beyond_grant' },
      comment: '=1+1',
      actor: { user: { uid: 'k', name: 'reviewer' } },
    });
  });

  it("maps the triage of a reviewer signed in with the identity provider to a user named by the token's sub, at the provider named by its iss", () => {
    const data = { finding_id: '12', rule: 'orphan', chain_digest: null, status: 'acknowledged', note: 'seen', triaged_by: { subject: 'alice@example.com', issuer: 'https://idp.example' } };
    expect(ocsfEvent(record('finding.triage', data, 'triage'))).toMatchObject({
      class_uid: 2004,
      actor: { user: { uid: 'alice@example.com' }, idp: { uid: 'https://idp.example' } },
    });
  });

  it('maps a tool call to API Activity Other, the agent verb as the activity name, its duration from its times', () => {
    const event = ocsfEvent(
      record('tool_call.recorded', { call_id: 'c1', agent_id: 'agent-7', token: { jti: 'at-1' }, tool: 'mail', action: 'send', started_at: '2026-05-01T10:00:00Z', completed_at: '2026-05-01T10:00:02Z', outcome: 'denied' }),
    );
    expect(event).toMatchObject({ class_uid: 6003, activity_id: 99, activity_name: 'send', type_uid: 600399, status_id: 2, status_detail: 'denied', duration: 2000, api: { operation: 'send', service: { name: 'mail' }, request: { uid: 'c1' } } });
  });
});
