import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AccessRecordEntity } from './access-record.entity';

@Injectable()
export class AccessRecordsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One statement and nothing returned: it runs before every auditor answer, so it costs one round trip. */
  async insert(record: Pick<AccessRecordEntity, 'apiKeyId' | 'method' | 'target' | 'status' | 'correlationId'> & { detail?: Record<string, unknown> }): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO access_records (api_key_id, method, target, status, correlation_id, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [record.apiKeyId, record.method, record.target, record.status, record.correlationId, record.detail === undefined ? null : JSON.stringify(record.detail)],
    );
  }
}
