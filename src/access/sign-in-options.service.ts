import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AccessTokensService } from './access-tokens.service';
import type { SignInOptionsResponse } from './dto/sign-in-options.dto';

/** What a browser needs to start the authorization code flow with PKCE against the configured providers. */
@Injectable()
export class SignInOptionsService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async get(): Promise<SignInOptionsResponse> {
    const providers = this.accessTokens.configured.filter((provider) => provider.consoleClientId !== undefined);
    return {
      identity_providers: await Promise.all(
        providers.map(async (provider) => {
          // Cached after the first read, and tried again at most once per JWKS_REFETCH_MIN_INTERVAL_SECONDS after a failure.
          const endpoints = await this.accessTokens.endpointsOf(provider.issuer);
          return {
            issuer: provider.issuer,
            client_id: provider.consoleClientId!,
            scope: provider.consoleScopes,
            resource: provider.audience,
            authorization_endpoint: endpoints?.authorizationEndpoint ?? null,
            token_endpoint: endpoints?.tokenEndpoint ?? null,
            end_session_endpoint: endpoints?.endSessionEndpoint ?? null,
          };
        }),
      ),
      api_key_sign_in: this.config.console.apiKeySignIn,
    };
  }
}
