import { canonicalJson } from '../../common/canonical-json';
import { type EvidenceRef, eventRef, toolCallsOf } from '../chain-evidence';
import type { FindingDraft, Rule } from '../rule';
import { compareSeqs, quoted, withRelated } from './ordering';

/**
 * conflicting_redelivery: (a) a body refused with 409 because its event id already named another body (kept as
 * evidence against the record): medium; (b) two tool_call.recorded records of one agent with one call_id whose
 * contents differ, under different event ids: the agent's account of one call changed, high. The same contents under
 * two event ids is a harmless duplicate delivery. (b) lands on every chain holding one of the records.
 */
export const conflictingRedelivery: Rule = (chain) => {
  const findings: FindingDraft[] = [];
  const byOriginal = new Map<string, EvidenceRef[]>();
  // In the order jartrail refused them (their seq), whatever order they are listed in.
  for (const conflict of [...chain.conflicts].sort((a, b) => compareSeqs(a.seq, b.seq))) {
    const refs = byOriginal.get(conflict.originalSeq) ?? [];
    refs.push({ kind: 'conflict', seq: conflict.seq });
    byOriginal.set(conflict.originalSeq, refs);
  }
  for (const record of chain.records) {
    const conflicts = byOriginal.get(record.seq);
    if (!conflicts) continue;
    findings.push({
      rule: 'conflicting_redelivery',
      severity: 'medium',
      key: `event:${record.eventId}:${record.sourceId}`,
      evidence: [eventRef(record), ...conflicts],
      summary: `event id ${quoted(record.eventId)} was delivered again with a different body ${conflicts.length} time(s); the first body stays the record`,
      facts: { event_id: record.eventId, type: record.type, conflicting_bodies: conflicts.length },
    });
  }

  const own = new Set(chain.records.map((record) => record.seq));
  const calls = toolCallsOf(withRelated(chain.records, chain.related)).filter((call) => call.data !== null);
  const byCall = new Map<string, typeof calls>();
  for (const call of calls) {
    const key = `${call.data!.agent_id}\u0000${call.data!.call_id}`;
    byCall.set(key, [...(byCall.get(key) ?? []), call]);
  }
  for (const sameCall of byCall.values()) {
    if (!sameCall.some((call) => own.has(call.seq))) continue;
    const versions = new Set(sameCall.map((call) => canonicalJson(call.data)));
    if (versions.size < 2) continue;
    const { agent_id: agentId, call_id: callId } = sameCall[0]!.data!;
    findings.push({
      rule: 'conflicting_redelivery',
      severity: 'high',
      key: `call:${agentId}:${callId}`,
      evidence: sameCall.map(eventRef),
      summary: `agent ${quoted(agentId)} recorded call ${quoted(callId)} ${sameCall.length} times with ${versions.size} different contents`,
      facts: { agent_id: agentId, call_id: callId, records: sameCall.length, distinct_contents: versions.size },
    });
  }
  return { findings };
};
