import { aChain, aClient, aConsent, aContext, aLegitimateChain, aRevocation, aToken, aToolCall, aVerification, at, byRuleAndKey, reordered } from '../evidence.fixtures';
import type { ChainEvidence } from '../chain-evidence';
import type { Rule } from '../rule';
import { beyondGrant } from './beyond-grant';
import { consentExceedsRequest } from './consent-exceeds-request';
import { outsideLifetime } from './outside-lifetime';
import { tokenExceedsConsent } from './token-exceeds-consent';
import { unencryptedSensitive } from './unencrypted-sensitive';
import { unsignedHighImpact } from './unsigned-high-impact';

const findings = (rule: Rule, chain: ChainEvidence) => rule(chain, aContext()).findings;

function expectOrderIndependent(rule: Rule, chain: ChainEvidence) {
  const expected = byRuleAndKey(rule(chain, aContext()));
  for (const arrival of reordered(chain)) expect({ order: arrival.order, ...arrival.asOriginal(rule(arrival.chain, aContext())) }).toEqual({ order: arrival.order, ...expected });
}

const PAYMENT = { type: 'payment_initiation', actions: ['initiate'], locations: ['https://bank.example/'], identifier: 'pay-1' };

describe('every grant rule on a legitimate authorization', () => {
  it.each([beyondGrant, consentExceedsRequest, outsideLifetime, tokenExceedsConsent, unencryptedSensitive, unsignedHighImpact])('%p finds nothing', (rule) => {
    expect(findings(rule, aChain(aLegitimateChain()))).toEqual([]);
  });
});

describe('consent_exceeds_request', () => {
  it('fires when the consent granted a scope the validated request object did not ask for', () => {
    const chain = aChain([aVerification(), aConsent({ granted: { scope: 'openid mail.send mail.delete' } }), aToken()]);
    expect(findings(consentExceedsRequest, chain)).toEqual([expect.objectContaining({ severity: 'high', facts: expect.objectContaining({ excess: expect.objectContaining({ scopes: ['mail.delete'] }) }) })]);
    expectOrderIndependent(consentExceedsRequest, chain);
  });

  it('does not fire on a narrower consent, a consent without granted, or a refused request', () => {
    expect(findings(consentExceedsRequest, aChain([aVerification(), aConsent({ granted: { scope: 'openid' } })]))).toEqual([]);
    expect(findings(consentExceedsRequest, aChain([aVerification(), aConsent({ granted: undefined })]))).toEqual([]);
    expect(findings(consentExceedsRequest, aChain([aVerification({ verdict: 'rejected' }), aConsent({ granted: { scope: 'admin' } })]))).toEqual([]);
  });
});

describe('token_exceeds_consent', () => {
  it('fires on a token scope beyond the consent', () => {
    const chain = aChain([aVerification(), aConsent(), aToken({ scope: 'mail.send mail.read' })]);
    expect(findings(tokenExceedsConsent, chain)).toEqual([expect.objectContaining({ facts: expect.objectContaining({ excess: expect.objectContaining({ scopes: ['mail.read'] }) }) })]);
    expectOrderIndependent(tokenExceedsConsent, chain);
  });

  it('cites two consents given in the same second in the same order, whatever order they arrived in', () => {
    const consents = [aConsent({ granted: { scope: 'openid' } }, { occurredAt: at(20) }), aConsent({ granted: { scope: 'mail.send' } }, { occurredAt: at(20) })];
    const chain = aChain([aVerification(), ...consents, aToken({ scope: 'mail.send mail.read' })]);
    expect(findings(tokenExceedsConsent, chain)[0]!.evidence.slice(1)).toEqual(consents.map((consent) => ({ kind: 'event', seq: consent.seq })));
    expectOrderIndependent(tokenExceedsConsent, chain);
  });

  it('fires on any token when the user denied consent, and judges a refresh-derived token too', () => {
    expect(findings(tokenExceedsConsent, aChain([aVerification(), aConsent({ decision: 'denied', granted: undefined }), aToken()]))).toEqual([expect.objectContaining({ facts: expect.objectContaining({ consent_denied: true }) })]);
    const child = aToken({ digest: undefined, parent: { jti: 'at-1' }, jti: 'at-2', scope: 'mail.admin' });
    expect(findings(tokenExceedsConsent, aChain([...aLegitimateChain(), child]))).toHaveLength(1);
  });

  it('does not compare when a consent or verification was purged: it may have granted more', () => {
    expect(findings(tokenExceedsConsent, aChain([aVerification(), aConsent({}, { purged: true }), aToken({ scope: 'mail.send mail.read' })]))).toEqual([]);
    expect(findings(consentExceedsRequest, aChain([aVerification({}, { purged: true }), aVerification({}, { chains: [] }), aConsent({ granted: { scope: 'admin' } })]))).toEqual([]);
  });

  it('does not compare without a consent, nor take aud for a resource', () => {
    expect(findings(tokenExceedsConsent, aChain([aVerification(), aToken({ scope: 'anything' })]))).toEqual([]);
    expect(findings(tokenExceedsConsent, aChain([aVerification(), aConsent(), aToken({ aud: 'https://elsewhere.example' })]))).toEqual([]);
  });
});

describe('beyond_grant', () => {
  it('fires when the token names tools in its scopes and none covers the call', () => {
    const chain = aChain([...aLegitimateChain().slice(0, 3), aToolCall({ tool: 'calendar', action: 'delete' })]);
    expect(findings(beyondGrant, chain)).toEqual([expect.objectContaining({ severity: 'high', key: 'call:mail-agent:call-1' })]);
    expectOrderIndependent(beyondGrant, chain);
  });

  it('is medium when the resource server denied the call, and covers a call by a wildcard scope', () => {
    expect(findings(beyondGrant, aChain([...aLegitimateChain().slice(0, 3), aToolCall({ action: 'delete', outcome: 'denied' })]))).toEqual([expect.objectContaining({ severity: 'medium' })]);
    expect(findings(beyondGrant, aChain([aVerification(), aToken({ scope: 'mail.*' }), aToolCall({ action: 'delete' })]))).toEqual([]);
  });

  it('judges resources and authorization_details entries, and not scopes that do not name tools', () => {
    const token = aToken({ scope: 'openid', resource: 'https://bank.example/', authorization_details: [PAYMENT] });
    const ok = aToolCall({ tool: 'bank', action: 'initiate', resource: 'https://bank.example/', authorization_details_ref: 'pay-1' });
    expect(findings(beyondGrant, aChain([aVerification(), token, ok]))).toEqual([]);
    const wrongAction = aToolCall({ tool: 'bank', action: 'cancel', resource: 'https://bank.example/', authorization_details_ref: 'pay-1' });
    expect(findings(beyondGrant, aChain([aVerification(), token, wrongAction]))[0]!.facts.problems).toEqual([expect.stringContaining('"cancel"')]);
    const otherResource = aToolCall({ tool: 'bank', action: 'initiate', resource: 'https://other.example/' });
    expect(findings(beyondGrant, aChain([aVerification(), token, otherResource]))).toHaveLength(1);
    const unknownRef = aToolCall({ tool: 'bank', action: 'initiate', authorization_details_ref: 'pay-9' });
    expect(findings(beyondGrant, aChain([aVerification(), token, unknownRef]))).toHaveLength(1);
  });

  it('leaves a call whose token the chain does not hold to orphan', () => {
    expect(findings(beyondGrant, aChain([aVerification(), aToolCall({ token: { jti: 'unknown' }, action: 'delete' })]))).toEqual([]);
  });
});

describe('outside_lifetime', () => {
  it('fires on a call after the token expired, before it was issued, or after it was revoked', () => {
    const expired = aChain([...aLegitimateChain().slice(0, 3), aToolCall({ started_at: at(3622 + 61).toISOString(), completed_at: undefined })]);
    expect(findings(outsideLifetime, expired)).toEqual([expect.objectContaining({ severity: 'high', summary: expect.stringContaining('after the token expired') })]);
    expectOrderIndependent(outsideLifetime, expired);
    expect(findings(outsideLifetime, aChain([...aLegitimateChain().slice(0, 3), aToolCall({ started_at: at(-100).toISOString(), completed_at: undefined })]))).toHaveLength(1);
    const revoked = aChain([...aLegitimateChain(), aRevocation({ revoked_at: at(30).toISOString() })]);
    expect(findings(outsideLifetime, revoked)).toEqual([expect.objectContaining({ evidence: expect.arrayContaining([expect.objectContaining({ kind: 'event' })]) })]);
    expect(findings(outsideLifetime, revoked)[0]!.evidence).toHaveLength(3);
  });

  it('allows 60 s of clock skew at iat and exp, and a call before the revocation', () => {
    expect(findings(outsideLifetime, aChain([...aLegitimateChain().slice(0, 3), aToolCall({ started_at: at(22 - 59).toISOString(), completed_at: undefined })]))).toEqual([]);
    expect(findings(outsideLifetime, aChain([...aLegitimateChain(), aRevocation()]))).toEqual([]);
  });

  it('does not take refresh-token rotation (the parent revoked in the second the child is issued) for a late child', () => {
    const rotatedAt = at(2000);
    const child = aToken({ digest: undefined, parent: { jti: 'at-1' }, jti: 'at-2', iat: Math.floor(rotatedAt.getTime() / 1000), exp: Math.floor(at(5000).getTime() / 1000) });
    expect(findings(outsideLifetime, aChain([...aLegitimateChain(), aRevocation({ revoked_at: rotatedAt.toISOString() }), child]))).toEqual([]);
  });

  it('fires, medium, on a refresh-derived token issued after its parent was revoked', () => {
    const child = aToken({ digest: undefined, parent: { jti: 'at-1' }, jti: 'at-2', iat: Math.floor(at(2000).getTime() / 1000), exp: Math.floor(at(5000).getTime() / 1000) });
    expect(findings(outsideLifetime, aChain([...aLegitimateChain(), aRevocation(), child]))).toEqual([expect.objectContaining({ severity: 'medium', key: `token:${child.eventId}:${child.sourceId}` })]);
  });
});

describe('unsigned_high_impact', () => {
  const client = aClient({ highImpactScopes: ['mail.send'], requireSignedRequestObject: false });

  it('fires when a high-impact scope was granted from a plain unsigned request or an alg none object', () => {
    const chain = aChain([aVerification({ unsigned: true, header: undefined }), aConsent(), aToken()], { clients: [client] });
    expect(findings(unsignedHighImpact, chain)).toEqual([expect.objectContaining({ severity: 'high', facts: expect.objectContaining({ scopes: ['mail.send'] }) })]);
    expectOrderIndependent(unsignedHighImpact, chain);
    expect(findings(unsignedHighImpact, aChain([aVerification({ header: { alg: 'none' } }), aConsent()], { clients: [client] }))).toHaveLength(1);
  });

  it('does not fire on a signed request, a scope that is not high-impact, or an unregistered client', () => {
    expect(findings(unsignedHighImpact, aChain(aLegitimateChain(), { clients: [client] }))).toEqual([]);
    expect(findings(unsignedHighImpact, aChain([aVerification({ unsigned: true, header: undefined }), aConsent({ granted: { scope: 'openid' } })], { clients: [client] }))).toEqual([]);
    expect(findings(unsignedHighImpact, aChain([aVerification({ unsigned: true, header: undefined }), aConsent()], { clients: [] }))).toEqual([]);
  });
});

describe('unsigned_high_impact for a client that requires encrypted requests', () => {
  const client = aClient({ highImpactScopes: ['mail.send'], highImpactAuthorizationDetailsTypes: ['payment_initiation'], requireEncryptedRequestObject: true });
  const encryption = { alg: 'RSA-OAEP-256', enc: 'A256GCM' };

  it('fires when a high-impact scope or type was granted from a signed request that travelled unencrypted, naming that branch', () => {
    const chain = aChain([aVerification(), aConsent(), aToken()], { clients: [client] });
    expect(findings(unsignedHighImpact, chain)).toEqual([
      expect.objectContaining({
        severity: 'high',
        summary: expect.stringContaining('travelled unencrypted although the client requires encrypted requests'),
        facts: expect.objectContaining({ branches: ['unencrypted'], scopes: ['mail.send'], encrypted: false, encryption_required: true }),
      }),
    ]);
    expectOrderIndependent(unsignedHighImpact, chain);
    const payment = aChain([aVerification(), aConsent({ granted: { scope: 'openid', authorization_details: [PAYMENT] } })], { clients: [client] });
    expect(findings(unsignedHighImpact, payment)).toEqual([expect.objectContaining({ facts: expect.objectContaining({ branches: ['unencrypted'], authorization_details_types: ['payment_initiation'] }) })]);
    expectOrderIndependent(unsignedHighImpact, payment);
  });

  it('names both branches for a plain unsigned request', () => {
    const chain = aChain([aVerification({ unsigned: true, header: undefined }), aConsent()], { clients: [client] });
    expect(findings(unsignedHighImpact, chain)).toEqual([expect.objectContaining({ summary: expect.stringMatching(/plain unsigned request, and a request that travelled unencrypted/), facts: expect.objectContaining({ branches: ['unsigned', 'unencrypted'] }) })]);
  });

  it('does not fire on an encrypted request, for a client that does not require encryption, or on a refused unencrypted request beside the encrypted one', () => {
    expect(findings(unsignedHighImpact, aChain([aVerification({ encryption }), aConsent(), aToken()], { clients: [client] }))).toEqual([]);
    expect(findings(unsignedHighImpact, aChain(aLegitimateChain(), { clients: [aClient({ highImpactScopes: ['mail.send'] })] }))).toEqual([]);
    // The inner JWS of an encrypted request joins its chain by alias: sent on its own and refused, it granted nothing.
    const refusedInner = aVerification({ verdict: 'rejected', reason: 'invalid_request_object' }, { occurredAt: at(5) });
    const chain = aChain([aVerification({ encryption }), refusedInner, aConsent()], { clients: [client] });
    expect(findings(unsignedHighImpact, chain)).toEqual([]);
    expectOrderIndependent(unsignedHighImpact, chain);
  });
});

describe('unencrypted_sensitive', () => {
  const client = aClient({ sensitiveScopes: ['mail.send'], sensitiveAuthorizationDetailsTypes: ['payment_initiation'] });

  it('fires, high when accepted, on a sensitive scope or type requested without encryption', () => {
    const chain = aChain([aVerification()], { clients: [client] });
    expect(findings(unencryptedSensitive, chain)).toEqual([expect.objectContaining({ severity: 'high', facts: expect.objectContaining({ scopes: ['mail.send'] }) })]);
    expectOrderIndependent(unencryptedSensitive, chain);
    const claims = { ...aVerification().data!.claims, scope: 'openid', authorization_details: [PAYMENT] };
    expect(findings(unencryptedSensitive, aChain([aVerification({ verdict: 'rejected', claims })], { clients: [client] }))).toEqual([
      expect.objectContaining({ severity: 'medium', facts: expect.objectContaining({ authorization_details_types: ['payment_initiation'] }) }),
    ]);
  });

  it('does not fire on an encrypted request', () => {
    const encrypted = aVerification({ encryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' } });
    expect(findings(unencryptedSensitive, aChain([encrypted], { clients: [client] }))).toEqual([]);
  });
});
