import { eventRef, type EvidenceRecord, tokensOf, toolCallsOf, verificationsOf } from '../chain-evidence';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence } from './ordering';

/**
 * orphan: a record that should lead back to an accepted request object and does not, once it has waited the grace
 * period (counted from when jartrail recorded it) for the record that completes it: (a) a tool call in a chain with
 * no accepted verification, (b) a token in a chain no verification names, (c) a tool call, token or revocation that
 * joined no chain at all (low for a revocation: a gap in the record, not authority used). Within the grace period nothing fires, and the rule asks to be evaluated again when it
 * ends. When the missing record arrives the rule stops firing and the finding is resolved.
 */
export const orphan: Rule = (chain, context) => {
  let recheckAt: Date | undefined;
  const overdue = (record: EvidenceRecord) => {
    const due = new Date(record.recordedAt.getTime() + context.orphanGraceMs);
    if (due <= context.now) return true;
    if (!recheckAt || due < recheckAt) recheckAt = due;
    return false;
  };
  const findings: FindingDraft[] = [];
  if (chain.digest === null) {
    for (const record of chain.records.filter(overdue)) {
      findings.push({
        rule: 'orphan',
        // A revocation of a token jartrail never saw is a gap in the record, not authority used.
        severity: record.type === 'token.revoked' ? 'low' : 'medium',
        key: `record:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: `a ${record.type} record joined no chain: no recorded token leads from it to a request object`,
        facts: { type: record.type, waited_seconds: Math.round((context.now.getTime() - record.recordedAt.getTime()) / 1000) },
      });
    }
    return { findings, ...(recheckAt && { recheckAt }) };
  }
  const verifications = verificationsOf(chain.records);
  const accepted = verifications.some((record) => record.data?.verdict === 'accepted');
  if (accepted) return { findings };
  const stranded = verifications.length === 0 ? [...toolCallsOf(chain.records), ...tokensOf(chain.records)] : toolCallsOf(chain.records);
  const overdueRecords = stranded.filter(overdue).sort(byOccurrence);
  if (overdueRecords.length > 0) {
    const calls = overdueRecords.filter((record) => record.type === 'tool_call.recorded').length;
    const tokens = overdueRecords.length - calls;
    findings.push({
      rule: 'orphan',
      severity: 'medium',
      key: 'chain',
      evidence: overdueRecords.map(eventRef),
      summary:
        verifications.length === 0
          ? `no verification names this chain's digest, yet ${tokens} token(s) and ${calls} tool call(s) rely on it`
          : `no verification of this chain was accepted, yet ${calls} tool call(s) used its tokens`,
      facts: { verifications: verifications.length, accepted_verifications: 0, tokens, tool_calls: calls },
    });
  }
  return { findings, ...(recheckAt && { recheckAt }) };
};
