import { Inject, Injectable } from '@nestjs/common';
import { Keyring } from '../common/crypto/keyring';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { PresentedCredential } from './access-record.entity';
import { AccessRecordsRepository } from './access-records.repository';
import type { AuditorRequest } from './access.guard';
import type { Principal } from './auditor';

/** A refused attempt as the guard saw it: what was presented, and the key when it is one of ours. */
export type RefusedAttempt =
  | { readonly credential: 'revoked_key'; readonly apiKeyId: string }
  | { readonly credential: 'unknown_key'; readonly presentedKey: string }
  | { readonly credential: 'no_key' | 'malformed' }
  | {
      readonly credential: 'refused_jwt';
      readonly presentedToken: string;
      /** Why: a TokenRefusal, or `identity_provider_unavailable`. */
      readonly tokenError: string;
      /** Who the token names, only when the provider's signature over it verified (expired, another audience). */
      readonly verified?: { readonly subject: string; readonly issuer: string };
    };

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

  async record(request: AuditorRequest, auditor: Principal, status: number): Promise<void> {
    await this.insert(
      request,
      auditor.kind === 'api_key'
        ? { apiKeyId: auditor.apiKeyId, credential: 'api_key', presentedKeyFingerprint: null, subject: null, issuer: null }
        : { apiKeyId: null, credential: 'jwt', presentedKeyFingerprint: null, subject: auditor.subject, issuer: auditor.issuer },
      status,
    );
  }

  /** A request refused before it had an auditor (401): what was presented, never the presented value itself. */
  async recordRefusal(request: AuditorRequest, attempt: RefusedAttempt, status: number): Promise<void> {
    if (attempt.credential === 'refused_jwt') {
      // A refused token is kept as a keyed fingerprint, as an unknown key is: repeated tries with one token can be
      // told apart, and the token (possibly still valid elsewhere) cannot be read back.
      await this.insert(
        request,
        {
          apiKeyId: null,
          credential: 'refused_jwt',
          presentedKeyFingerprint: this.keyring.presentedKeyFingerprintOf(attempt.presentedToken),
          subject: attempt.verified?.subject ?? null,
          issuer: attempt.verified?.issuer ?? null,
        },
        status,
        { token_error: attempt.tokenError },
      );
      return;
    }
    await this.insert(
      request,
      {
        apiKeyId: attempt.credential === 'revoked_key' ? attempt.apiKeyId : null,
        credential: attempt.credential,
        presentedKeyFingerprint: attempt.credential === 'unknown_key' ? this.keyring.presentedKeyFingerprintOf(attempt.presentedKey) : null,
        subject: null,
        issuer: null,
      },
      status,
    );
  }

  private async insert(
    request: AuditorRequest,
    who: { apiKeyId: string | null; credential: PresentedCredential; presentedKeyFingerprint: string | null; subject: string | null; issuer: string | null },
    status: number,
    refusal?: Record<string, unknown>,
  ): Promise<void> {
    const detail = refusal ?? request.accessDetail;
    await this.records.insert({
      ...who,
      method: request.method,
      route: request.routeOptions.url ?? null,
      target: this.minimizedTarget(request.url),
      status,
      correlationId: String(request.id),
      ...(detail && { detail }),
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
