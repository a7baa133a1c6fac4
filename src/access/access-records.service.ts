import { Injectable } from '@nestjs/common';
import { decodeIdCursor, encodeIdCursor } from '../common/id-cursor';
import { AccessRecordsRepository } from './access-records.repository';
import type { AccessRecordsQuery, AccessRecordsResponse } from './dto/access-record.dto';

/** The access log for admins: who looked at what, and when, answered or refused. */
@Injectable()
export class AccessRecordsService {
  constructor(private readonly records: AccessRecordsRepository) {}

  async list(query: AccessRecordsQuery): Promise<AccessRecordsResponse> {
    // One row more than asked tells whether another page exists.
    const rows = await this.records.page({
      apiKeyId: query.api_key_id,
      subject: query.subject,
      issuer: query.issuer,
      credential: query.credential,
      route: query.route,
      method: query.method,
      status: query.status,
      outcome: query.outcome,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      beforeSeq: query.cursor === undefined ? undefined : decodeIdCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((row) => ({
        seq: row.seq,
        at: row.at.toISOString(),
        api_key: row.apiKeyId === null ? null : { id: row.apiKeyId, name: row.apiKeyName ?? '' },
        credential: row.credential,
        presented_key_fingerprint: row.presentedKeyFingerprint,
        subject: row.subject,
        issuer: row.issuer,
        method: row.method,
        route: row.route,
        target: row.target,
        status: row.status,
        correlation_id: row.correlationId,
        detail: row.detail,
      })),
      next_cursor: rows.length > query.limit ? encodeIdCursor(page.at(-1)!.seq) : null,
    };
  }
}
