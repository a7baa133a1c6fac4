export const SCOPES = ['audit:read', 'audit:export', 'audit:admin', 'audit:triage'] as const;
export type Scope = (typeof SCOPES)[number];
