/**
 * One event of each type for the OpenAPI document: the walkthrough's authorization (examples/1-4) and a revocation
 * of its token. test/operations/openapi.spec.ts validates them, and the files in examples/, against the schemas.
 */
const DIGEST = 'yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs';

export const EVENT_EXAMPLES = {
  'request_object.verification': {
    id: 'evt-example-verification-1',
    type: 'request_object.verification',
    timestamp: '2026-11-28T10:00:01Z',
    data: {
      digest: DIGEST,
      verdict: 'accepted',
      client_id: 'agent-app',
      issuer: 'https://as.example.com',
      delivery: 'par',
      request_uri: 'urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c',
      header: { alg: 'ES256', kid: 'agent-app-2026-11', typ: 'oauth-authz-req+jwt' },
      claims: {
        iss: 'agent-app',
        aud: 'https://as.example.com',
        exp: 1795860300,
        iat: 1795860000,
        jti: 'ro-7f3c2a',
        response_type: 'code',
        redirect_uri: 'https://agent.example.com/cb',
        scope: 'openid mail.send',
        state_hash: 'bOhtX8F73IMjSPeVAqxyTQiEkXHxVyptgiWb4BWYG30',
      },
    },
  },
  'consent.decision': {
    id: 'evt-example-consent-1',
    type: 'consent.decision',
    timestamp: '2026-11-28T10:00:20Z',
    data: { digest: DIGEST, decision: 'approved', subject: 'alice@example.com', granted: { scope: 'openid mail.send' } },
  },
  'token.issued': {
    id: 'evt-example-token-1',
    type: 'token.issued',
    timestamp: '2026-11-28T10:00:22Z',
    data: {
      digest: DIGEST,
      token_type: 'access',
      jti: 'at-91b2',
      scope: 'mail.send',
      aud: 'https://mail.example.com',
      iat: 1795860022,
      exp: 1795863622,
      cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' },
      grant_type: 'authorization_code',
    },
  },
  'token.revoked': {
    id: 'evt-example-revocation-1',
    type: 'token.revoked',
    timestamp: '2026-11-28T10:30:00Z',
    data: { jti: 'at-91b2', revoked_at: '2026-11-28T10:29:59Z', reason: 'user logout' },
  },
  'tool_call.recorded': {
    id: 'evt-example-tool-call-1',
    type: 'tool_call.recorded',
    timestamp: '2026-11-28T10:01:05Z',
    data: {
      call_id: 'call-0001',
      agent_id: 'mail-agent',
      token: { jti: 'at-91b2' },
      tool: 'mail',
      action: 'send',
      resource: 'https://mail.example.com',
      arguments_digest: 'DrXJdmZi35Ev-kSfbHSLfhOspK3YvuRafHtBKWPzpc0',
      started_at: '2026-11-28T10:01:04Z',
      completed_at: '2026-11-28T10:01:05Z',
      outcome: 'succeeded',
      side_effect: { kind: 'email', reference: 'msg-2026-11-28-0001', summary: 'sent to bob@example.com' },
    },
  },
} as const;

/** OpenAPI `examples` of POST /v1/events: one per type. */
export const singleEventExamples = Object.fromEntries(Object.entries(EVENT_EXAMPLES).map(([type, value]) => [type, { summary: `A ${type} event`, value }]));

/** OpenAPI `examples` of POST /v1/events/batch: the events a token service sends about one token. */
export const batchExamples = {
  token_service: { summary: "A token service's events", value: [EVENT_EXAMPLES['token.issued'], EVENT_EXAMPLES['token.revoked']] },
};
