import { Inject, Injectable } from '@nestjs/common';
import { Keyring } from '../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AccessRecordsRepository } from './access-records.repository';
import type { AuditorRequest } from './access.guard';
import type { Auditor } from './api-keys.service';

/**
 * Writes who looked at what, and when. The record is written before the answer leaves, so an auditor never sees
 * evidence that the access records do not show them seeing.
 */
@Injectable()
export class AccessRecorder {
  constructor(
    private readonly records: AccessRecordsRepository,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async record(request: AuditorRequest, auditor: Auditor, status: number): Promise<void> {
    await this.records.insert({
      apiKeyId: auditor.apiKeyId,
      method: request.method,
      target: this.minimizedTarget(request.url),
      status,
      correlationId: String(request.id),
      ...(request.accessDetail && { detail: request.accessDetail }),
    });
  }

  /**
   * A subject searched for is kept as its pseudonym, as everywhere else. The query string is parsed rather than
   * searched for `subject=`: the router decodes parameter names, so `sub%6Aect=` is a subject search too.
   */
  private minimizedTarget(url: string): string {
    if (!this.config.privacy.pseudonymizeSubjects || !url.includes('?')) return url;
    const parsed = new URL(url, 'http://jartrail.invalid');
    const subjects = parsed.searchParams.getAll('subject');
    if (subjects.length === 0) return url;
    parsed.searchParams.delete('subject');
    for (const subject of subjects) parsed.searchParams.append('subject', this.keyring.pseudonymOf(subject));
    return `${parsed.pathname}${parsed.search}`;
  }
}
