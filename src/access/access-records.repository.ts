import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AccessRecordEntity } from './access-record.entity';

@Injectable()
export class AccessRecordsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(record: Pick<AccessRecordEntity, 'apiKeyId' | 'method' | 'target' | 'status' | 'correlationId'>): Promise<void> {
    await this.dataSource.getRepository(AccessRecordEntity).insert(record);
  }
}
