import type { Rule, RuleName } from '../rule';
import { beyondGrant } from './beyond-grant';
import { consentExceedsRequest } from './consent-exceeds-request';
import { outsideLifetime } from './outside-lifetime';
import { tokenExceedsConsent } from './token-exceeds-consent';
import { unencryptedSensitive } from './unencrypted-sensitive';
import { unsignedHighImpact } from './unsigned-high-impact';

/** The rules about authority: what was asked, consented, granted and used, and when. */
export const GRANT_RULES: Readonly<Partial<Record<RuleName, Rule>>> = {
  beyond_grant: beyondGrant,
  token_exceeds_consent: tokenExceedsConsent,
  consent_exceeds_request: consentExceedsRequest,
  outside_lifetime: outsideLifetime,
  unsigned_high_impact: unsignedHighImpact,
  unencrypted_sensitive: unencryptedSensitive,
};
