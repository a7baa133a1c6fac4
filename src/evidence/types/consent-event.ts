import { z } from 'zod';
import { authorizationDetails, digest, resource, scope } from '../../common/schema/oauth-fields';
import { defineEventType } from '../event-type-definition';
import type { StoredEventOf } from '../evidence-record';
import type { Grant } from '../grant';

const consentData = z.strictObject({
  digest,
  decision: z.enum(['approved', 'denied', 'partial']),
  subject: z.string().min(1).max(512),
  granted: z
    .strictObject({
      scope: scope.optional(),
      resource: resource.optional(),
      authorization_details: authorizationDetails.optional(),
    })
    .optional(),
  /** Digest of what the user was shown. */
  rendered_digest: digest.optional(),
});

export type ConsentData = z.infer<typeof consentData>;

export const consentDecisionEvent = defineEventType({
  type: 'consent.decision',
  senderKind: 'authorization_server',
  data: consentData,
  occurredAt: (_data, envelopeTimestamp) => envelopeTimestamp,
  causalRank: 1,
  example: { digest: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU', decision: 'approved', subject: 'user-42', granted: { scope: 'openid mail.send' } },
  links: { digest: ['digest'] },
  // The subject as stored: its pseudonym, unless so configured.
  facets: [{ name: 'subject', text: ['subject'] }],
  minimize: (data, policy) => ({ ...data, subject: policy.subjectOf(data.subject) }),
  chainSection: 'consents',
  summarize: (data) => `consent ${data.decision} by subject ${data.subject}${data.granted?.scope ? ` for scope "${data.granted.scope}"` : ''}`,
});

export type ConsentRecord = StoredEventOf<typeof consentDecisionEvent>;

/** Approved or partial: the user let something through; a denied consent granted nothing. */
export const approves = (data: ConsentData) => data.decision !== 'denied';

/** What the user granted; undefined when the consent does not say, and so granted what was asked. */
export const consentedGrantOf = (data: ConsentData): Grant | undefined => data.granted;
