import { z } from 'zod';
import {
  audience,
  authorizationDetails,
  dateTime,
  digest,
  identifier,
  matching,
  numericDate,
  resource,
  scope,
  shortText,
  tokenHash,
  tokenReference,
} from '../../common/schema/oauth-fields';
import { defineEventType } from '../event-type-definition';
import type { StoredEventOf } from '../evidence-record';
import type { Grant } from '../grant';

/** `access`, `refresh`, `id`, or an RFC 8693 token type URI. */
const tokenType = z.union([
  z.enum(['access', 'refresh', 'id']),
  matching(
    z.string().max(256),
    /^urn:ietf:params:oauth:token-type:[A-Za-z0-9_.-]+$/,
    'token_type',
    'must be access, refresh, id or an RFC 8693 token type URI',
  ),
]);

/** Proof-of-possession confirmation (RFC 7800): a DPoP key thumbprint or a certificate thumbprint. */
const confirmation = z.union([
  z.strictObject({ jkt: z.string().min(1).max(128) }),
  z.strictObject({ 'x5t#S256': z.string().min(1).max(128) }),
]);

/** A token as a summary names it: by jti, else by the start of its hash. */
const tokenName = (token: { jti?: string; token_hash?: string }) => (token.jti ? `jti ${token.jti}` : `hash ${String(token.token_hash).slice(0, 12)}…`);

const tokenIssuedData = z
  .strictObject({
    digest: digest.optional(),
    parent: tokenReference.optional(),
    token_type: tokenType,
    jti: identifier.optional(),
    token_hash: tokenHash.optional(),
    scope: scope.optional(),
    aud: audience.optional(),
    resource: resource.optional(),
    authorization_details: authorizationDetails.optional(),
    iat: numericDate,
    exp: numericDate,
    cnf: confirmation.optional(),
    grant_type: z.string().min(1).max(256).optional(),
  })
  .superRefine((data, context) => {
    if (data.digest === undefined && data.parent === undefined) {
      context.addIssue({ code: 'custom', path: ['digest'], message: 'a token names its digest or its parent', params: { code: 'digest_or_parent' } });
    }
    if (data.jti === undefined && data.token_hash === undefined) {
      context.addIssue({ code: 'custom', path: ['jti'], message: 'a token is named by jti, token_hash or both', params: { code: 'jti_or_token_hash' } });
    }
    if (data.exp < data.iat) {
      context.addIssue({ code: 'custom', path: ['exp'], message: 'must not be before iat', params: { code: 'exp_before_iat' } });
    }
  });

export type TokenIssuedData = z.infer<typeof tokenIssuedData>;

export const tokenIssuedEvent = defineEventType({
  type: 'token.issued',
  senderKind: 'token_service',
  data: tokenIssuedData,
  occurredAt: (data) => new Date(data.iat * 1000),
  causalRank: 2,
  example: { digest: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU', token_type: 'access', jti: 'at-1', scope: 'openid mail.send', iat: 1_795_000_020, exp: 1_795_003_620, grant_type: 'authorization_code' },
  // Known by its own jti and/or hash; a refreshed or exchanged token names its parent instead of a digest.
  links: { digest: ['digest'], tokenIdentity: [], tokenReference: { role: 'parent', at: ['parent'] } },
  facets: [],
  minimize: (data) => data,
  chainSection: 'tokens',
  summarize: (data) =>
    `${data.token_type} token issued (${tokenName(data)})${data.parent ? ` from parent ${tokenName(data.parent)}` : ''}${data.grant_type ? ` by ${data.grant_type}` : ''}${data.scope ? `, scope "${data.scope}"` : ''}`,
});

const tokenRevokedData = z
  .strictObject({
    jti: identifier.optional(),
    token_hash: tokenHash.optional(),
    revoked_at: dateTime,
    reason: shortText.optional(),
  })
  .superRefine((data, context) => {
    if (data.jti === undefined && data.token_hash === undefined) {
      context.addIssue({ code: 'custom', path: ['jti'], message: 'the revoked token is named by jti or token_hash', params: { code: 'jti_or_token_hash' } });
    }
  });

export type TokenRevokedData = z.infer<typeof tokenRevokedData>;

export const tokenRevokedEvent = defineEventType({
  type: 'token.revoked',
  senderKind: 'token_service',
  data: tokenRevokedData,
  occurredAt: (data) => new Date(data.revoked_at),
  // Like a tool call it needs the token; between the two, only their own times can tell which came first.
  causalRank: 3,
  example: { jti: 'at-1', revoked_at: '2026-11-28T11:00:00Z', reason: 'user logout' },
  links: { tokenReference: { role: 'revocation', at: [] } },
  facets: [],
  minimize: (data) => data,
  chainSection: 'revocations',
  summarize: (data) => `token ${tokenName(data)} revoked${data.reason ? `: ${data.reason}` : ''}`,
});

export type TokenRecord = StoredEventOf<typeof tokenIssuedEvent>;
export type RevocationRecord = StoredEventOf<typeof tokenRevokedEvent>;

/** What the token carries. Its `aud` is not a resource: only `resource` (RFC 8707) is. */
export const tokenGrantOf = (data: TokenIssuedData): Grant => ({ scope: data.scope, resource: data.resource, authorization_details: data.authorization_details });
