import { compactVerify } from 'jose';
import { importPublicKey, isHmacAlgorithm, type PublicKeySet, selectKeys, ASYMMETRIC_JWS_ALGORITHMS } from '../common/jose/key-set';
import { decodeJsonPart, kidProblem, readCompactParts } from '../common/jose/compact-parts';
import { EVENT_ID } from '../evidence/event-id';

/** The error codes of RFC 8935 section 2.3: exactly these, nothing else, in `{"err", "description"}`. */
export const SET_ERROR_CODES = ['invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience', 'authentication_failed', 'access_denied'] as const;
export type SetErrorCode = (typeof SET_ERROR_CODES)[number];

/** A Security Event Token refused, with its RFC 8935 error code; nothing was written. */
export class SetRejection extends Error {
  constructor(
    readonly err: SetErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'SetRejection';
  }
}

/** Each event type's URN: the one member of a SET's `events` claim (RFC 8417 section 2.2). */
export const SET_EVENT_URN_PREFIX = 'urn:jartrail:event:';
export const setEventUrnOf = (type: string) => `${SET_EVENT_URN_PREFIX}${type}`;

/** The `typ` RFC 8417 section 2.3 asks SETs to carry; the full media type is accepted too. */
const SET_TYPES = new Set(['secevent+jwt', 'application/secevent+jwt']);

type Json = Record<string, unknown>;

/** The sender a SET names in `iss`, and how to get its keys (a jwks_uri may be fetched). */
export interface SetTransmitter {
  readonly keys: ((kid: string | undefined) => Promise<PublicKeySet>) | undefined;
}

export interface VerifiedSet {
  readonly iss: string;
  readonly jti: string;
  readonly iat: number;
  /** The event type the one URN of `events` names, and that event's payload: the envelope's `type` and `data`. */
  readonly type: string;
  readonly data: unknown;
}

export interface SetVerificationOptions {
  readonly audience: string;
  readonly knownTypes: readonly string[];
  readonly transmitter: (iss: string) => Promise<SetTransmitter | undefined>;
}

/**
 * Checks a SET as RFC 8417 and RFC 8935 ask, before anything is parsed as an event: compact JWS, `typ`, an
 * asymmetric signature under the registered key of the source `iss` names, `aud` this service, `jti` and `iat`,
 * and exactly one event keyed by a known URN. Each failure carries its RFC 8935 error code.
 */
export async function verifySecurityEventToken(token: string, options: SetVerificationOptions): Promise<VerifiedSet> {
  const compact = readCompactParts(token);
  if (!compact.ok || compact.kind !== 'jws') {
    throw new SetRejection('invalid_request', `the body is not a compact JWS (a SET is a signed JWT)${compact.ok ? '' : `: ${compact.problem}`}`);
  }
  const [headerPart, payloadPart] = compact.parts;
  const header = decodeJsonPart(headerPart);
  const claims = decodeJsonPart(payloadPart);
  if (!header || !claims) throw new SetRejection('invalid_request', 'the JWS header or payload is not a JSON object');
  if (typeof header.typ !== 'string' || !SET_TYPES.has(header.typ.toLowerCase())) throw new SetRejection('invalid_request', 'typ must be secevent+jwt (RFC 8417 section 2.3)');
  const badKid = kidProblem(header);
  if (badKid) throw new SetRejection('invalid_request', badKid);
  if (header.crit !== undefined) throw new SetRejection('invalid_request', 'crit names extensions jartrail does not understand (RFC 7515 section 4.1.11)');

  const alg = header.alg;
  if (typeof alg !== 'string' || alg === 'none') throw new SetRejection('authentication_failed', 'the SET is not signed (alg none); jartrail accepts signed SETs only');
  if (isHmacAlgorithm(alg) || !ASYMMETRIC_JWS_ALGORITHMS.includes(alg)) {
    throw new SetRejection('authentication_failed', `alg ${alg} cannot authenticate a source; sign with an asymmetric key (${ASYMMETRIC_JWS_ALGORITHMS.join(', ')})`);
  }

  if (typeof claims.iss !== 'string') throw new SetRejection('invalid_issuer', 'iss is missing');
  const transmitter = await options.transmitter(claims.iss);
  if (!transmitter) throw new SetRejection('invalid_issuer', `no source has the id ${claims.iss}`);
  if (!transmitter.keys) throw new SetRejection('access_denied', 'the source has no registered SET keys (set_jwks or set_jwks_uri)');
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const selection = selectKeys(await transmitter.keys(kid), { alg, kid });
  if (!selection.ok) throw new SetRejection('invalid_key', kid === undefined ? `no registered key of the source suits ${alg}` : `the source has no registered ${alg} key with kid ${kid}`);
  let verified = false;
  for (const jwk of selection.keys) {
    try {
      await compactVerify(token, await importPublicKey(jwk, alg), { algorithms: [alg] });
      verified = true;
      break;
    } catch {
      // The next registered key may be the one.
    }
  }
  if (!verified) throw new SetRejection('invalid_key', 'the signature does not verify under the registered keys of the source');

  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.includes(options.audience)) throw new SetRejection('invalid_audience', `aud must name this service (${options.audience})`);
  if (typeof claims.jti !== 'string' || !EVENT_ID.test(claims.jti)) throw new SetRejection('invalid_request', 'jti (the event id) must be 1 to 256 printable characters without dots');
  if (typeof claims.iat !== 'number' || !Number.isInteger(claims.iat) || claims.iat < 0) throw new SetRejection('invalid_request', 'iat must be a NumericDate');
  const events = claims.events;
  if (typeof events !== 'object' || events === null || Array.isArray(events)) throw new SetRejection('invalid_request', 'events must be an object');
  const urns = Object.keys(events);
  if (urns.length !== 1) throw new SetRejection('invalid_request', `a SET carries exactly one event; this one has ${urns.length}`);
  const urn = urns[0]!;
  const type = urn.startsWith(SET_EVENT_URN_PREFIX) ? urn.slice(SET_EVENT_URN_PREFIX.length) : undefined;
  if (type === undefined || !options.knownTypes.includes(type)) {
    throw new SetRejection('invalid_request', `unknown event URN ${urn}; the URNs are ${options.knownTypes.map(setEventUrnOf).join(', ')}`);
  }
  return { iss: claims.iss, jti: claims.jti, iat: claims.iat, type, data: (events as Json)[urn] };
}
