import { z } from 'zod';

export const signInOptionsResponse = z
  .object({
    identity_providers: z
      .array(
        z.object({
          issuer: z.string().describe('The identity provider (iss of its tokens); its discovery document is at {issuer}/.well-known/openid-configuration'),
          client_id: z.string().describe("The console's public client at this provider: authorization code flow with PKCE (S256), no secret"),
          scope: z.string().describe('The scopes to request, space-delimited'),
          resource: z
            .string()
            .describe('The audience the access token must name: send it as the resource indicator (RFC 8707) so that the provider issues a JWT for this API'),
          authorization_endpoint: z.string().nullable().describe("From the provider's discovery document; null while it cannot be read (fetch it yourself)"),
          token_endpoint: z.string().nullable().describe("From the provider's discovery document; null while it cannot be read"),
          end_session_endpoint: z.string().nullable().describe("From the provider's discovery document, when it has one (RP-initiated logout)"),
        }),
      )
      .describe('The providers the console can sign in with: every configured provider that has a console client (CONSOLE_CLIENT_ID)'),
    api_key_sign_in: z.boolean().describe('Whether the console offers sign-in with an API key (CONSOLE_API_KEY_SIGN_IN); the API takes keys either way'),
  })
  .meta({ id: 'SignInOptions' });

export type SignInOptionsResponse = z.infer<typeof signInOptionsResponse>;
