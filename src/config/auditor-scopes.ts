/** The scopes an auditor credential (an API key, or a bearer JWT from the identity provider) can carry. */
export const AUDITOR_SCOPES = ['audit:read', 'audit:export', 'audit:admin', 'audit:triage'] as const;
export type AuditorScope = (typeof AUDITOR_SCOPES)[number];
