import { z } from 'zod';
import { authorizationDetails, digest, resource, scope } from '../../common/schema/oauth-fields';
import { defineEventType } from '../event-type-definition';

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
  links: (data) => ({ digest: data.digest }),
  // The subject as stored: its pseudonym, unless so configured.
  facets: [{ name: 'subject', text: ['subject'] }],
  minimize: (data, policy) => ({ ...data, subject: policy.subjectOf(data.subject) }),
  summarize: (data) => `consent ${data.decision} by subject ${data.subject}${data.granted?.scope ? ` for scope "${data.granted.scope}"` : ''}`,
});
