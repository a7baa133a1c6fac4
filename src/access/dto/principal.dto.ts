import { z } from 'zod';
import { SCOPES } from '../scopes';
import type { Principal } from '../auditor';

export const principalResponse = z
  .object({
    credential: z.enum(['api_key', 'jwt']).describe('What the request presented: an API key, or an access token of an identity provider'),
    api_key: z.object({ id: z.uuid(), name: z.string() }).nullable().describe('The API key, for a key; null for a token'),
    subject: z.string().nullable().describe("The token's sub; null for an API key"),
    issuer: z.string().nullable().describe("The token's iss (the identity provider); null for an API key"),
    scopes: z.array(z.enum(SCOPES)).describe('The scopes the credential carries here (for a token: from its scope claim, or its mapped roles)'),
  })
  .meta({ id: 'Principal' });

export type PrincipalResponse = z.infer<typeof principalResponse>;

export function toPrincipalResponse(principal: Principal): PrincipalResponse {
  return principal.kind === 'api_key'
    ? { credential: 'api_key', api_key: { id: principal.apiKeyId, name: principal.name }, subject: null, issuer: null, scopes: [...principal.scopes] }
    : { credential: 'jwt', api_key: null, subject: principal.subject, issuer: principal.issuer, scopes: [...principal.scopes] };
}
