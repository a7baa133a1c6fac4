import { z } from 'zod';
import { ASYMMETRIC_JWS_ALGORITHMS, publicKeySetProblem, type PublicKeySet } from '../../common/jose/key-set';
import type { ClientEntity } from '../client.entity';

export const DEFAULT_MAX_REQUEST_OBJECT_LIFETIME = 3600;

const jwks = z
  .looseObject({ keys: z.array(z.record(z.string(), z.unknown())) })
  .check((context) => {
    const problem = publicKeySetProblem(context.value);
    if (problem) context.issues.push({ code: 'custom', message: problem, input: context.value, params: { code: 'invalid_jwks' } });
  })
  .describe('Public keys (a JWKS); private or symmetric key material is refused') as unknown as z.ZodType<PublicKeySet>;

const names = (what: string) => z.array(z.string().min(1).max(256)).max(100).default([]).describe(what);

/** The registration itself, without the client_id (PUT takes it from the path). */
const registration = z.strictObject({
  jwks: jwks.optional(),
  jwks_uri: z.string().max(2048).optional().describe('https only (plain http for a loopback host with JWKS_ALLOW_LOOPBACK_HTTP=true); no non-public address unless JWKS_URI_ALLOW_PRIVATE=true'),
  request_object_signing_alg_values: z
    .array(z.enum(ASYMMETRIC_JWS_ALGORITHMS as [string, ...string[]]))
    .min(1)
    .max(16)
    .describe('The pinned signing algorithms; "none" and HMAC algorithms cannot be pinned'),
  require_signed_request_object: z.boolean().default(false),
  require_encrypted_request_object: z
    .boolean()
    .default(false)
    .describe('Requests of this client must travel encrypted (a JWE); a high-impact scope or type granted from one that did not is finding unsigned_high_impact'),
  request_object_encryption_alg_values: names('Accepted JWE key management algorithms (empty: any)'),
  request_object_encryption_enc_values: names('Accepted JWE content encryption algorithms (empty: any)'),
  high_impact_scopes: names('Scopes that need a signed request object, and an encrypted one when require_encrypted_request_object (finding unsigned_high_impact)'),
  high_impact_authorization_details_types: names('authorization_details types that need a signed request object, and an encrypted one when require_encrypted_request_object (finding unsigned_high_impact)'),
  sensitive_scopes: names('Scopes whose requests must travel encrypted (finding unencrypted_sensitive)'),
  sensitive_authorization_details_types: names('authorization_details types whose requests must travel encrypted (finding unencrypted_sensitive)'),
  redirect_uris: z
    .array(z.string().max(2048).refine((value) => URL.canParse(value), { message: 'must be an absolute URI', params: { code: 'uri' } }))
    .max(100)
    .default([])
    .describe('The registered redirect URIs, compared exactly (finding redirect_uri_unregistered); empty: not registered here'),
  max_request_object_lifetime: z.int().min(1).max(86_400).default(DEFAULT_MAX_REQUEST_OBJECT_LIFETIME).describe('Seconds from nbf (or iat) to exp'),
});

const oneKeySource = <T extends { jwks?: unknown; jwks_uri?: unknown }>(value: T, context: z.RefinementCtx) => {
  if ((value.jwks === undefined) === (value.jwks_uri === undefined)) {
    for (const path of ['jwks', 'jwks_uri']) {
      context.addIssue({ code: 'custom', path: [path], message: 'give exactly one of jwks and jwks_uri', params: { code: 'exactly_one' } });
    }
  }
};

export const clientIdParam = z.string().min(1).max(256);

export const createClientRequest = registration
  .extend({ client_id: clientIdParam.describe('The client_id the authorization servers report') })
  .superRefine(oneKeySource)
  .meta({ id: 'CreateClientRequest' });

export const updateClientRequest = registration.superRefine(oneKeySource).meta({ id: 'UpdateClientRequest' });

export type ClientRegistration = z.infer<typeof updateClientRequest>;
export type CreateClientRequest = z.infer<typeof createClientRequest>;

export const clientResponse = z
  .object({
    client_id: z.string(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).nullable(),
    jwks_uri: z.string().nullable(),
    request_object_signing_alg_values: z.array(z.string()),
    require_signed_request_object: z.boolean(),
    require_encrypted_request_object: z.boolean(),
    request_object_encryption_alg_values: z.array(z.string()),
    request_object_encryption_enc_values: z.array(z.string()),
    high_impact_scopes: z.array(z.string()),
    high_impact_authorization_details_types: z.array(z.string()),
    sensitive_scopes: z.array(z.string()),
    sensitive_authorization_details_types: z.array(z.string()),
    redirect_uris: z.array(z.string()),
    max_request_object_lifetime: z.int(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    status: z.enum(['enabled', 'disabled']).describe('disabled: kept, but its request objects are not verified (verdict unverifiable, client_disabled)'),
    disabled_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Client' });

export type ClientResponse = z.infer<typeof clientResponse>;

export const clientListResponse = z.object({ items: z.array(clientResponse) }).meta({ id: 'ClientList' });

export function toClientResponse(client: ClientEntity): ClientResponse {
  return {
    client_id: client.clientId,
    jwks: client.jwks ? { keys: client.jwks.keys as Record<string, unknown>[] } : null,
    jwks_uri: client.jwksUri,
    request_object_signing_alg_values: client.requestObjectSigningAlgValues,
    require_signed_request_object: client.requireSignedRequestObject,
    require_encrypted_request_object: client.requireEncryptedRequestObject,
    request_object_encryption_alg_values: client.requestObjectEncryptionAlgValues,
    request_object_encryption_enc_values: client.requestObjectEncryptionEncValues,
    high_impact_scopes: client.highImpactScopes,
    high_impact_authorization_details_types: client.highImpactAuthorizationDetailsTypes,
    sensitive_scopes: client.sensitiveScopes,
    sensitive_authorization_details_types: client.sensitiveAuthorizationDetailsTypes,
    redirect_uris: client.redirectUris,
    max_request_object_lifetime: client.maxRequestObjectLifetime,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
    status: client.disabledAt === null ? 'enabled' : 'disabled',
    disabled_at: client.disabledAt?.toISOString() ?? null,
  };
}

/** Private JWE keys of an AS: RSA-OAEP and ECDH-ES key management (RFC 7518 section 4). */
export const DECRYPTION_ALGORITHMS = ['RSA-OAEP', 'RSA-OAEP-256', 'RSA-OAEP-384', 'RSA-OAEP-512', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'] as const;

export const createDecryptionKeyRequest = z
  .strictObject({
    issuer: z.string().min(1).max(2048).describe('The AS (its issuer identifier, as its verification events report it)'),
    alg: z.enum(DECRYPTION_ALGORITHMS),
    jwk: z.record(z.string(), z.unknown()).describe('The private key as a JWK; stored sealed, never shown again'),
  })
  .meta({ id: 'CreateDecryptionKeyRequest' });

export type CreateDecryptionKeyRequest = z.infer<typeof createDecryptionKeyRequest>;

export const decryptionKeyResponse = z
  .object({
    id: z.uuid(),
    issuer: z.string(),
    alg: z.string(),
    kid: z.string().nullable(),
    public_jwk: z.record(z.string(), z.unknown()).describe('The public part only'),
    created_at: z.iso.datetime(),
    status: z.enum(['enabled', 'disabled']).describe('disabled: kept, never opened or used to decrypt again (verdict unverifiable, decryption_key_disabled)'),
    disabled_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'DecryptionKey' });

export const decryptionKeyIdParam = z.uuid();

export const decryptionKeyListResponse = z.object({ items: z.array(decryptionKeyResponse) }).meta({ id: 'DecryptionKeyList' });
