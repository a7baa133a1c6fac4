import type { ChainEvidence, EvidenceRef } from './chain-evidence';

/** The rules of shared/SPEC.md "Findings"; docs/findings.md defines each precisely. */
export const RULES = [
  'request_uri_replay',
  'beyond_grant',
  'token_exceeds_consent',
  'outside_lifetime',
  'orphan',
  'consent_exceeds_request',
  'redirect_uri_unregistered',
  'unencrypted_sensitive',
  'alg_policy',
  'verdict_mismatch',
  'lifetime_policy',
  'unsigned_high_impact',
  'conflicting_redelivery',
] as const;
export type RuleName = (typeof RULES)[number];

/** Lowest first: an escalation is a move to a later one. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);

/**
 * One thing that went wrong, as a rule sees it now. `key` names it within its chain and rule, stably across
 * re-evaluations (e.g. `call:<agent_id>:<call_id>`, `request_uri:<uri>`), so a later evaluation updates the same
 * finding instead of opening another; the same evidence must give the same key whatever order it arrived in.
 */
export interface FindingDraft {
  readonly rule: RuleName;
  readonly severity: Severity;
  readonly key: string;
  /** The records that prove it, those that break the rule first; never empty. */
  readonly evidence: readonly EvidenceRef[];
  /** One sentence for a reviewer, naming the values involved (evidence is attacker-controlled text: plain text only). */
  readonly summary: string;
  /** Machine-readable specifics (the excess scopes, the two algorithms, ...), JSON. */
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface EvaluationContext {
  /** The evaluation's clock: rules with a grace period compare against it, never against Date.now(). */
  readonly now: Date;
  /** How long a record may wait for the record that completes it before it is an orphan (ORPHAN_GRACE_SECONDS). */
  readonly orphanGraceMs: number;
}

export interface RuleOutcome {
  readonly findings: readonly FindingDraft[];
  /** When the answer may change with time alone (a grace period ends): evaluate the chain again then. */
  readonly recheckAt?: Date;
}

/**
 * A rule: a pure function of a chain's evidence and the clock. It must give the same findings for the same evidence
 * whatever order the records arrived in (where order matters, sort with byOccurrence of rules/ordering.ts, never by
 * seq: seq is the order of arrival), must not fire on a purged payload it cannot read, and must never throw on
 * evidence the ingest schemas accepted.
 */
export type Rule = (chain: ChainEvidence, context: EvaluationContext) => RuleOutcome;
