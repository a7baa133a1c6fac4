import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { SourceSecretEntity } from './source-secret.entity';
import { SourceEntity } from './source.entity';

/** Some of the SET keys being registered are held by another source; nothing was written. */
export class SetKeysTakenError extends Error {
  constructor(readonly thumbprints: readonly string[]) {
    super('a SET key is registered by another source');
    this.name = 'SetKeysTakenError';
  }
}

export interface SourceWithSecrets {
  readonly source: SourceEntity;
  /** Secrets still valid now: the current one and any in their rotation grace period. */
  readonly secrets: readonly SourceSecretEntity[];
}

@Injectable()
export class SourcesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(
    source: Pick<SourceEntity, 'id' | 'name' | 'kind' | 'setJwks' | 'setJwksUri'>,
    secret: Pick<SourceSecretEntity, 'id' | 'sealed' | 'sealedBy'>,
    setKeyThumbprints: readonly string[],
  ): Promise<SourceEntity> {
    // A source without its secret (or its claimed keys) would be unusable and a secret without its source meaningless:
    // all or nothing.
    return this.dataSource.transaction(async (manager) => {
      await manager.insert(SourceEntity, source);
      await manager.insert(SourceSecretEntity, { ...secret, sourceId: source.id });
      await this.claimSetKeys(manager, source.id, setKeyThumbprints);
      return manager.findOneByOrFail(SourceEntity, { id: source.id });
    });
  }

  findById(id: string): Promise<SourceEntity | null> {
    return this.dataSource.getRepository(SourceEntity).findOneBy({ id });
  }

  findByName(name: string): Promise<SourceEntity | null> {
    return this.dataSource.getRepository(SourceEntity).findOneBy({ name });
  }

  async listWithSecrets(): Promise<SourceWithSecrets[]> {
    const sources = await this.dataSource.getRepository(SourceEntity).find({ order: { createdAt: 'ASC', id: 'ASC' } });
    const secrets = await this.validSecrets(this.dataSource.manager, sources.map((source) => source.id));
    return sources.map((source) => ({ source, secrets: secrets.filter((secret) => secret.sourceId === source.id) }));
  }

  async findWithSecrets(id: string): Promise<SourceWithSecrets | null> {
    const source = await this.findById(id);
    if (!source) return null;
    return { source, secrets: await this.validSecrets(this.dataSource.manager, [id]) };
  }

  /** Replaces the source's SET keys and the thumbprints it claims together: a refused key leaves the old set in place. */
  async setSetKeys(id: string, keys: Pick<SourceEntity, 'setJwks' | 'setJwksUri'>, thumbprints: readonly string[]): Promise<SourceEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const updated = await manager.getRepository(SourceEntity).createQueryBuilder().update().set(keys).where('id = :id', { id }).execute();
      if (updated.affected === 0) return null;
      await this.claimSetKeys(manager, id, thumbprints);
      return manager.findOneBy(SourceEntity, { id });
    });
  }

  /**
   * Makes these thumbprints the source's, or throws SetKeysTakenError (rolling the transaction back) for those
   * another source holds. The primary key decides, not a read: of two transactions claiming one key, the second
   * waits for the first and then finds it taken.
   */
  private async claimSetKeys(manager: EntityManager, sourceId: string, thumbprints: readonly string[]): Promise<void> {
    await manager.query('DELETE FROM source_set_keys WHERE source_id = $1', [sourceId]);
    if (thumbprints.length === 0) return;
    const claimed: { thumbprint: string }[] = await manager.query(
      `INSERT INTO source_set_keys (thumbprint, source_id) SELECT unnest($1::text[]), $2
       ON CONFLICT (thumbprint) DO NOTHING RETURNING thumbprint`,
      [thumbprints, sourceId],
    );
    const ours = new Set(claimed.map((row) => row.thumbprint));
    const taken = thumbprints.filter((thumbprint) => !ours.has(thumbprint));
    if (taken.length > 0) throw new SetKeysTakenError(taken);
  }

  async setDisabled(id: string, disabled: boolean): Promise<SourceEntity | null> {
    await this.dataSource
      .getRepository(SourceEntity)
      .createQueryBuilder()
      .update()
      .set({ disabledAt: disabled ? () => 'COALESCE(disabled_at, now())' : null })
      .where('id = :id', { id })
      .execute();
    return this.findById(id);
  }

  /**
   * Adds a new current secret; the previous current one stays valid until `graceUntil`. The source row is locked
   * so that two rotations at once cannot both leave a secret without an expiry.
   */
  async rotate(id: string, secret: Pick<SourceSecretEntity, 'id' | 'sealed' | 'sealedBy'>, graceUntil: Date): Promise<SourceWithSecrets | null> {
    return this.dataSource.transaction(async (manager) => {
      const source = await manager.getRepository(SourceEntity).createQueryBuilder('source').setLock('pessimistic_write').where('source.id = :id', { id }).getOne();
      if (!source) return null;
      await manager
        .getRepository(SourceSecretEntity)
        .createQueryBuilder()
        .update()
        .set({ expiresAt: graceUntil })
        .where('source_id = :id AND (expires_at IS NULL OR expires_at > :graceUntil)', { id, graceUntil })
        .execute();
      await manager.insert(SourceSecretEntity, { ...secret, sourceId: id });
      return { source, secrets: await this.validSecrets(manager, [id]) };
    });
  }

  private validSecrets(manager: EntityManager, sourceIds: string[]): Promise<SourceSecretEntity[]> {
    if (sourceIds.length === 0) return Promise.resolve([]);
    return manager
      .getRepository(SourceSecretEntity)
      .createQueryBuilder('secret')
      .where('secret.sourceId IN (:...sourceIds)', { sourceIds })
      .andWhere('(secret.expiresAt IS NULL OR secret.expiresAt > now())')
      .orderBy('secret.createdAt', 'DESC')
      .addOrderBy('secret.id', 'ASC')
      .getMany();
  }
}
