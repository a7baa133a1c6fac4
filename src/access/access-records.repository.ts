import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AccessRecordEntity, PresentedCredential } from './access-record.entity';
import { PreparedStatements } from '../database/prepared-statements';

export type NewAccessRecord = Pick<
  AccessRecordEntity,
  'apiKeyId' | 'credential' | 'presentedKeyFingerprint' | 'subject' | 'issuer' | 'method' | 'route' | 'target' | 'status' | 'correlationId'
> & { readonly detail?: Record<string, unknown> };

/** Status codes of a refused attempt: no usable key (401), or a key without the scope (403). */
export const REFUSED_STATUSES = [401, 403] as const;

export interface AccessRecordFilter {
  readonly apiKeyId?: string;
  /** A token's `sub`; with `issuer`, one person at one identity provider. */
  readonly subject?: string;
  readonly issuer?: string;
  readonly credential?: PresentedCredential;
  readonly route?: string;
  readonly method?: string;
  readonly status?: number;
  /** refused: answered 401 or 403; answered: anything else. */
  readonly outcome?: 'refused' | 'answered';
  readonly from?: Date;
  readonly to?: Date;
  /** Keyset position: strictly older (smaller seq) than this. */
  readonly beforeSeq?: string;
  readonly limit: number;
}

export interface StoredAccessRecord {
  readonly seq: string;
  readonly at: Date;
  readonly apiKeyId: string | null;
  readonly apiKeyName: string | null;
  readonly credential: PresentedCredential;
  readonly presentedKeyFingerprint: string | null;
  readonly subject: string | null;
  readonly issuer: string | null;
  readonly method: string;
  readonly route: string | null;
  readonly target: string;
  readonly status: number;
  readonly correlationId: string;
  readonly detail: Record<string, unknown> | null;
}

type AccessRecordRow = {
  seq: string;
  at: Date;
  api_key_id: string | null;
  api_key_name: string | null;
  credential: PresentedCredential;
  presented_key_fingerprint: string | null;
  subject: string | null;
  issuer: string | null;
  method: string;
  route: string | null;
  target: string;
  status: number;
  correlation_id: string;
  detail: Record<string, unknown> | null;
};

@Injectable()
export class AccessRecordsRepository {
  private readonly statements: PreparedStatements;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.statements = new PreparedStatements(dataSource);
  }

  /** One statement and nothing returned: it runs before every auditor answer, so it costs one round trip. */
  async insert(record: NewAccessRecord): Promise<void> {
    await this.statements.run(
      {
        name: 'jartrail_insert_access_record',
        text: `INSERT INTO access_records (api_key_id, credential, presented_key_fingerprint, subject, issuer, method, route, target, status, correlation_id, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      },
      [
        record.apiKeyId,
        record.credential,
        record.presentedKeyFingerprint,
        record.subject,
        record.issuer,
        record.method,
        record.route,
        record.target,
        record.status,
        record.correlationId,
        record.detail === undefined ? null : JSON.stringify(record.detail),
      ],
    );
  }

  /**
   * One page, newest first, in the order of seq (given at insert, so stable: a record written between two pages
   * lands before the first page and neither repeats nor shifts what follows). A key's records come from its
   * (api_key_id, seq) index in order, a subject's from (subject, seq); a time range from the index on `at`.
   */
  async page(filter: AccessRecordFilter): Promise<StoredAccessRecord[]> {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const where: string[] = [];
    if (filter.apiKeyId !== undefined) where.push(`r.api_key_id = ${param(filter.apiKeyId)}`);
    if (filter.subject !== undefined) where.push(`r.subject = ${param(filter.subject)}`);
    if (filter.issuer !== undefined) where.push(`r.issuer = ${param(filter.issuer)}`);
    if (filter.credential !== undefined) where.push(`r.credential = ${param(filter.credential)}`);
    if (filter.route !== undefined) where.push(`r.route = ${param(filter.route)}`);
    if (filter.method !== undefined) where.push(`r.method = ${param(filter.method)}`);
    if (filter.status !== undefined) where.push(`r.status = ${param(filter.status)}`);
    if (filter.outcome !== undefined) {
      const refused = `r.status = ANY(${param([...REFUSED_STATUSES])}::int[])`;
      where.push(filter.outcome === 'refused' ? refused : `NOT ${refused}`);
    }
    if (filter.from !== undefined) where.push(`r.at >= ${param(filter.from)}`);
    if (filter.to !== undefined) where.push(`r.at < ${param(filter.to)}`);
    if (filter.beforeSeq !== undefined) where.push(`r.seq < ${param(filter.beforeSeq)}::bigint`);
    const rows: AccessRecordRow[] = await this.dataSource.query(
      `SELECT r.seq, r.at, r.api_key_id, k.name AS api_key_name, r.credential, r.presented_key_fingerprint, r.subject, r.issuer, r.method, r.route, r.target, r.status, r.correlation_id, r.detail
       FROM access_records r LEFT JOIN api_keys k ON k.id = r.api_key_id
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY r.seq DESC
       LIMIT ${param(filter.limit)}`,
      params,
    );
    return rows.map((row) => ({
      seq: String(row.seq),
      at: row.at,
      apiKeyId: row.api_key_id,
      apiKeyName: row.api_key_name,
      credential: row.credential,
      presentedKeyFingerprint: row.presented_key_fingerprint,
      subject: row.subject,
      issuer: row.issuer,
      method: row.method,
      route: row.route,
      target: row.target,
      status: row.status,
      correlationId: row.correlation_id,
      detail: row.detail,
    }));
  }
}
