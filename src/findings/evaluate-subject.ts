import type { ChainEvidence, EvidenceRef } from './chain-evidence';
import type { SubjectFacts } from './findings.repository';
import { type EvaluationContext, type FindingDraft, RULES, type Rule, type RuleName } from './rule';
import { ALL_RULES } from './rules';
import { byOccurrence } from './rules/ordering';

export interface SubjectEvaluation {
  readonly findings: readonly FindingDraft[];
  /** The earliest moment a rule's answer changes with time alone. */
  readonly recheckAt?: Date;
  /** Rules that threw: their stored findings are left as they are, not resolved by their silence. */
  readonly failedRules: readonly { readonly rule: RuleName; readonly error: unknown }[];
  /** The client and issuer the findings are filed under (the subject's earliest verification). */
  readonly subjectFacts: SubjectFacts;
  /** When the earliest of these records happened: the time a finding is filed at. */
  occurredAtOf(evidence: readonly EvidenceRef[]): Date;
}

/** Runs every rule over one subject's evidence. Pure apart from the rules themselves being pure. */
export function evaluateSubject(chain: ChainEvidence, context: EvaluationContext, rules: Readonly<Record<RuleName, Rule>> = ALL_RULES): SubjectEvaluation {
  const findings: FindingDraft[] = [];
  const failedRules: { rule: RuleName; error: unknown }[] = [];
  let recheckAt: Date | undefined;
  for (const name of RULES) {
    const rule = rules[name];
    if (!rule) continue;
    try {
      const outcome = rule(chain, context);
      findings.push(...outcome.findings);
      if (outcome.recheckAt && (!recheckAt || outcome.recheckAt < recheckAt)) recheckAt = outcome.recheckAt;
    } catch (error) {
      failedRules.push({ rule: name, error });
    }
  }
  const times = new Map<string, Date>();
  for (const record of [...chain.records, ...chain.related]) times.set(`event:${record.seq}`, record.occurredAt);
  for (const conflict of chain.conflicts) times.set(`conflict:${conflict.seq}`, conflict.recordedAt);
  const firstVerification = chain.records
    .filter((record) => record.type === 'request_object.verification' && record.data !== null)
    .sort(byOccurrence)[0];
  const verificationData = firstVerification?.type === 'request_object.verification' ? firstVerification.data : null;
  return {
    findings,
    ...(recheckAt && { recheckAt }),
    failedRules,
    subjectFacts: { clientId: verificationData?.client_id ?? null, issuer: verificationData?.issuer ?? null },
    occurredAtOf: (evidence) => {
      const known = evidence.map((ref) => times.get(`${ref.kind}:${ref.seq}`)).filter((time): time is Date => time !== undefined);
      return known.length > 0 ? new Date(Math.min(...known.map((time) => time.getTime()))) : context.now;
    },
  };
}
