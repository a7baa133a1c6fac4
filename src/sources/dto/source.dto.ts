import { z } from 'zod';
import { SOURCE_KINDS } from '../source-kind';
import type { SourceWithSecrets } from '../sources.repository';

export const createSourceRequest = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores')
      .describe('A unique name, e.g. "as-1"'),
    kind: z.enum(SOURCE_KINDS).describe('Which event types the source may send'),
  })
  .meta({ id: 'CreateSourceRequest' });

export type CreateSourceRequest = z.infer<typeof createSourceRequest>;

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
  };
}
