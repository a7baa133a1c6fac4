import { canonicalJson } from '../common/canonical-json';
import type { EvidenceRef } from './chain-evidence';
import type { FindingChange } from './finding-change.entity';
import type { FindingStatus } from './finding.entity';
import { type FindingDraft, type RuleName, type Severity, severityRank } from './rule';

/** A finding as stored, as much as reconciling needs. */
export interface StoredFinding {
  readonly id: string;
  readonly rule: RuleName;
  readonly findingKey: string;
  readonly severity: Severity;
  readonly status: FindingStatus;
  readonly summary: string;
  readonly facts: Readonly<Record<string, unknown>>;
  readonly evidence: readonly EvidenceRef[];
}

export interface FindingUpdate {
  readonly id: string;
  readonly draft: FindingDraft;
  /** The change to record in the finding's history; undefined when only its details moved (new evidence, wording). */
  readonly change?: Extract<FindingChange, 'escalated' | 'deescalated' | 'reopened'>;
}

export interface FindingResolution {
  readonly id: string;
  readonly severity: Severity;
  readonly reason: string;
}

export interface Reconciliation {
  readonly opened: readonly FindingDraft[];
  readonly updated: readonly FindingUpdate[];
  readonly resolved: readonly FindingResolution[];
}

const identity = (rule: string, key: string) => `${rule}\u0000${key}`;

/**
 * What one evaluation of a subject changes: the rules' drafts against the subject's stored findings. A draft with no
 * stored finding opens one; a stored finding the rules no longer produce is resolved, never deleted, except when its
 * evidence includes a record whose payload retention purged since: a rule cannot read a purged record, so its
 * silence there is not evidence that the finding stopped holding. Pure; the findings evaluator applies it.
 */
export function reconcile(
  stored: readonly StoredFinding[],
  drafts: readonly FindingDraft[],
  context: {
    readonly purgedEventSeqs: ReadonlySet<string>;
    readonly resolutionReason: string;
    /** Rules that failed this time: their findings stay as they are. */
    readonly unevaluatedRules?: ReadonlySet<string>;
  },
): Reconciliation {
  const byIdentity = new Map(stored.map((finding) => [identity(finding.rule, finding.findingKey), finding]));
  const drafted = new Set<string>();
  const opened: FindingDraft[] = [];
  const updated: FindingUpdate[] = [];
  for (const draft of drafts) {
    const key = identity(draft.rule, draft.key);
    if (drafted.has(key)) continue;
    drafted.add(key);
    const existing = byIdentity.get(key);
    if (!existing) {
      opened.push(draft);
      continue;
    }
    const change =
      existing.status === 'resolved'
        ? 'reopened'
        : severityRank(draft.severity) > severityRank(existing.severity)
          ? 'escalated'
          : severityRank(draft.severity) < severityRank(existing.severity)
            ? 'deescalated'
            : undefined;
    if (change || detailsDiffer(existing, draft)) updated.push({ id: existing.id, draft, ...(change && { change }) });
  }
  const resolved = stored
    .filter((finding) => finding.status === 'open' && !drafted.has(identity(finding.rule, finding.findingKey)))
    .filter((finding) => !context.unevaluatedRules?.has(finding.rule))
    .filter((finding) => !finding.evidence.some((ref) => ref.kind === 'event' && context.purgedEventSeqs.has(ref.seq)))
    .map((finding) => ({ id: finding.id, severity: finding.severity, reason: context.resolutionReason }));
  return { opened, updated, resolved };
}

function detailsDiffer(existing: StoredFinding, draft: FindingDraft): boolean {
  return (
    existing.summary !== draft.summary ||
    canonicalJson(existing.facts) !== canonicalJson(draft.facts) ||
    canonicalJson(existing.evidence) !== canonicalJson(draft.evidence.map(({ kind, seq }) => ({ kind, seq })))
  );
}
