import { createHash, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { VerificationWorker } from '../../src/request-objects/verification.worker';
import type { TestApp } from './app';
import type { Envelope } from './events';

export type SigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface ClientKey {
  readonly alg: SigningAlg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export async function aClientKey(alg: SigningAlg, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export const AS_ISSUER = 'https://as.example.com';

const seconds = () => Math.floor(Date.now() / 1000);
const hash = (value: string) => createHash('sha256').update(value).digest('base64url');

export function requestClaims(clientId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: clientId,
    client_id: clientId,
    aud: AS_ISSUER,
    response_type: 'code',
    redirect_uri: 'https://agent.example.com/cb',
    scope: 'openid mail.send',
    state: `state-${randomUUID()}`,
    nonce: `nonce-${randomUUID()}`,
    jti: `ro-${randomUUID()}`,
    iat: seconds(),
    nbf: seconds(),
    exp: seconds() + 300,
    ...overrides,
  };
}

export function signRequestObject(key: ClientKey, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'oauth-authz-req+jwt' }).sign(key.privateKey);
}

/** The verification event an honest AS sends for a request object it verified: its own claim facts included. */
export function verificationOf(requestObject: string, claims: Record<string, unknown>, header: { alg: string; kid?: string }, data: Record<string, unknown> = {}): Envelope {
  const { client_id: clientId, state, nonce, ...facts } = claims;
  return {
    type: 'request_object.verification',
    timestamp: new Date().toISOString(),
    data: {
      digest: createHash('sha256').update(requestObject, 'ascii').digest('base64url'),
      verdict: 'accepted',
      client_id: clientId,
      issuer: AS_ISSUER,
      delivery: 'value',
      header: { ...header, typ: 'oauth-authz-req+jwt' },
      claims: { ...facts, state_hash: hash(String(state)), nonce_hash: hash(String(nonce)) },
      request_object: requestObject,
      ...data,
    },
  };
}

/** Registers a client through the admin API. */
export function registerClient(app: TestApp, body: Record<string, unknown>) {
  return app.http().post('/v1/clients').set('authorization', `Bearer ${app.adminKey}`).send(body);
}

/** Runs the verification worker of this app until nothing is due. */
export async function drainVerifications(app: TestApp): Promise<void> {
  await app.app.get(VerificationWorker).drain();
}

/** Gives jartrail a private key of the AS (through the admin API), with a fresh kid; the supertest answer as it came. */
export async function addDecryptionKey(app: TestApp, alg: string, privateKey: CryptoKey, kid = `as-enc-${randomUUID().slice(0, 8)}`) {
  const answer = await app
    .http()
    .post('/v1/decryption-keys')
    .set('authorization', `Bearer ${app.adminKey}`)
    .send({ issuer: AS_ISSUER, alg, jwk: { ...(await exportJWK(privateKey)), kid } });
  return { answer, kid };
}
