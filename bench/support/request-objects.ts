import { CompactEncrypt, type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { type ChainDraft, completeChain, draftChain, type GeneratedChain, type ProducedRequestObject, sha256Base64Url } from './chains';
import type { HttpClient } from './load';

/**
 * Request objects the service's verification worker really verifies, as test/support/request-objects.ts makes them
 * for the tests: each client of the generated chains is registered (POST /v1/clients) with a public key of its own
 * and its algorithm pinned, each AS (issuer) has an RSA-OAEP-256 decryption key registered (POST /v1/decryption-keys),
 * and every request object is signed with the client's private key (encrypted to the AS for the chains drawn as
 * encrypted). The verification event reports the real header and claim facts, so an honest verdict is `verified`.
 */

const ALGS = ['PS256', 'ES256', 'RS256', 'EdDSA'] as const;
const ENCRYPTION = { alg: 'RSA-OAEP-256', enc: 'A256GCM' } as const;

interface ClientKey {
  readonly alg: (typeof ALGS)[number];
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

interface IssuerKey {
  readonly kid: string;
  readonly publicKey: CryptoKey;
  readonly privateJwk: JWK;
}

export class VerifiableRequestObjects {
  private readonly clients = new Map<string, Promise<ClientKey>>();
  private readonly issuers = new Map<string, Promise<IssuerKey>>();

  /** `http` and `adminKey` of the service whose database the clients and keys are registered in. */
  constructor(
    private http: HttpClient,
    private adminKey: string,
  ) {}

  /** Registers what is still needed through another service process on the same database (bench:ledger's runs). */
  useService(http: HttpClient, adminKey: string): void {
    this.http = http;
    this.adminKey = adminKey;
  }

  /** Chain `index` of run `tag`, with a request object the service can verify. */
  async chain(tag: string, index: number, startMs: number): Promise<GeneratedChain> {
    const draft = draftChain(tag, index, startMs);
    return completeChain(draft, await this.produce(draft));
  }

  private async produce(draft: ChainDraft): Promise<ProducedRequestObject> {
    const client = await this.clientKey(draft);
    const header = { alg: client.alg, kid: client.kid, typ: 'oauth-authz-req+jwt' };
    if (!draft.withRequestObject) return { header };
    const jws = await new SignJWT({ ...draft.objectClaims }).setProtectedHeader(header).sign(client.privateKey);
    if (!draft.encrypted) return { requestObject: jws, header };
    const issuer = await this.issuerKey(draft.issuer);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ ...ENCRYPTION, kid: issuer.kid, cty: 'JWT' })
      .encrypt(issuer.publicKey);
    return { requestObject: jwe, innerDigest: sha256Base64Url(jws), header, encryption: { ...ENCRYPTION, kid: issuer.kid } };
  }

  private clientKey(draft: ChainDraft): Promise<ClientKey> {
    let key = this.clients.get(draft.clientId);
    if (!key) {
      key = this.registerClient(draft.clientId, ALGS[draft.clientNumber % ALGS.length]!);
      this.clients.set(draft.clientId, key);
    }
    return key;
  }

  private async registerClient(clientId: string, alg: ClientKey['alg']): Promise<ClientKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
    const kid = `${clientId}-${alg.toLowerCase()}`;
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const headers = { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' };
    const registration = { jwks: { keys: [jwk] }, request_object_signing_alg_values: [alg] };
    const created = await this.http.request('POST', '/v1/clients', headers, JSON.stringify({ client_id: clientId, ...registration }));
    // A kept database (BENCH_KEEP_DATA_DIR) has the client from an earlier run: its registration takes this run's key.
    if (created.status === 409) await this.http.expect(200, 'PUT', `/v1/clients/${encodeURIComponent(clientId)}`, headers, JSON.stringify(registration));
    else if (created.status !== 201) throw new Error(`POST /v1/clients: ${created.status}: ${created.body.slice(0, 400)}`);
    return { alg, kid, privateKey, jwk };
  }

  private issuerKey(issuer: string): Promise<IssuerKey> {
    let key = this.issuers.get(issuer);
    if (!key) {
      key = this.registerIssuerKey(issuer);
      this.issuers.set(issuer, key);
    }
    return key;
  }

  private async registerIssuerKey(issuer: string): Promise<IssuerKey> {
    const { privateKey, publicKey } = await generateKeyPair(ENCRYPTION.alg, { extractable: true });
    const kid = `enc-${sha256Base64Url(issuer).slice(0, 8)}`;
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: ENCRYPTION.alg, use: 'enc' };
    await this.http.expect(
      201,
      'POST',
      '/v1/decryption-keys',
      { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' },
      JSON.stringify({ issuer, alg: ENCRYPTION.alg, jwk: privateJwk }),
    );
    return { kid, publicKey: publicKey as CryptoKey, privateJwk };
  }
}
