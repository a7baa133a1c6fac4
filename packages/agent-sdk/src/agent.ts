import { randomUUID } from 'node:crypto';
import type { SourceCredentials } from './delivery';
import { Dispatcher, type DispatcherNotice, type RetryPolicy } from './dispatcher';
import type { SideEffect, TokenReference, ToolCallRecordedData } from './events';
import { jsonDigest, tokenHash } from './hashes';
import { FileOutbox, MemoryOutbox, type Outbox } from './outbox';

/**
 * The token a call was made with, as the agent holds it. A string is the token itself: only its hash
 * (base64url(SHA-256(token))) is sent. `{ jti }` names a JWT access token by its `jti` instead.
 */
export type AgentToken = string | { readonly jti: string } | { readonly tokenHash: string };

export interface JartrailAgentOptions {
  /** jartrail's base URL. */
  readonly url: string;
  /** The agent's source in jartrail (kind `agent`). */
  readonly source: SourceCredentials;
  /** This agent's name in the records (`agent_id`). */
  readonly agentId: string;
  /**
   * A folder for a durable outbox: calls recorded while jartrail is unreachable survive a restart of the agent.
   * Without it, they wait in memory (they survive an outage of jartrail, not a crash of the agent).
   */
  readonly outboxDirectory?: string;
  /** Or an outbox of your own. */
  readonly outbox?: Outbox;
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  readonly fetch?: typeof fetch;
  readonly onNotice?: (notice: DispatcherNotice) => void;
}

/** A tool call to record, in the SDK's words; `token` is turned into a hash here, before anything leaves. */
export interface ToolCall {
  readonly token: AgentToken;
  readonly tool: string;
  readonly action: string;
  readonly resource?: string | string[];
  /** The call's arguments: only their digest (base64url(SHA-256(RFC 8785 JSON))) is recorded. */
  readonly arguments?: unknown;
  /** The `type` (or an identifier) of the authorization_details entry that allowed this call. */
  readonly authorizationDetailsRef?: string;
  /** Default: a new UUID. One call, one id: jartrail flags two different records with one call_id. */
  readonly callId?: string;
}

export interface CompletedToolCall extends ToolCall {
  readonly startedAt: Date;
  readonly completedAt?: Date;
  readonly outcome: 'succeeded' | 'failed' | 'denied';
  readonly sideEffect?: SideEffect;
}

/** Handed to a wrapped function: the call's id, and a way to say what the call changed. */
export interface CallContext {
  readonly callId: string;
  sideEffect(effect: SideEffect): void;
}

export interface WrapOptions<T> extends ToolCall {
  /** The side effect, read from the result (instead of, or besides, `context.sideEffect`). */
  readonly sideEffectOf?: (result: T) => SideEffect | undefined;
  /** Which errors mean "not allowed" (outcome `denied`) rather than "failed". Default: ToolCallDenied. */
  readonly isDenied?: (error: unknown) => boolean;
}

/** Throw this from a wrapped function when the tool refused the call (outcome `denied`). */
export class ToolCallDenied extends Error {
  constructor(message = 'the tool refused the call') {
    super(message);
    this.name = 'ToolCallDenied';
  }
}

function tokenReference(token: AgentToken): TokenReference {
  if (typeof token === 'string') return { token_hash: tokenHash(token) };
  if ('jti' in token) return { jti: token.jti };
  return { token_hash: token.tokenHash };
}

const AGENT_SOURCE = 'agent';

/**
 * Records an agent's tool calls in jartrail as `tool_call.recorded` events: signed as the agent's source, batched,
 * retried until jartrail has them. A call names its token by hash, so jartrail links it to the chain of the
 * request object the token came from.
 */
export class JartrailAgent {
  private constructor(
    private readonly dispatcher: Dispatcher,
    readonly agentId: string,
  ) {}

  static async create(options: JartrailAgentOptions): Promise<JartrailAgent> {
    const outbox = options.outbox ?? (options.outboxDirectory !== undefined ? await FileOutbox.open(options.outboxDirectory) : new MemoryOutbox());
    const dispatcher = new Dispatcher({
      url: options.url,
      sources: { [AGENT_SOURCE]: options.source },
      outbox,
      batchSize: options.batchSize,
      retry: options.retry,
      fetch: options.fetch,
      onNotice: options.onNotice,
    });
    return new JartrailAgent(dispatcher, options.agentId);
  }

  /** Records a call that already happened; resolves with its call_id once it is in the outbox. */
  record(call: CompletedToolCall): Promise<string> {
    return this.enqueue(call, tokenReference(call.token));
  }

  private async enqueue(call: Omit<CompletedToolCall, 'token'>, token: TokenReference): Promise<string> {
    const callId = call.callId ?? randomUUID();
    const data: ToolCallRecordedData = {
      call_id: callId,
      agent_id: this.agentId,
      token,
      tool: call.tool,
      action: call.action,
      ...(call.resource !== undefined && { resource: call.resource }),
      ...(call.arguments !== undefined && { arguments_digest: jsonDigest(call.arguments) }),
      ...(call.authorizationDetailsRef !== undefined && { authorization_details_ref: call.authorizationDetailsRef }),
      started_at: call.startedAt.toISOString(),
      ...(call.completedAt !== undefined && { completed_at: call.completedAt.toISOString() }),
      outcome: call.outcome,
      ...(call.sideEffect !== undefined && { side_effect: call.sideEffect }),
    };
    // The call id doubles as the event id: recording the same call twice is one record, not a conflict.
    await this.dispatcher.enqueue(AGENT_SOURCE, 'tool_call.recorded', data, { id: `tool-call-${callId}`, timestamp: call.completedAt ?? call.startedAt });
    return callId;
  }

  /**
   * Runs `fn` as one tool call and records it: when it started, how it ended (succeeded; failed when it throws;
   * denied when it throws ToolCallDenied or what `isDenied` accepts) and its side effect. Returns what `fn`
   * returns and throws what it throws; recording never changes either (a recording failure is a notice).
   */
  async call<T>(options: WrapOptions<T>, fn: (context: CallContext) => Promise<T> | T): Promise<T> {
    const callId = options.callId ?? randomUUID();
    // The token is hashed before the call runs, so a call with an unusable token fails here, not after its effect.
    const token = tokenReference(options.token);
    let sideEffect: SideEffect | undefined;
    const context: CallContext = { callId, sideEffect: (effect) => void (sideEffect = effect) };
    const startedAt = new Date();
    const finish = async (outcome: CompletedToolCall['outcome']) => {
      try {
        await this.enqueue({ ...options, callId, startedAt, completedAt: new Date(), outcome, sideEffect }, token);
      } catch (error) {
        this.dispatcher.notify({ kind: 'error', error });
      }
    };
    let result: T;
    try {
      result = await fn(context);
    } catch (error) {
      await finish((options.isDenied ?? ((candidate) => candidate instanceof ToolCallDenied))(error) ? 'denied' : 'failed');
      throw error;
    }
    sideEffect = options.sideEffectOf?.(result) ?? sideEffect;
    await finish('succeeded');
    return result;
  }

  /** Wraps a function once: every call of the result is recorded as `call` records it. */
  wrap<A extends unknown[], T>(options: (...args: A) => WrapOptions<T>, fn: (context: CallContext, ...args: A) => Promise<T> | T): (...args: A) => Promise<T> {
    return (...args: A) => this.call(options(...args), (context) => fn(context, ...args));
  }

  /** How many recorded calls wait for jartrail. */
  get waiting(): number {
    return this.dispatcher.waiting;
  }

  /** Resolves once jartrail has every call recorded so far (FlushTimeoutError after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void> {
    return this.dispatcher.flush(timeoutMs);
  }

  /** Stops sending; with a durable outbox, what still waits is sent after the next start. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }
}
