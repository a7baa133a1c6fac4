import { Injectable, Logger } from '@nestjs/common';
import { Keyring, type MasterKeyId } from '../common/crypto/keyring';
import { serviceKeySealingContext } from '../database/database-bootstrap';
import type { ServiceKeyPurpose } from '../database/service-key.entity';
import { subscriptionSecretSealingContext } from '../findings/notifications/subscriptions.service';
import { ledgerKeySealingContext } from '../ledger/signing-keys.service';
import { decryptionKeySealingContext } from '../request-objects/clients.service';
import { sourceSecretSealingContext } from '../sources/sources.service';
import { MasterKeysRepository, type SealedTable } from './master-keys.repository';

/** Every place a value sealed under a master key is kept. */
export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'source_secrets', keyColumn: 'id', contextColumns: ['source_id', 'id'], purpose: 'secret', contextOf: (row) => sourceSecretSealingContext(row.source_id!, row.id!) },
  { table: 'decryption_keys', keyColumn: 'id', contextColumns: ['id'], purpose: 'secret', contextOf: (row) => decryptionKeySealingContext(row.id!) },
  { table: 'ledger_signing_key_secrets', keyColumn: 'kid', contextColumns: ['kid'], purpose: 'ledger key', contextOf: (row) => ledgerKeySealingContext(row.kid!) },
  { table: 'service_keys', keyColumn: 'purpose', contextColumns: ['purpose'], purpose: 'secret', contextOf: (row) => serviceKeySealingContext(row.purpose as ServiceKeyPurpose) },
  { table: 'notification_subscriptions', keyColumn: 'id', contextColumns: ['secret_id'], purpose: 'secret', contextOf: (row) => subscriptionSecretSealingContext(row.secret_id!) },
];

export interface SealedCount {
  readonly keyId: MasterKeyId;
  readonly count: number;
  /** This replica holds the key (current or previous). */
  readonly held: boolean;
}

export interface MasterKeyStatus {
  readonly currentKeyId: MasterKeyId;
  readonly heldKeyIds: readonly MasterKeyId[];
  /** Sealed values by the master key that sealed them, the current key first. */
  readonly sealed: readonly SealedCount[];
}

export interface RotationReport {
  /** Nothing is left sealed under another key. */
  readonly ok: boolean;
  readonly fromKeyIds: readonly MasterKeyId[];
  readonly toKeyId: MasterKeyId;
  readonly resealed: Readonly<Record<SealedTable['table'], number>>;
  /** What is still sealed under keys this replica does not hold (it cannot re-seal those). */
  readonly remaining: readonly SealedCount[];
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/**
 * Master-key rotation: every value sealed under a previous key is opened and sealed again under the current one,
 * in batches, while the service keeps serving. Each batch is its own short transaction, so requests that read a
 * sealed value wait at most for one batch, and a value is readable at every moment under the key its row names.
 */
@Injectable()
export class MasterKeysService {
  private readonly logger = new Logger('MasterKeys');

  constructor(
    private readonly repository: MasterKeysRepository,
    private readonly keyring: Keyring,
  ) {}

  async status(): Promise<MasterKeyStatus> {
    const { sealing } = this.keyring;
    const totals = new Map<MasterKeyId, number>();
    for (const row of await this.repository.countBySealer(SEALED_TABLES)) totals.set(row.sealedBy, (totals.get(row.sealedBy) ?? 0) + row.count);
    const sealed = [...totals]
      .map(([keyId, count]) => ({ keyId, count, held: sealing.holds(keyId) }))
      .sort((a, b) => Number(b.keyId === sealing.currentId) - Number(a.keyId === sealing.currentId) || a.keyId.localeCompare(b.keyId));
    return { currentKeyId: sealing.currentId, heldKeyIds: sealing.ids, sealed };
  }

  async rotate(batchSize: number): Promise<RotationReport> {
    const startedAt = new Date();
    const { sealing } = this.keyring;
    const from = sealing.ids.filter((id) => id !== sealing.currentId);
    const resealed = Object.fromEntries(SEALED_TABLES.map(({ table }) => [table, 0])) as Record<SealedTable['table'], number>;
    for (const sealed of SEALED_TABLES) {
      for (;;) {
        const count = await this.repository.resealBatch(sealed, from, batchSize, (row) => sealing.seal(sealed.purpose, sealing.open(sealed.purpose, row, row.context), row.context));
        resealed[sealed.table] += count;
        if (count < batchSize) break;
      }
    }
    const remaining = (await this.status()).sealed.filter((count) => count.keyId !== sealing.currentId);
    const report = { ok: remaining.length === 0, fromKeyIds: from, toKeyId: sealing.currentId, resealed, remaining, startedAt, finishedAt: new Date() };
    this.logger.log({ fromKeyIds: from, toKeyId: sealing.currentId, resealed, remaining }, 'master-key rotation finished');
    return report;
  }
}
