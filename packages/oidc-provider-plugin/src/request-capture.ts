import type Provider from 'oidc-provider';

/** The `request` parameter of one request, as received and, for a JWE, as the AS decrypted it. */
export interface CapturedRequest {
  received?: string;
  decrypted?: string;
  /** The `request_uri` and `client_id` parameters as received (the AS clears both once it has read the object). */
  requestUri?: string;
  clientId?: string;
}

/**
 * Sees the request object exactly as the AS received it. oidc-provider replaces the `request` parameter while it
 * processes it (with the JWS it decrypted from a JWE, then with nothing), and no event carries the original. So
 * `ctx.oidc.params` gets an accessor on this provider's own OIDCContext class: when the AS assigns a params object,
 * its `request` member is watched; the first string is what arrived, a later different string is the JWS the AS
 * decrypted. Nothing about the AS's processing changes: reads and writes go through to the same value.
 */
export function captureRequestObjects(provider: Provider): (oidc: object) => CapturedRequest | undefined {
  const captured = new WeakMap<object, CapturedRequest>();
  const paramsOf = new WeakMap<object, unknown>();
  const prototype = (provider as unknown as { OIDCContext: { prototype: object } }).OIDCContext.prototype;
  Object.defineProperty(prototype, 'params', {
    configurable: true,
    enumerable: false,
    get(this: object) {
      return paramsOf.get(this);
    },
    set(this: object, params: unknown) {
      paramsOf.set(this, params);
      if (typeof params !== 'object' || params === null || !Object.hasOwn(params, 'request')) return;
      const { request, request_uri: requestUri, client_id: clientId } = params as { request?: unknown; request_uri?: unknown; client_id?: unknown };
      let value = request;
      if (captured.has(this)) return;
      const record: CapturedRequest = {
        ...(typeof request === 'string' && typeof requestUri !== 'string' && { received: request }),
        ...(typeof requestUri === 'string' && { requestUri }),
        ...(typeof clientId === 'string' && { clientId }),
      };
      captured.set(this, record);
      Object.defineProperty(params, 'request', {
        configurable: true,
        enumerable: true,
        get: () => value,
        set: (next: unknown) => {
          // A pushed request loaded by its request_uri is not a received object: only a value decrypted from
          // what arrived in this request is recorded.
          if (typeof next === 'string' && record.received !== undefined && next !== record.received && record.decrypted === undefined) record.decrypted = next;
          value = next;
        },
      });
    },
  });
  return (oidc) => captured.get(oidc);
}
