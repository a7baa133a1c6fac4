import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';


@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get keys() {
    return this.dataSource.getRepository(ApiKeyEntity);
  }

  /** Inserts unless a key with the same hash exists (a restart with the same BOOTSTRAP_ADMIN_KEY). */
  async insertIfAbsent(key: Pick<ApiKeyEntity, 'id' | 'name' | 'keySha256' | 'scopes'>): Promise<void> {
    await this.keys.createQueryBuilder().insert().values(key).orIgnore().execute();
  }

  /** The key with this hash, revoked or not. */
  findByHash(keySha256: Buffer): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ keySha256 });
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ id });
  }

  /** Revokes once; the first revocation time is kept. */
  async revoke(id: string): Promise<ApiKeyEntity | null> {
    await this.keys.createQueryBuilder().update().set({ revokedAt: () => 'now()' }).where('id = :id AND revoked_at IS NULL', { id }).execute();
    return this.findById(id);
  }

  async create(key: Pick<ApiKeyEntity, 'id' | 'name' | 'keySha256' | 'scopes'>): Promise<ApiKeyEntity> {
    await this.keys.insert(key);
    return (await this.findById(key.id))!;
  }
}
