import { z } from 'zod';
import { digestProblem, type Digest, type TokenHash } from '../crypto/digest';

/**
 * Zod building blocks shared by the event schemas: the value shapes of OAuth and of the spec's digests.
 * Each failure carries a stable `params.code`, which the problem documents expose as the field error code.
 */
const DIGEST_PROBLEM_MESSAGES = {
  length: ['digest_length', 'must be exactly 43 characters: base64url(SHA-256) without padding'],
  alphabet: ['digest_alphabet', 'must use only the base64url alphabet (A-Z a-z 0-9 - _) without padding'],
  non_canonical: ['digest_non_canonical', 'is not the canonical base64url encoding of 32 bytes'],
} as const;

/** What digestProblem accepts, for the JSON Schema: 43 base64url characters, the last with its two unused bits zero. */
const CANONICAL_SHA256_BASE64URL = '^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$';

function sha256Base64Url<Brand extends Digest | TokenHash>() {
  return z
    .string()
    .check((context) => {
      const problem = digestProblem(context.value);
      if (problem === undefined) return;
      const [code, message] = DIGEST_PROBLEM_MESSAGES[problem];
      context.issues.push({ code: 'custom', message, input: context.value, params: { code } });
    })
    .meta({ pattern: CANONICAL_SHA256_BASE64URL, description: 'base64url(SHA-256(...)) without padding: 43 characters' }) as unknown as z.ZodType<Brand, string>;
}

export const digest = sha256Base64Url<Digest>();
export const tokenHash = sha256Base64Url<TokenHash>();
/** Hashes of `state` and `nonce`: the raw values are never accepted. */
export const valueHash = sha256Base64Url<Digest>();

/** A string that must match a pattern, failing with its own field error code. */
export function matching(schema: z.ZodString, pattern: RegExp, code: string, message: string) {
  // The pattern goes into the JSON Schema too: a refinement alone is invisible there.
  return schema.refine((value) => pattern.test(value), { message, params: { code } }).meta({ pattern: pattern.source });
}

export const identifier = z.string().min(1).max(256);
export const shortText = z.string().max(1024);
export const uri = z
  .string()
  .max(2048)
  .refine((value) => URL.canParse(value), { message: 'must be an absolute URI', params: { code: 'uri' } })
  .meta({ format: 'uri' });

/** JWT NumericDate: seconds since the epoch (RFC 7519 section 2). */
export const numericDate = z.int().min(0).max(253402300799);
/** RFC 3339 date-time with an explicit offset or Z. */
export const dateTime = z.iso.datetime({ offset: true });

/** A space-delimited scope string (RFC 6749 section 3.3). */
export const scope = matching(
  z.string().max(4096),
  /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/,
  'scope',
  'must be space-delimited scope tokens (RFC 6749 section 3.3)',
);

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1).max(32)]);

export const audience = oneOrMany(z.string().min(1).max(2048));
/** Resource indicators (RFC 8707). */
export const resource = oneOrMany(uri);

/** Authorization details (RFC 9396): objects with a `type`, any further members are the type's own. */
export const authorizationDetails = z.array(z.looseObject({ type: z.string().min(1).max(256) })).min(1).max(64);

/** Names a token by its `jti` or by `base64url(SHA-256(token))`, or both. */
export const tokenReference = z
  .strictObject({ jti: identifier.optional(), token_hash: tokenHash.optional() })
  .refine((value) => value.jti !== undefined || value.token_hash !== undefined, {
    message: 'must name the token by jti or token_hash',
    params: { code: 'token_reference' },
  })
  .meta({ anyOf: [{ required: ['jti'] }, { required: ['token_hash'] }] });

export type TokenReference = z.infer<typeof tokenReference>;
