import { eventRef, tokensOf, toolCallsOf } from '../chain-evidence';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence, quoted } from './ordering';
import { revocationOf, tokenName, tokenNamed, tokensByKey } from './token-lookup';

/** Clocks of the token service and of agents differ: a call this close to a boundary is not held against it. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * outside_lifetime: a tool call that started before its token's `iat`, after its `exp`, or at or after the token's
 * revocation (`revoked_at` of a `token.revoked` naming it), each beyond a clock skew of 60 s (the revocation without
 * one: a call after the revocation was recorded is a call after revocation). High. Also a token derived from a parent
 * (refresh) issued after the parent expired or in a second after it was revoked (rotation revokes the parent in the
 * second it issues the child): medium.
 */
export const outsideLifetime: Rule = (chain) => {
  const tokens = tokensByKey(chain.records);
  const findings: FindingDraft[] = [];
  for (const call of toolCallsOf(chain.records).sort(byOccurrence)) {
    if (call.data === null) continue;
    const token = tokenNamed(call.data.token, tokens);
    if (!token?.data) continue;
    const started = Date.parse(call.data.started_at) / 1000;
    const revocation = revocationOf(token, chain.records);
    const revokedAt = revocation ? Date.parse(revocation.data!.revoked_at) / 1000 : undefined;
    const problem =
      started < token.data.iat - CLOCK_SKEW_SECONDS
        ? `started ${Math.round(token.data.iat - started)} s before the token was issued`
        : started > token.data.exp + CLOCK_SKEW_SECONDS
          ? `started ${Math.round(started - token.data.exp)} s after the token expired`
          : revokedAt !== undefined && started >= revokedAt
            ? `started ${Math.round(started - revokedAt)} s after the token was revoked`
            : undefined;
    if (!problem) continue;
    findings.push({
      rule: 'outside_lifetime',
      severity: 'high',
      key: `call:${call.data.agent_id}:${call.data.call_id}`,
      evidence: [eventRef(call), eventRef(token), ...(revocation && revokedAt !== undefined && started >= revokedAt ? [eventRef(revocation)] : [])],
      summary: `agent ${quoted(call.data.agent_id)} called ${quoted(`${call.data.tool}.${call.data.action}`)} with ${tokenName(token)}, ${problem}`,
      facts: { started_at: call.data.started_at, iat: token.data.iat, exp: token.data.exp, revoked_at: revocation?.data?.revoked_at ?? null, clock_skew_seconds: CLOCK_SKEW_SECONDS },
    });
  }
  for (const child of tokensOf(chain.records).sort(byOccurrence)) {
    if (child.data?.parent === undefined) continue;
    const parent = tokenNamed(child.data.parent, tokens);
    if (!parent?.data) continue;
    const revocation = revocationOf(parent, chain.records);
    const revokedAt = revocation ? Date.parse(revocation.data!.revoked_at) / 1000 : undefined;
    const problem =
      child.data.iat > parent.data.exp + CLOCK_SKEW_SECONDS
        ? `issued ${child.data.iat - parent.data.exp} s after its parent expired`
        : // Refresh-token rotation revokes the parent in the second it issues the child (iat has whole seconds):
          // only a child of a later second came after the revocation.
          revokedAt !== undefined && child.data.iat > Math.floor(revokedAt)
          ? `issued ${Math.round(child.data.iat - revokedAt)} s after its parent was revoked`
          : undefined;
    if (!problem) continue;
    findings.push({
      rule: 'outside_lifetime',
      severity: 'medium',
      key: `token:${child.eventId}:${child.sourceId}`,
      evidence: [eventRef(child), eventRef(parent), ...(revocation && revokedAt !== undefined && child.data.iat > Math.floor(revokedAt) ? [eventRef(revocation)] : [])],
      summary: `${tokenName(child)} was ${problem} (${tokenName(parent)})`,
      facts: { iat: child.data.iat, parent_exp: parent.data.exp, parent_revoked_at: revocation?.data?.revoked_at ?? null },
    });
  }
  return { findings };
};
