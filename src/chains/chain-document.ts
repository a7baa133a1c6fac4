import type { ChainSection } from '../evidence/event-type-definition';
import { EVENT_TYPES } from '../evidence/event-types';
import { requestObjectVerificationEvent, type VerificationData } from '../evidence/types/verification-event';
import type { RecordLedgerView } from '../ledger/ledger.service';
import type { StoredChain, StoredConflict, StoredRecord } from './chains.repository';

/** A record as the API shows it: where it came from, when, and its data as stored. */
export interface RecordView {
  readonly event_id: string;
  readonly source: { readonly id: string; readonly name: string };
  readonly type: string;
  readonly occurred_at: string;
  readonly emitted_at: string;
  readonly recorded_at: string;
  /** null once retention purged the payload; `ledger.payload_purged` then says under which policy. */
  readonly data: Record<string, unknown> | null;
  /** Absent where the ledger is not asked (lookups). */
  readonly ledger?: RecordLedgerView;
}

export interface TimelineEntry {
  readonly occurred_at: string;
  readonly type: string;
  readonly event_id: string;
  readonly source: string;
  readonly summary: string;
}

export interface IndependentVerificationView {
  readonly status: 'verified' | 'rejected' | 'unverifiable' | 'not_verifiable' | 'pending' | 'not_queued';
  /** null only when retention purged the payload before jartrail judged it. */
  readonly as_verdict: 'accepted' | 'rejected' | null;
  readonly mismatch: boolean;
  readonly reasons: readonly Record<string, unknown>[];
  readonly alg: string | null;
  readonly kid: string | null;
  readonly inner_digest: string | null;
  readonly opaque: boolean;
  readonly verified_at: string | null;
}

export type VerificationView = RecordView & { readonly independent: IndependentVerificationView };

/**
 * A body refused with 409 under the id of one of the chain's records, kept as evidence: what it said, where it
 * stands in the ledger, and which record (the first body under that id, which stays the record) it contradicts.
 */
export interface ConflictView {
  readonly event_id: string;
  readonly source: { readonly id: string; readonly name: string };
  readonly type: string;
  readonly emitted_at: string;
  readonly recorded_at: string;
  /** The refused body's data as stored (minimised like an event's); null once retention purged it. */
  readonly data: Record<string, unknown> | null;
  readonly conflicts_with: { readonly event_id: string; readonly ledger_seq: number | null };
  readonly ledger: RecordLedgerView;
}

export interface ChainDocument {
  readonly digest: string;
  readonly aliases: readonly string[];
  readonly unsigned: boolean;
  readonly first_recorded_at: string;
  readonly request_object: { readonly verifications: readonly VerificationView[] };
  readonly verdict_mismatch: boolean;
  readonly consents: readonly RecordView[];
  readonly tokens: readonly RecordView[];
  readonly revocations: readonly RecordView[];
  readonly tool_calls: readonly RecordView[];
  readonly timeline: readonly TimelineEntry[];
  readonly conflicts: readonly ConflictView[];
}

export function toRecordView(record: StoredRecord, ledger?: RecordLedgerView): RecordView {
  return {
    event_id: record.eventId,
    source: { id: record.sourceId, name: record.sourceName },
    type: record.type,
    occurred_at: record.occurredAt.toISOString(),
    emitted_at: record.emittedAt.toISOString(),
    recorded_at: record.recordedAt.toISOString(),
    data: record.data,
    ...(ledger && { ledger }),
  };
}

/** jartrail's verdict beside the AS's, for one verification record. */
export function independentViewOf(record: StoredRecord): IndependentVerificationView {
  const verdict = record.independent;
  // From the record, or, once retention purged its payload, from the verdict row that copied it.
  const asVerdict = (record.data as VerificationData | null)?.verdict ?? (typeof verdict === 'object' && verdict !== null ? verdict.asVerdict : null);
  if (verdict === undefined || verdict === null || verdict === 'pending') {
    const status = verdict === 'pending' ? 'pending' : 'not_queued';
    return { status, as_verdict: asVerdict, mismatch: false, reasons: [], alg: null, kid: null, inner_digest: null, opaque: false, verified_at: null };
  }
  return {
    status: verdict.verdict as IndependentVerificationView['status'],
    as_verdict: asVerdict,
    mismatch: verdict.mismatch,
    reasons: verdict.reasons,
    alg: verdict.alg,
    kid: verdict.kid,
    inner_digest: verdict.innerDigest,
    opaque: verdict.opaque,
    verified_at: verdict.verifiedAt.toISOString(),
  };
}

/**
 * One line per record, for a reviewer reading the timeline top to bottom: the type's own summary, and for a
 * verification jartrail's verdict beside the AS's.
 */
export function summaryOf(record: StoredRecord, ledger?: RecordLedgerView): string {
  if (record.data === null) return `${record.type}: ${ledger?.payload_purged?.note ?? 'payload purged'}`;
  const definition = EVENT_TYPES.get(record.type);
  if (!definition) return record.type;
  const summary = definition.summarize(record.data, { sourceName: record.sourceName });
  if (record.type !== requestObjectVerificationEvent.type) return summary;
  const independent = independentViewOf(record);
  if (independent.status === 'not_queued') return summary;
  return `${summary}; jartrail: ${independent.status}${independent.reasons.length > 0 ? ` (${independent.reasons.map((reason) => String(reason.code)).join(', ')})` : ''}`;
}

const wholeSecondOf = (record: StoredRecord) => Math.floor(record.occurredAt.getTime() / 1000);
const causalRankOf = (record: StoredRecord) => EVENT_TYPES.get(record.type)?.causalRank ?? Number.MAX_SAFE_INTEGER;

/**
 * Records ordered by occurrence (given: by occurred_at, then seq), except that within one whole second they go in
 * causal order (verification, consent, token, then tool calls and revocations by their own times): a token's `iat`
 * has no fraction, so by time alone it would come before the consent of the same second that led to it. The sort
 * is stable, so records of one rank in one second keep their exact order.
 */
export function inTimelineOrder(records: readonly StoredRecord[]): StoredRecord[] {
  return [...records].sort((a, b) => wholeSecondOf(a) - wholeSecondOf(b) || causalRankOf(a) - causalRankOf(b));
}

const UNSEQUENCED: RecordLedgerView = { seq: null, checkpoint: null, payload_purged: null };

function toConflictView(conflict: StoredConflict, ledger: ReadonlyMap<string, RecordLedgerView>, conflictLedger: ReadonlyMap<string, RecordLedgerView>): ConflictView {
  return {
    event_id: conflict.eventId,
    source: { id: conflict.sourceId, name: conflict.sourceName },
    type: conflict.type,
    emitted_at: conflict.emittedAt.toISOString(),
    recorded_at: conflict.recordedAt.toISOString(),
    data: conflict.data,
    conflicts_with: { event_id: conflict.eventId, ledger_seq: ledger.get(conflict.originalSeq)?.seq ?? null },
    ledger: conflictLedger.get(conflict.seq) ?? UNSEQUENCED,
  };
}

/**
 * Assembles the whole chain as one document; the records come ordered by occurrence. `ledger` holds the records'
 * ledger views by events.seq, `conflictLedger` the conflicts' by event_conflicts.seq.
 */
export function toChainDocument(
  chain: StoredChain,
  ledger: ReadonlyMap<string, RecordLedgerView> = new Map(),
  conflictLedger: ReadonlyMap<string, RecordLedgerView> = new Map(),
): ChainDocument {
  const view = (record: StoredRecord) => toRecordView(record, ledger.get(record.seq));
  const records = inTimelineOrder(chain.records);
  const inSection = (section: ChainSection) => records.filter((record) => EVENT_TYPES.get(record.type)?.chainSection === section);
  const of = (section: ChainSection) => inSection(section).map(view);
  const verifications = inSection('verifications');
  return {
    digest: chain.digest,
    aliases: chain.aliases,
    // Unsigned when any report says so (a plain request, or alg "none"): the facet the linker wrote from the reports,
    // so that it holds after retention purged them.
    unsigned: chain.unsigned,
    first_recorded_at: chain.createdAt.toISOString(),
    request_object: { verifications: verifications.map((record) => ({ ...view(record), independent: independentViewOf(record) })) },
    verdict_mismatch: verifications.some((record) => typeof record.independent === 'object' && record.independent !== null && record.independent.mismatch),
    consents: of('consents'),
    tokens: of('tokens'),
    revocations: of('revocations'),
    tool_calls: of('tool_calls'),
    timeline: records.map((record) => ({
      occurred_at: record.occurredAt.toISOString(),
      type: record.type,
      event_id: record.eventId,
      source: record.sourceName,
      summary: summaryOf(record, ledger.get(record.seq)),
    })),
    conflicts: (chain.conflicts ?? []).map((conflict) => toConflictView(conflict, ledger, conflictLedger)),
  };
}
