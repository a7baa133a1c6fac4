import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './api-types';

/**
 * A typed client of the service's API: paths, parameters, bodies and answers (problem details included) checked
 * by the compiler against api-types.ts, which openapi-typescript generates from docs/openapi.json (`npm run
 * openapi`; test/operations/typed-client.spec.ts fails when the two differ).
 */
export type JartrailClient = Client<paths>;
export type { components, operations, paths };
export type Problem = components['schemas']['Problem'];

export interface JartrailClientOptions extends Pick<ClientOptions, 'fetch' | 'headers'> {
  /** The service's URL, e.g. http://localhost:3000. */
  readonly baseUrl: string;
  /** An auditor API key, sent as a bearer token on every request. */
  readonly apiKey?: string;
  /** Or an access token of the identity provider (a JWT), sent the same way. */
  readonly accessToken?: string;
}

export function createJartrailClient({ baseUrl, apiKey, accessToken, headers, fetch }: JartrailClientOptions): JartrailClient {
  const credential = accessToken ?? apiKey;
  return createClient<paths>({
    baseUrl,
    fetch,
    headers: { ...(credential !== undefined && { authorization: `Bearer ${credential}` }), ...headers },
  });
}
