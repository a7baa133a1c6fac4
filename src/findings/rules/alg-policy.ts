import { eventRef, verificationsOf } from '../chain-evidence';
import type { Rule } from '../rule';
import { quoted } from './ordering';

const ALG_REASONS = new Set(['alg_none', 'alg_hmac', 'alg_not_allowed']);
const isHmac = (alg: string) => /^HS\d+$/.test(alg);

/**
 * alg_policy: a request object the AS accepted with `none`, an HMAC algorithm (the client secret is no proof of the
 * client's key), or an algorithm outside the client's pinned list; or a plain unsigned request accepted for a client
 * that requires signed request objects. The algorithm is read from jartrail's own verdict and from the AS's report:
 * either is enough. Without a registration only `none` and HMAC can be judged.
 */
export const algPolicy: Rule = (chain) => {
  const findings = verificationsOf(chain.records).flatMap((record) => {
    if (record.data === null || record.data.verdict !== 'accepted') return [];
    const client = chain.clients.get(record.data.client_id);
    const independent = typeof record.independent === 'object' && record.independent !== null ? record.independent : undefined;
    const reported = record.data.header?.alg;
    const algs = [...new Set([reported, independent?.alg ?? undefined].filter((alg): alg is string => alg !== undefined))];
    const problems: string[] = [];
    if (record.data.unsigned === true) {
      if (client?.requireSignedRequestObject) problems.push('a plain unsigned request, for a client that requires signed request objects');
    }
    for (const alg of algs) {
      if (alg === 'none') problems.push('alg "none"');
      else if (isHmac(alg)) problems.push(`the HMAC algorithm ${quoted(alg)}`);
      else if (client && !client.signingAlgs.includes(alg)) problems.push(`${quoted(alg)}, which the client did not pin (${client.signingAlgs.join(', ')})`);
    }
    const reasonCodes = (independent?.reasons ?? []).map((reason) => reason.code).filter((code) => ALG_REASONS.has(code));
    if (problems.length === 0 && reasonCodes.length === 0) return [];
    return [
      {
        rule: 'alg_policy' as const,
        severity: 'high' as const,
        key: `verification:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: `the AS accepted a request of client ${quoted(record.data.client_id)} with ${problems.join(' and ') || `an algorithm jartrail refuses (${reasonCodes.join(', ')})`}`,
        facts: { reported_alg: reported ?? null, independent_alg: independent?.alg ?? null, pinned: client?.signingAlgs ?? null, reasons: reasonCodes, unsigned: record.data.unsigned === true },
      },
    ];
  });
  return { findings };
};
