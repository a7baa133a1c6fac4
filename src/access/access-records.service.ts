import { Injectable } from '@nestjs/common';
import { fieldError, ProblemException } from '../common/problem/problem';
import { AccessRecordsRepository } from './access-records.repository';
import type { AccessRecordsQuery, AccessRecordsResponse } from './dto/access-record.dto';

const SEQ = /^[1-9]\d{0,18}$/;

/** Cursors are opaque to clients, in the style of the chain search: base64url JSON of the last position read. */
export function encodeAccessCursor(seq: string): string {
  return Buffer.from(JSON.stringify([seq]), 'utf8').toString('base64url');
}

export function decodeAccessCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 1 && typeof parsed[0] === 'string' && SEQ.test(parsed[0]) && BigInt(parsed[0]) <= 2n ** 63n - 1n) {
      return parsed[0];
    }
  } catch {
    // Falls through to the problem below: whatever was sent, it is not one of our cursors.
  }
  throw new ProblemException('invalid-request', {
    detail: 'the cursor is not one this API returned',
    errors: [fieldError(['cursor'], 'invalid_cursor', 'pass next_cursor of the previous page unchanged')],
  });
}

/** The access log for admins: who looked at what, and when, answered or refused. */
@Injectable()
export class AccessRecordsService {
  constructor(private readonly records: AccessRecordsRepository) {}

  async list(query: AccessRecordsQuery): Promise<AccessRecordsResponse> {
    // One row more than asked tells whether another page exists.
    const rows = await this.records.page({
      apiKeyId: query.api_key_id,
      credential: query.credential,
      route: query.route,
      method: query.method,
      status: query.status,
      outcome: query.outcome,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      beforeSeq: query.cursor === undefined ? undefined : decodeAccessCursor(query.cursor),
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
        method: row.method,
        route: row.route,
        target: row.target,
        status: row.status,
        correlation_id: row.correlationId,
        detail: row.detail,
      })),
      next_cursor: rows.length > query.limit ? encodeAccessCursor(page.at(-1)!.seq) : null,
    };
  }
}
