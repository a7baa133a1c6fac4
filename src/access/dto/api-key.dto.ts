import { z } from 'zod';
import type { ApiKeyEntity } from '../api-key.entity';
import { SCOPES } from '../scopes';

export const createApiKeyRequest = z
  .strictObject({
    name: z.string().min(1).max(128).describe('Who or what the key is for'),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  })
  .meta({ id: 'CreateApiKeyRequest' });

export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequest>;

export const apiKeyIdParam = z.uuid();

export const apiKeyResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    created_at: z.iso.datetime(),
    revoked_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const issuedApiKeyResponse = apiKeyResponse
  .extend({ key: z.string().describe('The key: shown this once, stored only as a hash') })
  .meta({ id: 'IssuedApiKey' });

export const apiKeyListResponse = z.object({ items: z.array(apiKeyResponse) }).meta({ id: 'ApiKeyList' });

export function toApiKeyResponse(key: ApiKeyEntity): z.infer<typeof apiKeyResponse> {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}
