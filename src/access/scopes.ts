export const SCOPES = ['audit:read', 'audit:export', 'audit:admin'] as const;
export type Scope = (typeof SCOPES)[number];
