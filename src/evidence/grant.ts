/**
 * Authority as OAuth states it: what a request asked for, a consent granted, a token carries. Each type says how
 * its data states one (verification-event.ts, consent-event.ts, token-events.ts); findings/grant.ts compares them.
 */
export interface Grant {
  /** RFC 6749 section 3.3: space-delimited scope tokens. */
  readonly scope?: string;
  /** RFC 8707: absolute URIs. */
  readonly resource?: string | readonly string[];
  /** RFC 9396: entries with a `type`. */
  readonly authorization_details?: readonly AuthorizationDetail[];
}

export interface AuthorizationDetail {
  readonly type: string;
  readonly [member: string]: unknown;
}
