import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { ClientEntity } from './client.entity';
import { DecryptionKeyEntity } from './decryption-key.entity';

export type ClientFields = Omit<ClientEntity, 'createdAt' | 'updatedAt' | 'disabledAt'>;

/** The client registry and the decryption keys of authorization servers. */
@Injectable()
export class ClientsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts a new client; false when the client_id is registered already (the primary key decides). The findings
   * of the chains that name it are judged against the registration: they are evaluated again, in the same
   * transaction as the change that moves them.
   */
  async insert(client: ClientFields): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.createQueryBuilder().insert().into(ClientEntity).values(client).orIgnore().returning('client_id').execute();
      const inserted = (result.raw as unknown[]).length > 0;
      if (inserted) await requeueChainsOfClient(manager, client.clientId);
      return inserted;
    });
  }

  /** Replaces a registration, and has the findings of its chains evaluated again; false for an unknown client_id. */
  async update(client: ClientFields): Promise<boolean> {
    const { clientId, ...fields } = client;
    return this.dataSource.transaction(async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(ClientEntity)
        .set({ ...fields, updatedAt: () => 'now()' })
        .where('client_id = :clientId', { clientId })
        .execute();
      const updated = (result.affected ?? 0) > 0;
      if (updated) await requeueChainsOfClient(manager, clientId);
      return updated;
    });
  }

  /** Disables (keeping the first time) or enables a client; false for an unknown client_id. */
  async setClientDisabled(clientId: string, disabled: boolean): Promise<boolean> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(ClientEntity)
      .set({ disabledAt: disabled ? () => 'COALESCE(disabled_at, now())' : null })
      .where('client_id = :clientId', { clientId })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  find(clientId: string): Promise<ClientEntity | null> {
    return this.dataSource.getRepository(ClientEntity).findOneBy({ clientId });
  }

  list(): Promise<ClientEntity[]> {
    return this.dataSource.getRepository(ClientEntity).find({ order: { clientId: 'ASC' } });
  }

  async insertDecryptionKey(key: Omit<DecryptionKeyEntity, 'createdAt' | 'disabledAt'>): Promise<DecryptionKeyEntity> {
    await this.dataSource.getRepository(DecryptionKeyEntity).insert(key);
    return this.dataSource.getRepository(DecryptionKeyEntity).findOneByOrFail({ id: key.id });
  }

  /** Disables a decryption key for good (keeping the first time); null for an unknown id. */
  async disableDecryptionKey(id: string): Promise<DecryptionKeyEntity | null> {
    await this.dataSource.createQueryBuilder().update(DecryptionKeyEntity).set({ disabledAt: () => 'COALESCE(disabled_at, now())' }).where('id = :id', { id }).execute();
    return this.dataSource.getRepository(DecryptionKeyEntity).findOneBy({ id });
  }

  decryptionKeysOf(issuer: string): Promise<DecryptionKeyEntity[]> {
    return this.dataSource.getRepository(DecryptionKeyEntity).find({ where: { issuer }, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  listDecryptionKeys(): Promise<DecryptionKeyEntity[]> {
    return this.dataSource.getRepository(DecryptionKeyEntity).find({ order: { issuer: 'ASC', createdAt: 'DESC', id: 'ASC' } });
  }
}

/** Queues for the finding rules every chain whose verification names this client (its `client_id` facet). */
async function requeueChainsOfClient(manager: EntityManager, clientId: string): Promise<void> {
  await manager.query(
    `INSERT INTO finding_checks (subject, cause)
     SELECT DISTINCT f.chain_digest, jsonb_build_object('kind', 'client', 'client_id', $1::text) FROM chain_facets f WHERE f.name = 'client_id' AND f.value = $1`,
    [clientId],
  );
}
