import { z } from 'zod';
import {
  audience,
  authorizationDetails,
  digest,
  identifier,
  matching,
  numericDate,
  resource,
  scope,
  shortText,
  uri,
  valueHash,
} from '../../common/schema/oauth-fields';
import { defineEventType } from '../event-type-definition';
import type { StoredEventOf } from '../evidence-record';
import { type FacetDeclaration, facetValuesOf } from '../facets';
import type { Grant } from '../grant';

/** PAR request URIs (RFC 9126 section 2.2) carry this prefix. */
export const PAR_REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

const jwsHeader = z.strictObject({
  alg: z.string().min(1).max(64),
  kid: z.string().min(1).max(1024).optional(),
  typ: z.string().min(1).max(256).optional(),
});

const jweHeader = z.strictObject({
  alg: z.string().min(1).max(64),
  enc: z.string().min(1).max(64),
  kid: z.string().min(1).max(1024).optional(),
});

/** The claim facts the AS read from the request object (RFC 9101 section 4); `state` and `nonce` only as hashes. */
const claimFacts = z.strictObject({
  iss: z.string().min(1).max(2048).optional(),
  aud: audience.optional(),
  exp: numericDate.optional(),
  iat: numericDate.optional(),
  nbf: numericDate.optional(),
  jti: identifier.optional(),
  response_type: z.string().min(1).max(256).optional(),
  redirect_uri: uri.optional(),
  scope: scope.optional(),
  resource: resource.optional(),
  authorization_details: authorizationDetails.optional(),
  state_hash: valueHash.optional(),
  nonce_hash: valueHash.optional(),
});

// A compact JWS has 3 parts, a compact JWE 5; both are base64url parts joined by dots.
const compactSerialization = matching(
  z.string().max(192 * 1024),
  /^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){2}((\.[A-Za-z0-9_-]*){2})?$/,
  'compact_serialization',
  'must be a compact JWS or JWE serialization',
);

const verificationData = z
  .strictObject({
    digest,
    verdict: z.enum(['accepted', 'rejected']),
    reason: shortText.optional(),
    client_id: identifier,
    issuer: z.string().min(1).max(2048),
    delivery: z.enum(['value', 'reference', 'par']),
    request_uri: z.string().min(1).max(2048).optional(),
    /**
     * jartrail's extension for a plain authorization request without a request object: its digest is the JCS
     * digest of its parameters, it has no header, and its chain is marked unsigned.
     */
    unsigned: z.boolean().optional(),
    header: jwsHeader.optional(),
    encryption: jweHeader.optional(),
    inner_digest: digest.optional(),
    claims: claimFacts,
    request_object: compactSerialization.optional(),
  })
  .superRefine((data, context) => {
    const issue = (path: string, code: string, message: string) =>
      context.addIssue({ code: 'custom', path: [path], message, params: { code } });
    if (data.unsigned === true) {
      for (const field of ['header', 'encryption', 'inner_digest', 'request_object'] as const) {
        if (data[field] !== undefined) issue(field, 'unsigned_conflict', 'must be absent when the request is unsigned');
      }
    } else if (data.header === undefined) {
      context.addIssue({ code: 'invalid_type', expected: 'object', path: ['header'], message: 'this field is required' });
    }
    if (data.inner_digest !== undefined && data.encryption === undefined) {
      issue('inner_digest', 'inner_digest_without_encryption', 'is only meaningful for an encrypted request object');
    }
    // A refused PAR push was given no request_uri (RFC 9126 section 2.3): the AS reports the refusal without one.
    const refusedPush = data.delivery === 'par' && data.verdict === 'rejected';
    if (data.delivery !== 'value' && data.request_uri === undefined && !refusedPush) {
      context.addIssue({ code: 'invalid_type', expected: 'string', path: ['request_uri'], message: 'this field is required' });
    }
    if (data.delivery === 'par' && data.request_uri !== undefined && !data.request_uri.startsWith(PAR_REQUEST_URI_PREFIX)) {
      issue('request_uri', 'par_request_uri', `a pushed request_uri starts with ${PAR_REQUEST_URI_PREFIX}`);
    }
    if (data.delivery === 'value' && data.request_uri !== undefined) {
      issue('request_uri', 'request_uri_with_value', 'must be absent when the request object was passed by value');
    }
  });

export type VerificationData = z.infer<typeof verificationData>;

/** A plain authorization request, or a request object with alg "none": nothing proves what the client asked. */
const UNSIGNED_REQUEST_FACET: FacetDeclaration = {
  name: 'unsigned',
  trueWhenAny: [
    { path: ['unsigned'], equals: 'true' },
    { path: ['header', 'alg'], equals: 'none' },
  ],
};

export const requestObjectVerificationEvent = defineEventType({
  type: 'request_object.verification',
  senderKind: 'authorization_server',
  data: verificationData,
  occurredAt: (_data, envelopeTimestamp) => envelopeTimestamp,
  causalRank: 0,
  example: {
    digest: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
    verdict: 'accepted',
    client_id: 'agent-client',
    issuer: 'https://as.example.com',
    delivery: 'par',
    request_uri: `${PAR_REQUEST_URI_PREFIX}6esc_11ACC5bwc-014ltc8I`,
    header: { alg: 'PS256', kid: 'client-key-1', typ: 'oauth-authz-req+jwt' },
    claims: { iss: 'agent-client', aud: 'https://as.example.com', exp: 1_795_000_300, iat: 1_795_000_000, scope: 'openid mail.send', jti: 'ro-1' },
  },
  links: { digest: ['digest'], innerDigest: ['inner_digest'] },
  facets: [
    { name: 'client_id', text: ['client_id'] },
    { name: 'issuer', text: ['issuer'] },
    UNSIGNED_REQUEST_FACET,
  ],
  independentVerification: (data) => ({ requestObject: data.request_object }),
  minimize: (data, policy) => {
    if (policy.keepRequestObjects || data.request_object === undefined) return data;
    const { request_object: _dropped, ...kept } = data;
    return kept;
  },
  // The AS's word only; the chain document adds jartrail's own verdict, which is not part of the record.
  chainSection: 'verifications',
  summarize: (data, { sourceName }) => {
    const what = data.unsigned
      ? 'plain (unsigned) authorization request'
      : `request object (${data.header?.alg ?? '?'}${data.encryption ? `, encrypted ${data.encryption.alg}/${data.encryption.enc}` : ''})`;
    return `${sourceName} ${data.verdict} the ${what} of client ${data.client_id}, delivered by ${data.delivery}${data.reason ? `: ${data.reason}` : ''}`;
  },
});

/** jartrail's own verdict on a verification (request-objects/verification), as readers of the record need it. */
export interface IndependentVerdictFacts {
  readonly verdict: 'verified' | 'rejected' | 'unverifiable' | 'not_verifiable';
  /** The AS accepted what jartrail rejects, or rejected what jartrail verified. */
  readonly mismatch: boolean;
  /** Reason codes (request-objects/verification/reasons.ts), e.g. `alg_not_allowed`, `lifetime_exceeded`. */
  readonly reasons: readonly { readonly code: string; readonly detail: string }[];
  /** The signing algorithm jartrail found in the object's header (null when it could not read one). */
  readonly alg: string | null;
  /** Encrypted and not decrypted: only the AS's word about what is inside. */
  readonly opaque: boolean;
}

export type VerificationRecord = StoredEventOf<typeof requestObjectVerificationEvent> & {
  /** jartrail's own verdict; `pending` while queued; null when never queued (nothing to verify was kept). */
  readonly independent: IndependentVerdictFacts | 'pending' | null;
};

/** What the request asked for: the scope, resource and authorization_details of its claim facts. */
export const requestedGrantOf = (data: VerificationData): Grant => ({
  scope: data.claims.scope,
  resource: data.claims.resource,
  authorization_details: data.claims.authorization_details,
});

/** Unsigned as the chain's `unsigned` facet says it: by the same declaration. */
export const isUnsignedRequest = (data: VerificationData) => facetValuesOf([UNSIGNED_REQUEST_FACET], data).length > 0;
