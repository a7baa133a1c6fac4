import type { StoredFinding } from './finding-reconciler';
import { reconcile } from './finding-reconciler';
import type { FindingDraft } from './rule';

const draft = (overrides: Partial<FindingDraft> = {}): FindingDraft => ({
  rule: 'beyond_grant',
  severity: 'high',
  key: 'call:agent:1',
  evidence: [{ kind: 'event', seq: '10' }],
  summary: 'agent called beyond its grant',
  facts: { tool: 'mail' },
  ...overrides,
});

const stored = (overrides: Partial<StoredFinding> = {}): StoredFinding => {
  const { key, ...rest } = draft();
  return { id: '1', findingKey: key, status: 'open', ...rest, ...overrides };
};

const context = { purgedEventSeqs: new Set<string>(), resolutionReason: 'no longer holds' };

describe('reconciling a subject’s findings with what the rules found now', () => {
  it('opens what is new, and changes nothing that is found again unchanged', () => {
    expect(reconcile([], [draft()], context)).toEqual({ opened: [draft()], updated: [], resolved: [] });
    expect(reconcile([stored()], [draft()], context)).toEqual({ opened: [], updated: [], resolved: [] });
  });

  it('records an escalation, a de-escalation and a reopening, and updates details without a history entry', () => {
    expect(reconcile([stored({ severity: 'medium' })], [draft()], context).updated).toEqual([{ id: '1', draft: draft(), change: 'escalated' }]);
    expect(reconcile([stored()], [draft({ severity: 'low' })], context).updated).toEqual([{ id: '1', draft: draft({ severity: 'low' }), change: 'deescalated' }]);
    expect(reconcile([stored({ status: 'resolved' })], [draft()], context).updated).toEqual([{ id: '1', draft: draft(), change: 'reopened' }]);
    expect(reconcile([stored()], [draft({ evidence: [{ kind: 'event', seq: '10' }, { kind: 'event', seq: '11' }] })], context).updated).toEqual([
      { id: '1', draft: draft({ evidence: [{ kind: 'event', seq: '10' }, { kind: 'event', seq: '11' }] }) },
    ]);
  });

  it('resolves, never deletes, an open finding the rules no longer produce', () => {
    expect(reconcile([stored(), stored({ id: '2', status: 'resolved', findingKey: 'old' })], [], context)).toEqual({
      opened: [],
      updated: [],
      resolved: [{ id: '1', severity: 'high', reason: 'no longer holds' }],
    });
  });

  it('does not resolve a finding whose evidence retention purged, nor one whose rule failed this time', () => {
    expect(reconcile([stored()], [], { ...context, purgedEventSeqs: new Set(['10']) }).resolved).toEqual([]);
    expect(reconcile([stored()], [], { ...context, unevaluatedRules: new Set(['beyond_grant']) }).resolved).toEqual([]);
  });
});
