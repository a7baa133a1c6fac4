/**
 * The verdicts of independent verification and the reason codes behind them. docs/verification.md has the same
 * table; a unit spec has one failing request object per rejecting code.
 */
export const INDEPENDENT_VERDICTS = ['verified', 'rejected', 'unverifiable', 'not_verifiable'] as const;
export type IndependentVerdictValue = (typeof INDEPENDENT_VERDICTS)[number];

/** What the chain shows: a final verdict, or `pending` while the verification waits in the queue. */
export type IndependentStatus = IndependentVerdictValue | 'pending';

/** Each code with the verdict it leads to. */
export const REASON_VERDICTS = {
  // not_verifiable: there is nothing to verify.
  no_request_object: 'not_verifiable',
  unsigned_request: 'not_verifiable',
  // unverifiable: there is an object, but jartrail lacks what it needs.
  client_unknown: 'unverifiable',
  client_disabled: 'unverifiable',
  no_decryption_key: 'unverifiable',
  decryption_key_disabled: 'unverifiable',
  jwks_unavailable: 'unverifiable',
  verification_error: 'unverifiable',
  payload_purged: 'unverifiable',
  // rejected: a rule of RFC 9101 / RFC 8725 or of the client's policy is broken.
  signed_request_object_required: 'rejected',
  malformed: 'rejected',
  digest_mismatch: 'rejected',
  encryption_alg_not_allowed: 'rejected',
  decryption_failed: 'rejected',
  inner_digest_mismatch: 'rejected',
  alg_none: 'rejected',
  alg_hmac: 'rejected',
  alg_not_allowed: 'rejected',
  crit_unsupported: 'rejected',
  kid_unknown: 'rejected',
  no_matching_key: 'rejected',
  signature_invalid: 'rejected',
  iss_mismatch: 'rejected',
  client_id_mismatch: 'rejected',
  aud_mismatch: 'rejected',
  exp_missing: 'rejected',
  expired: 'rejected',
  not_yet_valid: 'rejected',
  iat_in_future: 'rejected',
  lifetime_exceeded: 'rejected',
  request_in_object: 'rejected',
  request_uri_in_object: 'rejected',
  header_mismatch: 'rejected',
  claims_mismatch: 'rejected',
} as const satisfies Record<string, IndependentVerdictValue>;

export type ReasonCode = keyof typeof REASON_VERDICTS;

/** A field whose value in the object differs from what the AS reported. */
export interface FieldDifference {
  readonly field: string;
  readonly reported: unknown;
  /** Absent when the object does not have the field at all. */
  readonly actual?: unknown;
}

export interface Reason {
  readonly code: ReasonCode;
  readonly detail: string;
  readonly differences?: readonly FieldDifference[];
}

/** The worst verdict among the reasons: rejected over unverifiable over not_verifiable; none means verified. */
export function verdictOf(reasons: readonly Reason[]): IndependentVerdictValue {
  const verdicts = new Set(reasons.map((reason) => REASON_VERDICTS[reason.code]));
  for (const verdict of ['rejected', 'unverifiable', 'not_verifiable'] as const) if (verdicts.has(verdict)) return verdict;
  return 'verified';
}

/** The AS and jartrail disagree: accepted against rejected, or rejected against verified. */
export function isMismatch(asVerdict: 'accepted' | 'rejected' | null, verdict: IndependentVerdictValue): boolean {
  return (asVerdict === 'accepted' && verdict === 'rejected') || (asVerdict === 'rejected' && verdict === 'verified');
}
