export const SOURCE_KINDS = ['authorization_server', 'token_service', 'agent'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
