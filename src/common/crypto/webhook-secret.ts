/**
 * A Standard Webhooks secret (https://www.standardwebhooks.com): `whsec_` and the base64 of the HMAC key. Sources
 * are given one, ingest verifies with it, the CLI signs with it.
 */
export const SECRET_PREFIX = 'whsec_';

/** The HMAC key of a `whsec_` secret: the base64 after the prefix (a bare base64 secret is accepted too). */
export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}
