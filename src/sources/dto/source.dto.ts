import { z } from 'zod';
import { publicKeySetProblem, type PublicKeySet } from '../../common/jose/key-set';
import { SOURCE_KINDS } from '../source-kind';
import type { SourceWithSecrets } from '../sources.repository';

export type { PublicKeySet };

export const createSourceRequest = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores')
      .describe('A unique name, e.g. "as-1"'),
    kind: z.enum(SOURCE_KINDS).describe('Which event types the source may send'),
    set_jwks: z.unknown().optional().describe('Public keys the source signs Security Event Tokens with (a JWKS)'),
    set_jwks_uri: z.string().max(2048).optional().describe('Or where to fetch them (https)'),
  })
  .superRefine(setKeysRefinement)
  .meta({ id: 'CreateSourceRequest' });

export type CreateSourceRequest = z.infer<typeof createSourceRequest>;

export const setKeysRequest = z
  .strictObject({
    set_jwks: z.unknown().optional().describe('Public keys the source signs Security Event Tokens with (a JWKS)'),
    set_jwks_uri: z.string().max(2048).optional().describe('Or where to fetch them (https)'),
  })
  .superRefine(setKeysRefinement)
  .meta({ id: 'SetKeysRequest' });

export type SetKeysRequest = z.infer<typeof setKeysRequest>;

/** At most one of set_jwks and set_jwks_uri; a set_jwks holds public keys only. */
function setKeysRefinement(value: { set_jwks?: unknown; set_jwks_uri?: string }, context: z.RefinementCtx): void {
  if (value.set_jwks !== undefined && value.set_jwks_uri !== undefined) {
    context.addIssue({ code: 'custom', path: ['set_jwks_uri'], message: 'give set_jwks or set_jwks_uri, not both', params: { code: 'at_most_one' } });
  }
  const problem = value.set_jwks === undefined ? undefined : publicKeySetProblem(value.set_jwks);
  if (problem) context.addIssue({ code: 'custom', path: ['set_jwks'], message: problem, params: { code: 'invalid_jwks' } });
}

export const DEFAULT_GRACE_PERIOD_SECONDS = 86_400;

export const rotateSecretRequest = z
  .strictObject({
    grace_period_seconds: z
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(DEFAULT_GRACE_PERIOD_SECONDS)
      .describe('How long the previous secrets stay valid'),
  })
  .meta({ id: 'RotateSecretRequest' });

export const sourceIdParam = z.uuid();

const secretSummary = z.object({
  id: z.uuid(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable().describe('null for the current secret; set for a previous one in its grace period'),
});

export const sourceResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(SOURCE_KINDS),
    status: z.enum(['enabled', 'disabled']),
    created_at: z.iso.datetime(),
    disabled_at: z.iso.datetime().nullable(),
    secrets: z.array(secretSummary).describe('The secrets valid now, never their values'),
    set_jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).nullable().describe('Keys for Security Event Tokens'),
    set_jwks_uri: z.string().nullable(),
  })
  .meta({ id: 'Source' });

export type SourceResponse = z.infer<typeof sourceResponse>;

export const sourceWithSecretResponse = sourceResponse
  .extend({ secret: z.string().describe('The whsec_ signing secret: shown this once, never again') })
  .meta({ id: 'SourceWithSecret' });

export const sourceListResponse = z.object({ items: z.array(sourceResponse) }).meta({ id: 'SourceList' });

export function toSourceResponse({ source, secrets }: SourceWithSecrets): SourceResponse {
  return {
    id: source.id,
    name: source.name,
    kind: source.kind,
    status: source.disabledAt === null ? 'enabled' : 'disabled',
    created_at: source.createdAt.toISOString(),
    disabled_at: source.disabledAt?.toISOString() ?? null,
    secrets: secrets.map((secret) => ({
      id: secret.id,
      created_at: secret.createdAt.toISOString(),
      expires_at: secret.expiresAt?.toISOString() ?? null,
    })),
    set_jwks: source.setJwks ? { keys: source.setJwks.keys as Record<string, unknown>[] } : null,
    set_jwks_uri: source.setJwksUri,
  };
}
