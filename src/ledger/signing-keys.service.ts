import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { EntityManager } from 'typeorm';
import { Keyring } from '../common/crypto/keyring';
import { ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { LedgerRepository, type StoredSigningKey } from './ledger.repository';
import type { PublicJwks } from './verification/documents';

export type SigningAlg = 'EdDSA' | 'ES256';

/** The key a checkpoint is signed with. */
export interface Signer {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateKey: Awaited<ReturnType<typeof importJWK>>;
}

/** What a ledger signing key's sealed private part is bound to (a master-key rotation re-seals it under the same). */
export const ledgerKeySealingContext = (kid: string) => `ledger signing key ${kid}`;

function algOf(jwk: JWK): SigningAlg | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

/** The public members of a JWK, with its kid, alg and use: what the JWKS publishes. */
function publicPart(jwk: JWK, kid: string, alg: SigningAlg): Record<string, unknown> {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, ...(y !== undefined && { y }), kid, alg, use: 'sig' };
}

/**
 * The checkpoint signing keys. Generated on first start (EdDSA unless LEDGER_SIGNING_ALG says ES256), sealed in
 * the database under a key derived from the master key, so every replica signs with the same one; or given as a
 * private JWK file (LEDGER_SIGNING_KEY_FILE), whose public part is recorded so that the JWKS lists it. Rotation
 * adds a key with a new kid; retired keys stay in the JWKS.
 */
@Injectable()
export class SigningKeysService {
  private readonly logger = new Logger('LedgerKeys');
  private fileSigner: Signer | undefined;

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly keyring: Keyring,
    // Only the ledger settings: the sequencer's worker thread builds this service from those alone.
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'ledger'>,
  ) {}

  /** At start: the file's key recorded, or a key generated when the database has none. */
  async ensureKey(): Promise<void> {
    const file = this.config.ledger.signingKeyFile;
    if (file) {
      this.fileSigner = await this.loadFile(file);
      return;
    }
    await this.ledger.transaction(async (manager) => {
      await this.ledger.lockSigningKeys(manager);
      const keys = await this.ledger.signingKeys(manager);
      if (!keys.some((key) => key.sealedPrivateJwk !== null)) await this.generate(manager, this.config.ledger.signingAlg);
    });
  }

  /** The current key: the file's, or the newest generated one. */
  async current(): Promise<Signer> {
    if (this.fileSigner) return this.fileSigner;
    const key = (await this.ledger.signingKeys()).find((candidate) => candidate.sealedPrivateJwk !== null);
    if (!key) throw new Error('no ledger signing key: ensureKey() runs at start');
    return this.open(key);
  }

  /** A new key becomes current; the old ones stay published. */
  async rotate(alg: SigningAlg = this.config.ledger.signingAlg): Promise<{ kid: string; alg: SigningAlg }> {
    if (this.config.ledger.signingKeyFile) {
      throw new ProblemException('conflict', { detail: 'the signing key is given as a file (LEDGER_SIGNING_KEY_FILE): rotate by giving another file and restarting' });
    }
    return this.ledger.transaction(async (manager) => {
      await this.ledger.lockSigningKeys(manager);
      const kid = await this.generate(manager, alg);
      return { kid, alg };
    });
  }

  async jwks(): Promise<PublicJwks> {
    return { keys: (await this.ledger.signingKeys()).map((key) => key.publicJwk) };
  }

  private async generate(manager: EntityManager, alg: SigningAlg): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await this.ledger.insertSigningKey(
      {
      kid,
      alg,
      publicJwk: publicPart(publicJwk, kid, alg),
      sealedPrivateJwk: this.keyring.sealing.seal('ledger key', Buffer.from(JSON.stringify(privateJwk), 'utf8'), ledgerKeySealingContext(kid)),
      },
      manager,
    );
    this.logger.log({ kid, alg }, 'ledger signing key generated');
    return kid;
  }

  private async open(key: StoredSigningKey): Promise<Signer> {
    const jwk = JSON.parse(this.keyring.sealing.open('ledger key', key.sealedPrivateJwk!, ledgerKeySealingContext(key.kid)).toString('utf8')) as JWK;
    return { kid: key.kid, alg: key.alg, privateKey: await importJWK(jwk, key.alg) };
  }

  private async loadFile(path: string): Promise<Signer> {
    let jwk: JWK;
    try {
      jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
    } catch (error) {
      throw new Error(`LEDGER_SIGNING_KEY_FILE: cannot read a JWK from ${path}: ${(error as Error).message}`);
    }
    const alg = algOf(jwk);
    if (!alg || typeof jwk.d !== 'string') throw new Error(`LEDGER_SIGNING_KEY_FILE: ${path} must hold a private Ed25519 (OKP) or P-256 (EC) JWK`);
    const kid = await calculateJwkThumbprint(jwk);
    await this.ledger.insertSigningKey({ kid, alg, publicJwk: publicPart(jwk, kid, alg), sealedPrivateJwk: null });
    return { kid, alg, privateKey: await importJWK(jwk, alg) };
  }
}
