/**
 * Compile-time contract: every event the SDK (and the oidc-provider plugin, which uses these types) can write is
 * assignable to the schema the OpenAPI document gives for it (src/client/api-types.ts, generated from
 * docs/openapi.json). Checked by tsc in contract.spec.ts.
 */
import type { components } from '../../../src/client/api-types';
import type { ConsentDecisionData, Envelope, RequestObjectVerificationData, TokenIssuedData, TokenRevokedData, ToolCallRecordedData } from '../src/events';
import type { ItemOutcome } from '../src/delivery';

type Schemas = components['schemas'];
type Assignable<Target, Source extends Target> = Source;

export type EventDataMatchesTheContract = [
  Assignable<Schemas['RequestObjectVerificationData'], RequestObjectVerificationData>,
  Assignable<Schemas['ConsentDecisionData'], ConsentDecisionData>,
  Assignable<Schemas['TokenIssuedData'], TokenIssuedData>,
  Assignable<Schemas['TokenRevokedData'], TokenRevokedData>,
  Assignable<Schemas['ToolCallRecordedData'], ToolCallRecordedData>,
  Assignable<Schemas['ToolCallRecordedEvent'], Envelope<'tool_call.recorded'>>,
  Assignable<Schemas['TokenIssuedEvent'], Envelope<'token.issued'>>,
  // What the SDK reads of a batch answer is what the service promises.
  Assignable<ItemOutcome['status'], Schemas['BatchResult']['results'][number]['status']>,
];
