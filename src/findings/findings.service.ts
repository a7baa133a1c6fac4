import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Principal } from '../access/auditor';
import { decodeIdCursor, encodeIdCursor } from '../common/id-cursor';
import { ProblemException } from '../common/problem/problem';
import { LedgerService } from '../ledger/ledger.service';
import type { EvidenceRef } from './chain-evidence';
import type { FindingsPage, FindingsQuery, FindingView, TriageRequest, TriageView } from './dto/finding.dto';
import { type FindingRecord, FindingsRepository, type StoredTriage } from './findings.repository';

/** Reading findings: the list reviewers triage from, one finding with its history, and a chain's findings. */
@Injectable()
export class FindingsService {
  constructor(
    private readonly findings: FindingsRepository,
    private readonly ledger: LedgerService,
  ) {}

  async list(query: FindingsQuery): Promise<FindingsPage> {
    // One row more than asked tells whether another page exists.
    const { findings, linkedBelow, progress } = await this.findings.list({
      rule: query.rule,
      severity: query.severity,
      status: query.status,
      clientId: query.client_id,
      issuer: query.issuer,
      chainDigest: query.chain,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      beforeId: query.cursor === undefined ? undefined : decodeIdCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = findings.slice(0, query.limit);
    return {
      items: await this.views(page),
      next_cursor: findings.length > query.limit ? encodeIdCursor(page.at(-1)!.id) : null,
      linking: { linked_below: linkedBelow, requested_position: null, reached: true },
      evaluation: { pending_subjects: progress.pendingSubjects, oldest_due_seconds: progress.oldestDueSeconds },
    };
  }

  async get(id: string) {
    const found = await this.findings.find(id);
    if (!found) throw new ProblemException('not-found', { detail: `no finding ${id}` });
    const [[view], triage] = await Promise.all([this.views([found.finding]), this.findings.triageOf(id)]);
    return { ...view!, triage: await this.triageViews(triage), history: found.history.map((entry) => ({ ...entry, at: entry.at.toISOString() })) };
  }

  /** Records a reviewer's triage of a finding (append-only, ledgered, naming the key or the token's holder) and answers with it. */
  async triage(id: string, request: TriageRequest, reviewer: Principal): Promise<TriageView> {
    const stored = await this.findings.triage({
      findingId: id,
      eventId: `triage-${randomUUID()}`,
      status: request.status,
      note: request.note,
      triagedBy: reviewer.kind === 'api_key' ? { api_key_id: reviewer.apiKeyId, name: reviewer.name } : { subject: reviewer.subject, issuer: reviewer.issuer },
    });
    if (!stored) throw new ProblemException('not-found', { detail: `no finding ${id}` });
    const [view] = await this.triageViews([stored]);
    return view!;
  }

  private async triageViews(triage: readonly StoredTriage[]): Promise<TriageView[]> {
    const ledger = await this.ledger.recordViews(triage.map((entry) => ({ seq: entry.seq, purged: false })), 'triage');
    return triage.map((entry) => ({
      id: entry.eventId,
      status: entry.status as TriageView['status'],
      note: entry.note,
      triaged_by: entry.triagedBy,
      recorded_at: entry.recordedAt.toISOString(),
      ledger_seq: ledger.get(entry.seq)?.seq ?? null,
    }));
  }

  /**
   * Findings as the API shows them: evidence by event id, type and ledger seq (the record's own seq is internal).
   * No findings, no statement: the chain document reads a chain's findings in its own statement.
   */
  async views(findings: readonly FindingRecord[]): Promise<FindingView[]> {
    if (findings.length === 0) return [];
    const refs = findings.flatMap((finding) => finding.evidence);
    const described = await this.findings.describeEvidence(refs);
    const ledgerOf = async (kind: EvidenceRef['kind']) =>
      this.ledger.recordViews(
        refs.filter((ref) => ref.kind === kind).map((ref) => ({ seq: ref.seq, purged: described.get(`${kind}:${ref.seq}`)?.purged ?? false })),
        kind,
      );
    const [eventLedger, conflictLedger] = await Promise.all([ledgerOf('event'), ledgerOf('conflict')]);
    return findings.map((finding) => ({
      id: finding.id,
      rule: finding.rule as FindingView['rule'],
      severity: finding.severity as FindingView['severity'],
      status: finding.status as FindingView['status'],
      chain_digest: finding.chainDigest,
      summary: finding.summary,
      facts: finding.facts,
      evidence: finding.evidence.map((ref) => {
        const description = described.get(`${ref.kind}:${ref.seq}`);
        const ledger = (ref.kind === 'event' ? eventLedger : conflictLedger).get(ref.seq);
        return { kind: ref.kind, event_id: description?.eventId ?? null, type: description?.type ?? null, ledger_seq: ledger?.seq ?? null };
      }),
      client_id: finding.clientId,
      issuer: finding.issuer,
      occurred_at: finding.occurredAt.toISOString(),
      first_seen_at: finding.firstSeenAt.toISOString(),
      updated_at: finding.updatedAt.toISOString(),
      resolved_at: finding.resolvedAt?.toISOString() ?? null,
      resolution: finding.resolution,
      triage_status: finding.triageStatus as FindingView['triage_status'],
    }));
  }
}
