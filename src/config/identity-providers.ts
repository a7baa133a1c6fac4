import { z } from 'zod';
import { AUDITOR_SCOPES, type AuditorScope } from './auditor-scopes';

/**
 * The identity providers whose OAuth 2.0 access tokens (RFC 9068 JWTs) the API accepts from auditors. One provider
 * comes from the IDP_* variables; several from IDENTITY_PROVIDERS, a JSON array of the same settings in snake_case.
 */
export interface IdentityProviderConfig {
  /** The `iss` of its tokens, exactly (and of its discovery document). */
  readonly issuer: string;
  /** The `aud` a token must name to be accepted here: this API's identifier at the provider (its resource indicator). */
  readonly audience: string;
  /** Where its signing keys are; absent: `jwks_uri` of `{issuer}/.well-known/openid-configuration`. */
  readonly jwksUri: string | undefined;
  /** The JWS algorithms its tokens may be signed with: pinned, asymmetric only. */
  readonly algorithms: readonly string[];
  /** Accepted `typ` header values, normalised (lower case, no `application/`): `at+jwt`, and `jwt` only when enabled. */
  readonly tokenTypes: readonly ('at+jwt' | 'jwt')[];
  /** The claim that carries the scopes (or roles): a top-level claim name, else a dotted path (`realm_access.roles`). */
  readonly scopeClaim: string;
  /** Claim values to jartrail scopes; absent: the claim's values are taken as scopes (audit:read ...), others ignored. */
  readonly roleMap: ReadonlyMap<string, readonly AuditorScope[]> | undefined;
  /** Leeway for exp, nbf and iat against this server's clock. */
  readonly clockToleranceSeconds: number;
  /** The console's public client at this provider (code flow with PKCE); absent: the console offers no sign-in with it. */
  readonly consoleClientId: string | undefined;
  /** The scopes the console asks for at sign-in. */
  readonly consoleScopes: string;
}

/** RFC 7518, RFC 8037 and RFC 9864: the asymmetric signature algorithms jose verifies. */
export const IDP_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const isLoopbackHost = (hostname: string) => LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/** Why a provider URL is refused, or undefined: https, or plain http to a loopback host when JWKS_ALLOW_LOOPBACK_HTTP allows it. */
function providerUrlProblem(value: string, allowLoopbackHttp: boolean): string | undefined {
  if (!URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(allowLoopbackHttp && url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return allowLoopbackHttp ? 'must be https (plain http only for a loopback host)' : 'must be https (JWKS_ALLOW_LOOPBACK_HTTP=true allows http for a loopback host)';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  return undefined;
}

const providerUrl = (allowLoopbackHttp: boolean) =>
  z
    .string()
    .max(2048)
    .superRefine((value, context) => {
      const problem = providerUrlProblem(value, allowLoopbackHttp);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    });

const algorithm = z.string().refine((alg) => (IDP_ALGORITHMS as readonly string[]).includes(alg), {
  message: `must be one of ${IDP_ALGORITHMS.join(', ')} (asymmetric only: never none, never HS256 and the like, whose key the provider cannot publish)`,
});

const tokenType = z
  .string()
  .transform((typ) => typ.toLowerCase().replace(/^application\//, ''))
  .pipe(z.enum(['at+jwt', 'jwt'], { message: 'must be at+jwt (RFC 9068) or JWT' }));

const roleMap = z
  .record(z.string().min(1).max(1024), z.array(z.enum(AUDITOR_SCOPES)).min(1), { message: `must be a JSON object of claim values to arrays of scopes (${AUDITOR_SCOPES.join(', ')})` })
  .refine((map) => Object.keys(map).length > 0, 'must map at least one value');

/** One provider as IDENTITY_PROVIDERS holds it, and as the IDP_* variables are gathered into. */
const providerSchema = (allowLoopbackHttp: boolean) =>
  z
    .strictObject({
      issuer: providerUrl(allowLoopbackHttp),
      audience: z.string().min(1).max(2048),
      jwks_uri: providerUrl(allowLoopbackHttp).optional(),
      algorithms: z.array(algorithm).min(1).default(['RS256']),
      token_types: z.array(tokenType).min(1).default(['at+jwt']),
      scope_claim: z.string().min(1).max(256).default('scope'),
      role_map: roleMap.optional(),
      clock_tolerance_seconds: z.number().int().min(0).max(300).default(DEFAULT_CLOCK_TOLERANCE_SECONDS),
      console_client_id: z.string().min(1).max(256).optional(),
      console_scopes: z.string().min(1).max(1024).optional(),
    })
    .refine((provider) => !(provider.token_types.includes('jwt') && provider.console_client_id === provider.audience), {
      // With plain JWT accepted, an ID token issued to the console (aud = its client_id) would pass for an access token.
      message: 'must differ from console_client_id when token_types accepts JWT: an ID token for the console would pass as an access token',
      path: ['audience'],
    });

type ProviderInput = z.input<ReturnType<typeof providerSchema>>;

/** The variables that configure one provider, as loadConfig hands them over (already trimmed of empty values). */
export interface IdentityProviderVariables {
  readonly IDENTITY_PROVIDERS?: string;
  readonly IDP_ISSUER?: string;
  readonly IDP_AUDIENCE?: string;
  readonly IDP_JWKS_URI?: string;
  readonly IDP_ALGORITHMS?: string;
  readonly IDP_TOKEN_TYPES?: string;
  readonly IDP_SCOPE_CLAIM?: string;
  readonly IDP_ROLE_MAP?: string;
  readonly IDP_CLOCK_TOLERANCE_SECONDS?: string;
  readonly CONSOLE_CLIENT_ID?: string;
  readonly CONSOLE_SCOPES?: string;
}

const list = (value: string | undefined) => value?.split(',').map((item) => item.trim()).filter((item) => item !== '');

function parseJson(name: string, text: string, problems: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch {
    problems.push(`${name}: must be JSON`);
    return undefined;
  }
}

/** The configured providers, or the problems that stop the boot (each naming its variable and field). */
export function identityProvidersOf(env: IdentityProviderVariables, allowLoopbackHttp: boolean): { providers: IdentityProviderConfig[]; problems: string[] } {
  const problems: string[] = [];
  const single = Object.entries(env).filter(([name, value]) => name !== 'IDENTITY_PROVIDERS' && value !== undefined).map(([name]) => name);
  let inputs: { variable: (field: string) => string; input: unknown }[] = [];
  if (env.IDENTITY_PROVIDERS !== undefined) {
    if (single.length > 0) problems.push(`IDENTITY_PROVIDERS: set either IDENTITY_PROVIDERS or the IDP_* and CONSOLE_* variables, not both (${single.join(', ')} set)`);
    const parsed = parseJson('IDENTITY_PROVIDERS', env.IDENTITY_PROVIDERS, problems);
    if (parsed !== undefined && !Array.isArray(parsed)) problems.push('IDENTITY_PROVIDERS: must be a JSON array of providers');
    else if (Array.isArray(parsed)) inputs = parsed.map((input, index) => ({ variable: (field) => `IDENTITY_PROVIDERS[${index}]${field ? `.${field}` : ''}`, input }));
  } else if (env.IDP_ISSUER !== undefined || single.length > 0) {
    if (env.IDP_ISSUER === undefined) problems.push(`IDP_ISSUER: required by ${single.join(', ')}`);
    if (env.IDP_AUDIENCE === undefined) problems.push('IDP_AUDIENCE: required with IDP_ISSUER (the aud this API has at the identity provider)');
    const fieldVariables: Record<string, string> = {
      issuer: 'IDP_ISSUER',
      audience: 'IDP_AUDIENCE',
      jwks_uri: 'IDP_JWKS_URI',
      algorithms: 'IDP_ALGORITHMS',
      token_types: 'IDP_TOKEN_TYPES',
      scope_claim: 'IDP_SCOPE_CLAIM',
      role_map: 'IDP_ROLE_MAP',
      clock_tolerance_seconds: 'IDP_CLOCK_TOLERANCE_SECONDS',
      console_client_id: 'CONSOLE_CLIENT_ID',
      console_scopes: 'CONSOLE_SCOPES',
    };
    const tolerance = env.IDP_CLOCK_TOLERANCE_SECONDS;
    const input: Partial<Record<keyof ProviderInput, unknown>> = {
      issuer: env.IDP_ISSUER,
      audience: env.IDP_AUDIENCE,
      jwks_uri: env.IDP_JWKS_URI,
      algorithms: list(env.IDP_ALGORITHMS),
      token_types: list(env.IDP_TOKEN_TYPES),
      scope_claim: env.IDP_SCOPE_CLAIM,
      role_map: env.IDP_ROLE_MAP === undefined ? undefined : parseJson('IDP_ROLE_MAP', env.IDP_ROLE_MAP, problems),
      clock_tolerance_seconds: tolerance === undefined ? undefined : /^\d+$/.test(tolerance) ? Number(tolerance) : tolerance,
      console_client_id: env.CONSOLE_CLIENT_ID,
      console_scopes: env.CONSOLE_SCOPES,
    };
    if (env.IDP_ISSUER !== undefined && env.IDP_AUDIENCE !== undefined) {
      inputs = [{ variable: (field) => fieldVariables[field.split('.')[0]!] ?? `IDP_${field.toUpperCase()}`, input: Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) }];
    }
  }

  const schema = providerSchema(allowLoopbackHttp);
  const providers: IdentityProviderConfig[] = [];
  for (const { variable, input } of inputs) {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const [field, ...rest] = issue.path.map(String);
        problems.push(`${variable(field ?? '')}${rest.length > 0 ? ` (${rest.join('.')})` : ''}: ${issue.message}`);
      }
      continue;
    }
    const provider = parsed.data;
    const tokenTypes = [...new Set(provider.token_types)];
    providers.push({
      issuer: provider.issuer,
      audience: provider.audience,
      jwksUri: provider.jwks_uri,
      algorithms: [...new Set(provider.algorithms)],
      tokenTypes,
      scopeClaim: provider.scope_claim,
      roleMap: provider.role_map === undefined ? undefined : new Map(Object.entries(provider.role_map)),
      clockToleranceSeconds: provider.clock_tolerance_seconds,
      consoleClientId: provider.console_client_id,
      consoleScopes: provider.console_scopes ?? defaultConsoleScopes(provider.scope_claim, provider.role_map !== undefined),
    });
  }
  const issuers = providers.map((provider) => provider.issuer);
  for (const duplicate of new Set(issuers.filter((issuer, index) => issuers.indexOf(issuer) !== index))) {
    problems.push(`IDENTITY_PROVIDERS: issuer ${duplicate} is configured twice (a token is matched to its provider by iss)`);
  }
  return { providers, problems };
}

/**
 * What the console asks for: `openid`, and the jartrail scopes themselves when the provider puts requested scopes in
 * `scope` or `scp`; only `openid` when scopes come from mapped roles (the provider grants those on its own).
 */
function defaultConsoleScopes(scopeClaim: string, mapped: boolean): string {
  return mapped || !['scope', 'scp'].includes(scopeClaim) ? 'openid' : ['openid', ...AUDITOR_SCOPES].join(' ');
}

/** A bearer value with the shape of a JWS or JWE compact serialization: base64url parts joined by dots. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){2}$|^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){4}$/;
