import type { FindingChange } from '../finding-change.entity';

/** The changes subscribers are told about: a finding that appears, gets worse, or comes back. */
export const NOTIFIED_CHANGES = ['opened', 'escalated', 'reopened'] as const satisfies readonly FindingChange[];
export type NotifiedChange = (typeof NOTIFIED_CHANGES)[number];

/**
 * The Standard Webhooks message id of a finding change: the same on every attempt and for every subscription, so a
 * receiver that dedupes on `webhook-id` sees each change once.
 */
export const messageIdOf = (findingChangeId: string) => `msg_finding_change_${findingChangeId}`;

/** A finding change and the finding as it stood when the change was committed. */
export interface ChangeToNotify {
  readonly changeId: string;
  readonly change: NotifiedChange;
  readonly changeSeverity: string;
  readonly reason: string;
  readonly at: Date;
  readonly finding: {
    readonly id: string;
    readonly rule: string;
    readonly severity: string;
    readonly status: string;
    readonly chainDigest: string | null;
    readonly summary: string;
    readonly clientId: string | null;
    readonly issuer: string | null;
    readonly occurredAt: Date;
    readonly firstSeenAt: Date;
    readonly evidence: readonly { readonly kind: string; readonly eventId: string | null; readonly type: string | null }[];
  };
}

/** The body POSTed to subscribers: a Standard Webhooks envelope (docs/findings.md, "Notifications"). */
export interface FindingNotification {
  readonly type: `finding.${NotifiedChange}`;
  readonly timestamp: string;
  readonly data: {
    readonly finding: {
      readonly id: string;
      readonly rule: string;
      readonly severity: string;
      readonly status: string;
      readonly chain_digest: string | null;
      readonly summary: string;
      readonly client_id: string | null;
      readonly issuer: string | null;
      readonly occurred_at: string;
      readonly first_seen_at: string;
      readonly evidence: readonly { readonly kind: string; readonly event_id: string | null; readonly type: string | null }[];
    };
    readonly change: { readonly id: string; readonly change: NotifiedChange; readonly severity: string; readonly reason: string; readonly at: string };
    readonly links: { readonly finding: string; readonly chain: string | null };
  };
}

/**
 * The notification of one change, fixed when the change commits (the outbox keeps it), so every attempt and every
 * subscription gets the same body. A compact finding: the full one, with ledger seqs and triage, is one GET away
 * (`links.finding`); the summary quotes evidence values and is plain text.
 */
export function findingNotification(change: ChangeToNotify): FindingNotification {
  const { finding } = change;
  return {
    type: `finding.${change.change}`,
    timestamp: change.at.toISOString(),
    data: {
      finding: {
        id: finding.id,
        rule: finding.rule,
        severity: finding.severity,
        status: finding.status,
        chain_digest: finding.chainDigest,
        summary: finding.summary,
        client_id: finding.clientId,
        issuer: finding.issuer,
        occurred_at: finding.occurredAt.toISOString(),
        first_seen_at: finding.firstSeenAt.toISOString(),
        evidence: finding.evidence.map((ref) => ({ kind: ref.kind, event_id: ref.eventId, type: ref.type })),
      },
      change: { id: change.changeId, change: change.change, severity: change.changeSeverity, reason: change.reason, at: change.at.toISOString() },
      links: {
        finding: `/v1/findings/${finding.id}`,
        chain: finding.chainDigest === null ? null : `/v1/chains/${finding.chainDigest}`,
      },
    },
  };
}
