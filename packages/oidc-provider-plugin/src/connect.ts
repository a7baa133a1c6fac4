import {
  Dispatcher,
  type DispatcherNotice,
  FileOutbox,
  MemoryOutbox,
  type Outbox,
  type RequestObjectVerificationData,
  type RetryPolicy,
  type SourceCredentials,
  type TokenIssuedData,
  type TokenReference,
  tokenHash,
} from '@jartrail/agent-sdk';
import type Provider from 'oidc-provider';
import { ChainLinks, type GrantToken } from './chain-links';
import { consentOf, type OidcState } from './consent';
import { captureRequestObjects } from './request-capture';
import { plainRequestFacts, requestObjectFacts, type RequestFacts, storedObjectFacts } from './request-facts';

export interface JartrailPluginOptions {
  /** jartrail's base URL. */
  readonly url: string;
  /** The AS's source in jartrail (kind `authorization_server`): request-object verifications and consents. */
  readonly authorizationServer: SourceCredentials;
  /** Its token service's source (kind `token_service`): tokens issued and revoked. */
  readonly tokenService: SourceCredentials;
  /** A folder for the durable outbox (an fsync'ed NDJSON journal). Without it (or `outbox`), events wait in memory. */
  readonly outboxDirectory?: string;
  readonly outbox?: Outbox;
  /** Send each request object itself, so jartrail verifies it independently (default true). */
  readonly includeRequestObject?: boolean;
  /** How long the AS's storage keeps the links from pushed requests, interactions and codes to their chain (default 1 day). */
  readonly linkTtlSeconds?: number;
  /** How long it keeps a grant's token list, for reporting each token when the grant is revoked (default 30 days). */
  readonly grantTtlSeconds?: number;
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  readonly fetch?: typeof fetch;
  /** Delivery retries, events set aside, and anything the plugin could not report (it never throws into the AS). */
  readonly onNotice?: (notice: PluginNotice) => void;
}

export type PluginNotice = DispatcherNotice | { readonly kind: 'not_reported'; readonly event: string; readonly reason: string };

export interface JartrailPlugin {
  /** Events waiting for jartrail. */
  readonly waiting: number;
  /** Resolves once jartrail has everything reported so far (FlushTimeoutError after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void>;
  /** Stops delivering; with a durable outbox what waits is delivered after the next start. */
  close(): Promise<void>;
}

const AS = 'authorization_server';
const TOKENS = 'token_service';
const PAR_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/**
 * Errors the AS raises after it has validated the request (prompt=none and the like): the request object was
 * accepted; the authorization did not go on without the user.
 */
const AFTER_VALIDATION = new Set(['login_required', 'consent_required', 'interaction_required', 'account_selection_required', 'access_denied']);

interface OidcError {
  readonly error?: string;
}
interface Model {
  readonly jti: string;
  readonly uid?: string;
  readonly grantId?: string;
  readonly iat?: number;
  readonly exp?: number;
  readonly expiration?: number;
  readonly scope?: string;
  readonly aud?: string | string[];
  readonly rar?: { type: string }[];
  readonly jkt?: string;
  readonly 'x5t#S256'?: string;
  readonly request?: string;
}
interface Ctx {
  readonly method: string;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  readonly oidc: OidcState & {
    readonly route: string;
    readonly client?: { readonly clientId: string };
    readonly entities: Readonly<Record<string, Model | undefined>>;
    readonly params?: Readonly<Record<string, unknown>>;
    readonly body?: Readonly<Record<string, unknown>>;
  };
}

interface RequestState {
  verificationReported?: boolean;
  digest?: Promise<string | undefined>;
  endedInteractionDigest?: Promise<string | undefined>;
  readonly work: Promise<unknown>[];
}

/**
 * Wires an oidc-provider (v9) instance to jartrail with one call. It listens to the provider's events (README:
 * which event gives which record, and why), turns each into jartrail's event types and puts them in an outbox, from
 * which they are delivered in signed batches with retries. A listener never throws into the AS and never waits for
 * jartrail; the only thing a request waits for is the plugin's own links (a few keys in the AS's storage).
 */
export async function connectJartrail(provider: Provider, options: JartrailPluginOptions): Promise<JartrailPlugin> {
  const outbox = options.outbox ?? (options.outboxDirectory !== undefined ? await FileOutbox.open(options.outboxDirectory) : new MemoryOutbox());
  const notify = (notice: PluginNotice) => {
    try {
      options.onNotice?.(notice);
    } catch {
      // An observer that throws must not reach the AS.
    }
  };
  const dispatcher = new Dispatcher({
    url: options.url,
    sources: { [AS]: options.authorizationServer, [TOKENS]: options.tokenService },
    outbox,
    batchSize: options.batchSize,
    retry: options.retry,
    fetch: options.fetch,
    onNotice: notify,
  });
  const links = new ChainLinks(provider);
  const captured = captureRequestObjects(provider);
  const linkTtl = options.linkTtlSeconds ?? 86_400;
  const grantTtl = options.grantTtlSeconds ?? 30 * 86_400;
  const issuer = (provider as unknown as { issuer: string }).issuer;
  const states = new WeakMap<Ctx, RequestState>();
  const recentlyRevoked = new Map<string, number>();

  const stateOf = (ctx: Ctx): RequestState => {
    let state = states.get(ctx);
    if (!state) states.set(ctx, (state = { work: [] }));
    return state;
  };
  const notReported = (event: string, reason: string) => notify({ kind: 'not_reported', event, reason });
  /** Runs a listener's work in the background of this request, which waits for it before it answers (see use()). */
  const track = (ctx: Ctx | undefined, event: string, work: () => Promise<void>) => {
    const running = (async () => {
      try {
        await work();
      } catch (error) {
        notReported(event, error instanceof Error ? error.message : String(error));
      }
    })();
    if (ctx) stateOf(ctx).work.push(running);
  };
  const listeners: [string, (...args: unknown[]) => void][] = [];
  const listen = <A extends unknown[]>(event: string, listener: (...args: A) => void) => {
    const guarded = (...args: unknown[]) => {
      try {
        listener(...(args as A));
      } catch (error) {
        notReported(event, error instanceof Error ? error.message : String(error));
      }
    };
    listeners.push([event, guarded]);
    (provider as unknown as NodeJS.EventEmitter).on(event, guarded);
  };

  // Each request that touched a link waits for it before it answers: the next request (the code's redemption, the
  // resumed interaction) may come at once, to another instance, and must find it.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const state = states.get(ctx as unknown as Ctx);
      if (state) await Promise.allSettled(state.work);
    }
  });

  const rawParameters = (ctx: Ctx): Record<string, unknown> => ({ ...(ctx.method === 'POST' ? (ctx.oidc.body ?? {}) : ctx.query) });

  const parDigest = async (requestUri: string): Promise<string | undefined> => {
    const id = requestUri.slice(PAR_PREFIX.length);
    const linked = await links.digest(`par:${id}`);
    if (linked !== undefined) return linked;
    // Pushed before the plugin was wired: the stored object's digest (for a JWE, the inner one: an alias of its chain).
    const pushed = (await (provider as unknown as { PushedAuthorizationRequest: { find(id: string, options: object): Promise<Model | undefined> } }).PushedAuthorizationRequest.find(id, { ignoreExpiration: true }))?.request;
    return pushed === undefined ? undefined : requestObjectFacts(pushed, undefined, { includeRequestObject: false }).digest;
  };

  /** The chain of the authorization request this request belongs to. */
  const chainDigest = (ctx: Ctx): Promise<string | undefined> => {
    const state = stateOf(ctx);
    if (state.digest) return state.digest;
    const capture = captured(ctx.oidc);
    if (ctx.oidc.route === 'resume') {
      // The interaction being resumed: told by interaction.ended, or (when the AS refuses before that event, as for
      // a user who refused) still the Interaction entity of this request.
      const uid = ctx.oidc.entities.Interaction?.uid;
      state.digest = state.endedInteractionDigest ?? (uid === undefined ? Promise.resolve(undefined) : links.digest(`interaction:${uid}`));
    }
    else if (capture?.requestUri?.startsWith(PAR_PREFIX)) state.digest = parDigest(capture.requestUri);
    else if (capture?.received !== undefined) state.digest = Promise.resolve(requestObjectFacts(capture.received, undefined, { includeRequestObject: false }).digest);
    else state.digest = Promise.resolve(plainRequestFacts(rawParameters(ctx)).digest);
    return state.digest;
  };

  const facts = (ctx: Ctx): RequestFacts => {
    const capture = captured(ctx.oidc);
    return capture?.received !== undefined
      ? requestObjectFacts(capture.received, capture.decrypted, { includeRequestObject: options.includeRequestObject })
      : plainRequestFacts(rawParameters(ctx));
  };

  const reportVerification = (ctx: Ctx, verdict: 'accepted' | 'rejected', reason?: string) => {
    const state = stateOf(ctx);
    if (state.verificationReported) return;
    state.verificationReported = true;
    const clientId = ctx.oidc.client?.clientId;
    if (clientId === undefined) return notReported('request_object.verification', 'the request names no registered client');
    const verdictData = { verdict, ...(reason !== undefined && { reason }), client_id: clientId, issuer };
    const route = ctx.oidc.route;
    const capture = captured(ctx.oidc);
    if (route === 'pushed_authorization_request') {
      const requestFacts = facts(ctx);
      const requestUri = verdict === 'accepted' ? (ctx.body as { request_uri?: string } | undefined)?.request_uri : undefined;
      const pushed = ctx.oidc.entities.PushedAuthorizationRequest;
      track(ctx, 'pushed_authorization_request', async () => {
        if (requestUri !== undefined && pushed) await links.saveDigest(`par:${pushed.jti}`, requestFacts.digest, linkTtl);
        await enqueueVerification({ ...requestFacts, ...verdictData, delivery: 'par', ...(requestUri !== undefined && { request_uri: requestUri }) });
      });
      return;
    }
    if (capture?.requestUri !== undefined) {
      // The pushed object was reported when it was pushed: a use of its request_uri is reported only when the AS
      // refuses it (a replay, an expired or unknown request_uri), as one more use of that request_uri.
      if (verdict === 'accepted') return;
      const requestUri = capture.requestUri;
      if (!requestUri.startsWith(PAR_PREFIX)) return notReported('request_object.verification', 'a request_uri that is not a pushed one names no object the AS read');
      track(ctx, 'authorization.error', async () => {
        const digest = await chainDigest(ctx);
        if (digest === undefined) return notReported('request_object.verification', 'a request_uri this AS never issued names no request object');
        const stored = (await (provider as unknown as { PushedAuthorizationRequest: { find(id: string, options: object): Promise<Model | undefined> } }).PushedAuthorizationRequest.find(requestUri.slice(PAR_PREFIX.length), { ignoreExpiration: true }))?.request;
        // The AS refused the request_uri without reading the object again: no claim facts are reported for this use.
        const header = stored !== undefined ? storedObjectFacts(stored).header : { alg: 'unreadable' };
        await enqueueVerification({ digest, ...verdictData, delivery: 'par', request_uri: requestUri, header, claims: {} });
      });
      return;
    }
    const requestFacts = facts(ctx);
    track(ctx, 'authorization', () => enqueueVerification({ ...requestFacts, ...verdictData, delivery: 'value' }));
  };

  const enqueueVerification = async (data: RequestObjectVerificationData) => {
    await dispatcher.enqueue(AS, 'request_object.verification', data);
  };

  const reportConsent = (ctx: Ctx, denied: boolean) => {
    track(ctx, 'consent', async () => {
      const digest = await chainDigest(ctx);
      if (digest === undefined) return notReported('consent.decision', 'the interaction is not linked to a request object');
      const interaction = ctx.oidc.entities.Interaction as (Model & { accountId?: string; result?: { login?: { accountId?: string } } }) | undefined;
      const consent = consentOf(ctx.oidc, denied, interaction?.result?.login?.accountId ?? interaction?.accountId);
      if (consent === undefined) return notReported('consent.decision', 'no subject for the consent');
      await dispatcher.enqueue(AS, 'consent.decision', { digest, ...consent });
    });
  };

  listen('pushed_authorization_request.success', (ctx: Ctx) => reportVerification(ctx, 'accepted'));
  listen('pushed_authorization_request.error', (ctx: Ctx, error: OidcError) => {
    // An unauthenticated push is anyone's traffic, not a client's request.
    if (error.error === 'invalid_client' || ctx.oidc.client === undefined) return;
    reportVerification(ctx, 'rejected', error.error ?? 'server_error');
  });

  listen('interaction.ended', (ctx: Ctx) => {
    const ended = ctx.oidc.entities.Interaction?.uid;
    stateOf(ctx).endedInteractionDigest = ended === undefined ? Promise.resolve(undefined) : links.digest(`interaction:${ended}`);
  });
  listen('interaction.started', (ctx: Ctx) => {
    if (ctx.oidc.route === 'authorization') reportVerification(ctx, 'accepted');
    const uid = ctx.oidc.entities.Interaction?.uid;
    if (uid === undefined) return;
    track(ctx, 'interaction.started', async () => {
      const digest = await chainDigest(ctx);
      if (digest !== undefined) await links.saveDigest(`interaction:${uid}`, digest, linkTtl);
    });
  });
  listen('authorization.accepted', (ctx: Ctx) => {
    if (ctx.oidc.route === 'authorization') reportVerification(ctx, 'accepted');
    reportConsent(ctx, false);
  });
  listen('authorization.error', (ctx: Ctx, error: OidcError) => {
    if (ctx.oidc === undefined) return;
    const code = error.error ?? 'server_error';
    if (ctx.oidc.route === 'authorization') reportVerification(ctx, AFTER_VALIDATION.has(code) ? 'accepted' : 'rejected', AFTER_VALIDATION.has(code) ? undefined : code);
    else if (ctx.oidc.route === 'resume' && code === 'access_denied') reportConsent(ctx, true);
  });
  listen('authorization.success', (ctx: Ctx) => {
    const code = ctx.oidc.entities.AuthorizationCode;
    if (code === undefined) return;
    track(ctx, 'authorization.success', async () => {
      const digest = await chainDigest(ctx);
      if (digest === undefined) return notReported('token.issued', 'the authorization code is not linked to a request object');
      await links.saveDigest(`code:${code.jti}`, digest, linkTtl);
    });
  });

  listen('grant.success', (ctx: Ctx) => {
    const params = ctx.oidc.params ?? {};
    const grantType = typeof params.grant_type === 'string' ? params.grant_type : undefined;
    const body = (ctx.body ?? {}) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    const { AccessToken: access, RefreshToken: refresh, RotatedRefreshToken: rotated, AuthorizationCode: code } = ctx.oidc.entities;
    const now = Math.floor(Date.now() / 1000);
    const issued: { data: Omit<TokenIssuedData, 'digest' | 'parent'>; grantToken: GrantToken }[] = [];
    const describe = (model: Model, tokenType: 'access' | 'refresh', value: string, expiresIn: number | undefined) => {
      const iat = model.iat ?? now;
      const exp = model.exp ?? iat + (expiresIn ?? model.expiration ?? 0);
      const hash = tokenHash(value);
      const data = {
        token_type: tokenType,
        jti: model.jti,
        token_hash: hash,
        ...(typeof model.scope === 'string' && model.scope !== '' && { scope: model.scope }),
        ...(model.aud !== undefined && { aud: model.aud }),
        ...(Array.isArray(model.rar) && model.rar.length > 0 && { authorization_details: model.rar }),
        iat,
        exp,
        ...(model.jkt !== undefined ? { cnf: { jkt: model.jkt } } : model['x5t#S256'] !== undefined ? { cnf: { 'x5t#S256': model['x5t#S256'] } } : {}),
        ...(grantType !== undefined && { grant_type: grantType }),
      };
      issued.push({ data, grantToken: { jti: model.jti, token_hash: hash } });
    };
    if (access && typeof body.access_token === 'string') describe(access, 'access', body.access_token, typeof body.expires_in === 'number' ? body.expires_in : undefined);
    // A refresh grant without rotation hands back the same refresh token: nothing new was issued.
    if (refresh && typeof body.refresh_token === 'string' && body.refresh_token !== params.refresh_token) describe(refresh, 'refresh', body.refresh_token, undefined);
    if (issued.length === 0) return;
    let origin: () => Promise<{ digest: string } | { parent: TokenReference } | undefined>;
    if (grantType === 'authorization_code' && code) origin = async () => {
      const digest = await links.digest(`code:${code.jti}`);
      return digest === undefined ? undefined : { digest };
    };
    else if (grantType === 'refresh_token' && typeof params.refresh_token === 'string') {
      const parent: TokenReference = { jti: (rotated ?? refresh)!.jti, token_hash: tokenHash(params.refresh_token) };
      origin = () => Promise.resolve({ parent });
    } else return notReported('token.issued', `tokens of the ${grantType ?? 'unknown'} grant come from no request object`);
    const grantId = (access ?? refresh)?.grantId;
    track(ctx, 'grant.success', async () => {
      const from = await origin();
      if (from === undefined) return notReported('token.issued', 'the authorization code is not linked to a request object');
      for (const { data } of issued) await dispatcher.enqueue(TOKENS, 'token.issued', { ...data, ...from } as TokenIssuedData);
      if (grantId !== undefined) await links.addGrantTokens(grantId, issued.map((token) => token.grantToken), grantTtl);
    });
  });

  const revoke = (token: { jti: string; token_hash?: string }, reason: string) => {
    const now = Date.now();
    for (const [jti, at] of recentlyRevoked) if (now - at > 300_000) recentlyRevoked.delete(jti);
    if (recentlyRevoked.has(token.jti)) return;
    recentlyRevoked.set(token.jti, now);
    track(undefined, 'token.revoked', async () => {
      await dispatcher.enqueue(TOKENS, 'token.revoked', { ...token, revoked_at: new Date(now).toISOString(), reason });
    });
  };
  listen('access_token.destroyed', (token: Model) => revoke({ jti: token.jti }, 'revoked'));
  listen('refresh_token.destroyed', (token: Model) => revoke({ jti: token.jti }, 'revoked'));
  listen('grant.revoked', (ctx: Ctx, grantId: string) => {
    track(ctx, 'grant.revoked', async () => {
      for (const token of await links.grantTokens(grantId)) revoke(token, 'grant_revoked');
    });
  });

  return {
    get waiting() {
      return dispatcher.waiting;
    },
    flush: (timeoutMs) => dispatcher.flush(timeoutMs),
    close: async () => {
      // From here on the AS reports nothing; what the outbox holds waits for the next start.
      for (const [event, listener] of listeners) (provider as unknown as NodeJS.EventEmitter).off(event, listener);
      await dispatcher.close();
    },
  };
}
