import {
  aChain,
  aClient,
  aConflict,
  aConsent,
  aContext,
  aLegitimateChain,
  aToken,
  aToolCall,
  aVerdict,
  aVerification,
  at,
  DIGEST,
  OTHER_DIGEST,
  byRuleAndKey,
  reordered,
} from '../evidence.fixtures';
import type { ChainEvidence } from '../chain-evidence';
import type { EvaluationContext, Rule } from '../rule';
import { algPolicy } from './alg-policy';
import { conflictingRedelivery } from './conflicting-redelivery';
import { lifetimePolicy } from './lifetime-policy';
import { orphan } from './orphan';
import { redirectUriUnregistered } from './redirect-uri-unregistered';
import { requestUriReplay } from './request-uri-replay';
import { verdictMismatch } from './verdict-mismatch';

const PAR_URI = 'urn:ietf:params:oauth:request_uri:abc';
const findings = (rule: Rule, chain: ChainEvidence, context: EvaluationContext = aContext()) => rule(chain, context).findings;

/** Every rule must give the same findings whatever order the records arrived in. */
function expectOrderIndependent(rule: Rule, chain: ChainEvidence, context: EvaluationContext = aContext()) {
  const expected = byRuleAndKey(rule(chain, context));
  for (const arrival of reordered(chain)) expect({ order: arrival.order, ...arrival.asOriginal(rule(arrival.chain, context)) }).toEqual({ order: arrival.order, ...expected });
}

describe('the order proof: reordered() delivers the evidence as it could have arrived', () => {
  it('renumbers the chain’s and the related records in their new order of arrival, and keeps the conflicts on their records', () => {
    const [verification, consent, token] = [aVerification(), aConsent(), aToken()];
    const other = aVerification({}, { chains: [OTHER_DIGEST], occurredAt: at(40) });
    const conflict = aConflict(consent);
    const [reversed, shuffled] = reordered(aChain([verification, consent, token], { related: [other], conflicts: [conflict] }));
    for (const arrival of [reversed!, shuffled!]) {
      const line = [...arrival.chain.records, ...arrival.chain.related].sort((a, b) => Number(a.seq) - Number(b.seq));
      // seq and recordedAt rise together: seq is the order of arrival, as jartrail assigns it.
      expect(line.map((record) => record.recordedAt.getTime())).toEqual(line.map((record) => record.recordedAt.getTime()).sort((a, b) => a - b));
      expect(line.every((record) => record.recordedAt >= at(40))).toBe(true);
      expect(arrival.chain.records.map((record) => record.eventId).sort()).toEqual([verification, consent, token].map((record) => record.eventId).sort());
      expect(arrival.chain.related.map((record) => record.eventId)).toEqual([other.eventId]);
      const renumberedConsent = arrival.chain.records.find((record) => record.eventId === consent.eventId)!;
      expect(renumberedConsent.seq).not.toBe(consent.seq);
      expect(arrival.chain.conflicts).toEqual([expect.objectContaining({ seq: conflict.seq, originalSeq: renumberedConsent.seq })]);
    }
    // Reversed, the related record (listed last) arrived first.
    expect(Number(reversed!.chain.related[0]!.seq)).toBeLessThan(Number(reversed!.chain.records[0]!.seq));
    expect(reversed!.chain.records.map((record) => record.eventId)).toEqual([token, consent, verification].map((record) => record.eventId));
    expect(shuffled!.chain.records.map((record) => record.eventId)).not.toEqual([verification, consent, token].map((record) => record.eventId));
  });
});

describe('request_uri_replay', () => {
  const firstUse = () => aVerification({ delivery: 'par', request_uri: PAR_URI }, { occurredAt: at(0), chains: [OTHER_DIGEST] });

  it('is high on the chain of the second use when a PAR request_uri is accepted twice', () => {
    const replay = aVerification({ delivery: 'par', request_uri: PAR_URI, claims: { ...aVerification().data!.claims, jti: 'other-jti' } }, { occurredAt: at(30) });
    const chain = aChain([replay, aConsent()], { related: [firstUse()] });
    expect(findings(requestUriReplay, chain)).toEqual([
      expect.objectContaining({ rule: 'request_uri_replay', severity: 'high', key: `request_uri:${PAR_URI}`, evidence: [expect.anything(), { kind: 'event', seq: replay.seq }] }),
    ]);
    expectOrderIndependent(requestUriReplay, chain);
  });

  it('takes two uses reported for the same instant in the order of their identity, not of their arrival', () => {
    // Arrival order would make the finding move between the two chains with the order of delivery.
    const use = (eventId: string, chains: string[]) => aVerification({ delivery: 'par', request_uri: PAR_URI, claims: { ...aVerification().data!.claims, jti: eventId } }, { eventId, occurredAt: at(30), chains });
    const [a, b] = [use('evt-a', [OTHER_DIGEST]), use('evt-b', [DIGEST])];
    const onB = aChain([b], { related: [a] });
    expect(findings(requestUriReplay, onB)).toEqual([expect.objectContaining({ key: `request_uri:${PAR_URI}`, evidence: [{ kind: 'event', seq: a.seq }, { kind: 'event', seq: b.seq }] })]);
    expectOrderIndependent(requestUriReplay, onB);
    const onA = aChain([a], { digest: OTHER_DIGEST, related: [b] });
    expect(findings(requestUriReplay, onA)).toEqual([]);
    expectOrderIndependent(requestUriReplay, onA);
  });

  it('does not fire on the chain of the first use', () => {
    const first = firstUse();
    const chain = aChain([{ ...first, chains: ['x'] }], { digest: OTHER_DIGEST, related: [aVerification({ delivery: 'par', request_uri: PAR_URI }, { occurredAt: at(30) })] });
    expect(findings(requestUriReplay, chain).filter((finding) => finding.key.startsWith('request_uri:'))).toEqual([]);
  });

  it('is low when the AS refused the replay and nobody consented to it', () => {
    const refused = aVerification({ delivery: 'par', request_uri: PAR_URI, verdict: 'rejected', reason: 'invalid_request_uri', claims: { ...aVerification().data!.claims, jti: 'j2' } }, { occurredAt: at(30) });
    const chain = aChain([refused], { related: [firstUse()] });
    expect(findings(requestUriReplay, chain)).toEqual([expect.objectContaining({ severity: 'low' })]);
  });

  it('is high when a refused replay still had a consent approved in its chain', () => {
    const refused = aVerification({ delivery: 'par', request_uri: PAR_URI, verdict: 'rejected', claims: { ...aVerification().data!.claims, jti: 'j2' } }, { occurredAt: at(30) });
    expect(findings(requestUriReplay, aChain([refused, aConsent()], { related: [firstUse()] }))).toEqual([expect.objectContaining({ severity: 'high' })]);
  });

  it('finds a request object passed by value twice (one chain, one jti)', () => {
    const chain = aChain([aVerification({}, { occurredAt: at(0) }), aVerification({}, { occurredAt: at(40) }), aConsent(), aConsent()]);
    expect(findings(requestUriReplay, chain)).toEqual([expect.objectContaining({ key: 'jti:agent-client:ro-jti-1', severity: 'high' })]);
    expectOrderIndependent(requestUriReplay, chain);
  });

  it('does not take one jti of two different clients for a replay, nor a refused PAR push without request_uri', () => {
    const otherClient = aVerification({ client_id: 'other-client' }, { chains: [OTHER_DIGEST], occurredAt: at(10) });
    const refusedPush = aVerification({ delivery: 'par', verdict: 'rejected', claims: { ...aVerification().data!.claims, jti: 'push-jti' } });
    expect(findings(requestUriReplay, aChain([aVerification(), refusedPush], { related: [otherClient] }))).toEqual([]);
  });

  describe('a PAR request_uri consumed again without a report of its own', () => {
    // An AS that reports the push once and not each use (packages/oidc-provider-plugin): a second consumption shows
    // only as a second approved consent, or a second authorization-code exchange, in the push's chain.
    const push = () => aVerification({ delivery: 'par', request_uri: PAR_URI }, { occurredAt: at(0) });
    const exchange = (n: number, atSeconds: number) => [
      aToken({ jti: `at-${n}`, iat: Math.floor(at(atSeconds).getTime() / 1000) }),
      aToken({ jti: `rt-${n}`, token_type: 'refresh', iat: Math.floor(at(atSeconds).getTime() / 1000) }),
    ];

    it('is high when one push is followed by two approved consents and two code exchanges, citing each consumption', () => {
      const verification = push();
      const [first, second] = [aConsent({}, { occurredAt: at(20) }), aConsent({}, { occurredAt: at(200) })];
      const [firstTokens, secondTokens] = [exchange(1, 22), exchange(2, 202)];
      const chain = aChain([verification, first, ...firstTokens, second, ...secondTokens]);
      const [finding, ...others] = findings(requestUriReplay, chain);
      expect(others).toEqual([]);
      expect(finding).toEqual(
        expect.objectContaining({
          severity: 'high',
          key: `request_uri:${PAR_URI}`,
          summary: expect.stringContaining('1 of the uses left no report of their own'),
          facts: expect.objectContaining({ accepted_uses: 2, consumptions: 2, unreported_consumptions: 1 }),
        }),
      );
      const cited = finding!.evidence.map((ref) => ref.seq);
      expect(cited[0]).toBe(verification.seq);
      expect(new Set(cited.slice(1))).toEqual(new Set([first, ...firstTokens, second, ...secondTokens].map((record) => record.seq)));
      expectOrderIndependent(requestUriReplay, chain);
    });

    it('counts two authorization-code exchanges without consents as two consumptions', () => {
      const chain = aChain([push(), ...exchange(1, 22), ...exchange(2, 202)]);
      expect(findings(requestUriReplay, chain)).toEqual([expect.objectContaining({ key: `request_uri:${PAR_URI}`, severity: 'high', facts: expect.objectContaining({ unreported_consumptions: 1 }) })]);
      expectOrderIndependent(requestUriReplay, chain);
    });

    it('takes one consent and its code exchange for one use, and a refresh-token issuance or a denied consent for none', () => {
      const refreshed = aToken({ digest: undefined, parent: { jti: 'rt-1' }, jti: 'at-9', grant_type: 'refresh_token', iat: Math.floor(at(2000).getTime() / 1000) });
      const rotated = aToken({ digest: undefined, parent: { jti: 'rt-1' }, jti: 'rt-9', token_type: 'refresh', grant_type: 'refresh_token', iat: Math.floor(at(2000).getTime() / 1000) });
      const denied = aConsent({ decision: 'denied', granted: undefined }, { occurredAt: at(10) });
      const chain = aChain([push(), denied, aConsent(), ...exchange(1, 22), refreshed, rotated]);
      expect(findings(requestUriReplay, chain)).toEqual([]);
      expectOrderIndependent(requestUriReplay, chain);
    });

    it('does not count a consent or a token delivered again under another event id as another consumption', () => {
      const consent = aConsent();
      const tokens = exchange(1, 22);
      const again = [{ ...consent, seq: String(Number(consent.seq) + 100_000), eventId: 'evt-consent-again' }, { ...tokens[0]!, seq: String(Number(tokens[0]!.seq) + 100_000), eventId: 'evt-token-again' }];
      const chain = aChain([push(), consent, ...tokens, ...again]);
      expect(findings(requestUriReplay, chain)).toEqual([]);
      expectOrderIndependent(requestUriReplay, chain);
    });

    it('stays low when the AS refused the second use and nobody got a second consent through', () => {
      const refused = aVerification({ delivery: 'par', request_uri: PAR_URI, verdict: 'rejected', reason: 'invalid_request_uri', claims: {} }, { occurredAt: at(300) });
      const chain = aChain([push(), aConsent(), ...exchange(1, 22), refused]);
      expect(findings(requestUriReplay, chain)).toEqual([expect.objectContaining({ severity: 'low', facts: expect.objectContaining({ unreported_consumptions: 0 }) })]);
      expectOrderIndependent(requestUriReplay, chain);
    });
  });

  it('cannot read a purged use and does not guess', () => {
    expect(findings(requestUriReplay, aChain([aVerification({}, { purged: true }), aVerification({}, { occurredAt: at(40) })]))).toEqual([]);
  });
});

describe('verdict_mismatch', () => {
  it('is high when the AS accepted what jartrail rejects, with jartrail reasons', () => {
    const chain = aChain([aVerification({}, { independent: aVerdict({ verdict: 'rejected', mismatch: true, reasons: [{ code: 'signature_invalid', detail: 'bad' }] }) }), aConsent()]);
    expect(findings(verdictMismatch, chain)).toEqual([expect.objectContaining({ severity: 'high', facts: expect.objectContaining({ reasons: ['signature_invalid'] }) })]);
    expectOrderIndependent(verdictMismatch, chain);
  });

  it('is medium when the AS refused what jartrail verified', () => {
    const chain = aChain([aVerification({ verdict: 'rejected' }, { independent: aVerdict({ mismatch: true }) })]);
    expect(findings(verdictMismatch, chain)).toEqual([expect.objectContaining({ severity: 'medium' })]);
  });

  it('does not fire when both agree, nor while jartrail has not judged', () => {
    expect(findings(verdictMismatch, aChain(aLegitimateChain()))).toEqual([]);
    expect(findings(verdictMismatch, aChain([aVerification({}, { independent: 'pending' })]))).toEqual([]);
  });

  it('never reads a refused replay as a mismatch: the AS refusing a used request_uri is right', () => {
    const first = aVerification({ delivery: 'par', request_uri: PAR_URI }, { occurredAt: at(0), chains: [OTHER_DIGEST] });
    const replay = aVerification({ delivery: 'par', request_uri: PAR_URI, verdict: 'rejected', claims: { ...aVerification().data!.claims, jti: 'j2' } }, { occurredAt: at(30), independent: aVerdict({ mismatch: true }) });
    const chain = aChain([replay], { related: [first] });
    expect(findings(verdictMismatch, chain)).toEqual([]);
    expect(findings(requestUriReplay, chain)).toEqual([expect.objectContaining({ rule: 'request_uri_replay' })]);
  });
});

describe('alg_policy', () => {
  it('fires on an accepted object signed with an algorithm the client did not pin', () => {
    const chain = aChain([aVerification({ header: { alg: 'PS384' } }, { independent: aVerdict({ alg: 'PS384' }) })]);
    expect(findings(algPolicy, chain)).toEqual([expect.objectContaining({ severity: 'high', facts: expect.objectContaining({ reported_alg: 'PS384', pinned: ['RS256', 'ES256'] }) })]);
    expectOrderIndependent(algPolicy, chain);
  });

  it('fires on alg none and on HMAC even for an unregistered client', () => {
    expect(findings(algPolicy, aChain([aVerification({ header: { alg: 'none' } })], { clients: [] }))).toHaveLength(1);
    expect(findings(algPolicy, aChain([aVerification({ header: { alg: 'HS256' } })], { clients: [] }))).toHaveLength(1);
  });

  it('fires on a plain unsigned request accepted for a client that requires signed request objects', () => {
    const unsigned = aVerification({ unsigned: true, header: undefined });
    expect(findings(algPolicy, aChain([unsigned]))).toEqual([expect.objectContaining({ facts: expect.objectContaining({ unsigned: true }) })]);
    expect(findings(algPolicy, aChain([unsigned], { clients: [aClient({ requireSignedRequestObject: false })] }))).toEqual([]);
  });

  it('does not fire on a pinned algorithm, nor on a refused object', () => {
    expect(findings(algPolicy, aChain(aLegitimateChain()))).toEqual([]);
    expect(findings(algPolicy, aChain([aVerification({ verdict: 'rejected', header: { alg: 'none' } })]))).toEqual([]);
  });
});

describe('lifetime_policy', () => {
  const claims = aVerification().data!.claims;

  it('is medium when the lifetime exceeds the client maximum', () => {
    const chain = aChain([aVerification({ claims: { ...claims, iat: claims.iat, exp: claims.iat! + 7200 } })]);
    expect(findings(lifetimePolicy, chain)).toEqual([expect.objectContaining({ severity: 'medium' })]);
    expectOrderIndependent(lifetimePolicy, chain);
  });

  it('is high when the object had expired when the AS accepted it, beyond a minute of clock skew', () => {
    const chain = aChain([aVerification({ claims: { ...claims, exp: claims.iat! + 10 } }, { occurredAt: at(71) })]);
    expect(findings(lifetimePolicy, chain)).toEqual([expect.objectContaining({ severity: 'high' })]);
    expect(findings(lifetimePolicy, aChain([aVerification({ claims: { ...claims, exp: claims.iat! + 10 } }, { occurredAt: at(70) })]))).toEqual([]);
  });

  it('does not fire within the policy, nor on a refused object', () => {
    expect(findings(lifetimePolicy, aChain(aLegitimateChain()))).toEqual([]);
    expect(findings(lifetimePolicy, aChain([aVerification({ verdict: 'rejected', claims: { ...claims, exp: undefined } })]))).toEqual([]);
  });
});

describe('redirect_uri_unregistered', () => {
  const claims = aVerification().data!.claims;

  it('is high when the AS accepted a redirect_uri the client did not register, low when it refused', () => {
    const chain = aChain([aVerification({ claims: { ...claims, redirect_uri: 'https://evil.example.net/cb' } })]);
    expect(findings(redirectUriUnregistered, chain)).toEqual([expect.objectContaining({ severity: 'high' })]);
    expectOrderIndependent(redirectUriUnregistered, chain);
    expect(findings(redirectUriUnregistered, aChain([aVerification({ verdict: 'rejected', claims: { ...claims, redirect_uri: 'https://evil.example.net/cb' } })]))).toEqual([
      expect.objectContaining({ severity: 'low' }),
    ]);
  });

  it('compares exactly, and cannot judge a client without registered redirect URIs', () => {
    expect(findings(redirectUriUnregistered, aChain([aVerification({ claims: { ...claims, redirect_uri: 'https://agent.example.com/cb/' } })]))).toHaveLength(1);
    expect(findings(redirectUriUnregistered, aChain(aLegitimateChain()))).toEqual([]);
    expect(findings(redirectUriUnregistered, aChain([aVerification({ claims: { ...claims, redirect_uri: 'https://x.example/cb' } })], { clients: [aClient({ redirectUris: [] })] }))).toEqual([]);
  });
});

describe('orphan', () => {
  it('fires on a loose tool call after the grace period, and asks to be evaluated again when it ends', () => {
    const call = aToolCall({}, { chains: [], recordedAt: at(100) });
    const loose = aChain([call], { digest: null });
    expect(orphan(loose, aContext({ now: at(200) }))).toEqual({ findings: [], recheckAt: at(700) });
    expect(findings(orphan, loose, aContext({ now: at(700) }))).toEqual([expect.objectContaining({ severity: 'medium', evidence: [{ kind: 'event', seq: call.seq }] })]);
  });

  it('fires on tool calls of a chain without an accepted verification, and on tokens of a chain no verification names', () => {
    const refused = aChain([aVerification({ verdict: 'rejected' }), aToken(), aToolCall()]);
    expect(findings(orphan, refused)).toEqual([expect.objectContaining({ facts: expect.objectContaining({ tool_calls: 1, tokens: 0 }) })]);
    expectOrderIndependent(orphan, refused);
    expect(findings(orphan, aChain([aToken(), aToolCall()]))).toEqual([expect.objectContaining({ facts: expect.objectContaining({ tool_calls: 1, tokens: 1 }) })]);
  });

  it('does not fire on a chain with an accepted verification', () => {
    expect(orphan(aChain(aLegitimateChain()), aContext())).toEqual({ findings: [] });
  });
});

describe('conflicting_redelivery', () => {
  it('is medium for a body refused with 409 under a record’s event id, citing both', () => {
    const token = aToken();
    const conflict = aConflict(token);
    const chain = aChain([aVerification(), token], { conflicts: [conflict] });
    expect(findings(conflictingRedelivery, chain)).toEqual([
      expect.objectContaining({ severity: 'medium', evidence: [{ kind: 'event', seq: token.seq }, { kind: 'conflict', seq: conflict.seq }] }),
    ]);
    expectOrderIndependent(conflictingRedelivery, chain);
  });

  it('is high for one call_id of one agent recorded twice with different contents, across chains', () => {
    const first = aToolCall({ outcome: 'succeeded' });
    const second = aToolCall({ outcome: 'failed' }, { chains: [OTHER_DIGEST] });
    const chain = aChain([aVerification(), first], { related: [second] });
    expect(findings(conflictingRedelivery, chain)).toEqual([expect.objectContaining({ severity: 'high', key: 'call:mail-agent:call-1' })]);
    expectOrderIndependent(conflictingRedelivery, chain);
  });

  it('does not fire on the same contents delivered under two event ids, nor on one call_id of two agents', () => {
    expect(findings(conflictingRedelivery, aChain([aToolCall(), aToolCall()]))).toEqual([]);
    expect(findings(conflictingRedelivery, aChain([aToolCall(), aToolCall({ agent_id: 'other-agent', outcome: 'failed' })]))).toEqual([]);
  });
});
