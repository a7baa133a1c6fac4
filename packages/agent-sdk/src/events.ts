/**
 * The five event types of jartrail's ingest (docs/events.md), as the senders in this package write them. The
 * package's type test (test/contract.spec.ts) checks them against the OpenAPI document's generated types.
 */
export type TokenReference = { readonly jti: string; readonly token_hash?: string } | { readonly jti?: string; readonly token_hash: string };

export interface RequestObjectVerificationData {
  readonly digest: string;
  readonly verdict: 'accepted' | 'rejected';
  readonly reason?: string;
  readonly client_id: string;
  readonly issuer: string;
  readonly delivery: 'value' | 'reference' | 'par';
  readonly request_uri?: string;
  readonly unsigned?: boolean;
  readonly header?: { readonly alg: string; readonly kid?: string; readonly typ?: string };
  readonly encryption?: { readonly alg: string; readonly enc: string; readonly kid?: string };
  readonly inner_digest?: string;
  readonly claims: {
    readonly iss?: string;
    readonly aud?: string | string[];
    readonly exp?: number;
    readonly iat?: number;
    readonly nbf?: number;
    readonly jti?: string;
    readonly response_type?: string;
    readonly redirect_uri?: string;
    readonly scope?: string;
    readonly resource?: string | string[];
    readonly authorization_details?: AuthorizationDetail[];
    readonly state_hash?: string;
    readonly nonce_hash?: string;
  };
  readonly request_object?: string;
}

export type AuthorizationDetail = { readonly type: string } & Record<string, unknown>;

export interface Granted {
  readonly scope?: string;
  readonly resource?: string | string[];
  readonly authorization_details?: AuthorizationDetail[];
}

export interface ConsentDecisionData {
  readonly digest: string;
  readonly decision: 'approved' | 'denied' | 'partial';
  readonly subject: string;
  readonly granted?: Granted;
  readonly rendered_digest?: string;
}

export type TokenIssuedData = {
  readonly token_type: string;
  readonly jti?: string;
  readonly token_hash?: string;
  readonly scope?: string;
  readonly aud?: string | string[];
  readonly resource?: string | string[];
  readonly authorization_details?: AuthorizationDetail[];
  readonly iat: number;
  readonly exp: number;
  readonly cnf?: { readonly jkt: string } | { readonly 'x5t#S256': string };
  readonly grant_type?: string;
} & ({ readonly digest: string; readonly parent?: TokenReference } | { readonly digest?: string; readonly parent: TokenReference });

export interface TokenRevokedData {
  readonly jti?: string;
  readonly token_hash?: string;
  readonly revoked_at: string;
  readonly reason?: string;
}

export interface SideEffect {
  readonly kind: string;
  readonly reference: string;
  readonly summary?: string;
}

export interface ToolCallRecordedData {
  readonly call_id: string;
  readonly agent_id: string;
  readonly token: TokenReference;
  readonly tool: string;
  readonly action: string;
  readonly resource?: string | string[];
  readonly arguments_digest?: string;
  readonly authorization_details_ref?: string;
  readonly started_at: string;
  readonly completed_at?: string;
  readonly outcome: 'succeeded' | 'failed' | 'denied';
  readonly side_effect?: SideEffect;
}

export interface EventDataByType {
  readonly 'request_object.verification': RequestObjectVerificationData;
  readonly 'consent.decision': ConsentDecisionData;
  readonly 'token.issued': TokenIssuedData;
  readonly 'token.revoked': TokenRevokedData;
  readonly 'tool_call.recorded': ToolCallRecordedData;
}

export type EventType = keyof EventDataByType;

/** One envelope as a batch carries it: its own id (the idempotency key), the type, when it was emitted, the data. */
export interface Envelope<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly timestamp: string;
  readonly data: EventDataByType[T];
}
