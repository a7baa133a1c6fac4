export { JartrailAgent, ToolCallDenied, type AgentToken, type CallContext, type CompletedToolCall, type JartrailAgentOptions, type ToolCall, type WrapOptions } from './agent';
export { deliverBatch, signedHeaders, type BatchOutcome, type DeliveryTarget, type ItemOutcome, type SourceCredentials } from './delivery';
export { Dispatcher, FlushTimeoutError, type DispatcherNotice, type DispatcherOptions, type RetryPolicy } from './dispatcher';
export type * from './events';
export { canonicalJson, digestOf, jsonDigest, sha256Base64Url, tokenHash, type Digest, type TokenHash } from './hashes';
export { FileOutbox, MemoryOutbox, type FileOutboxOptions, type Outbox, type OutboxEntry, type SetAsideEntry } from './outbox';
