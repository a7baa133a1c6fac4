import type { EventTypeDefinition } from './event-type-definition';

/**
 * One event as read back to be judged (by the finding rules): who sent it, when, its data as stored, and the chains
 * it belongs to. Its `data` is typed by its type's schema: it passed it on the way in, and minimisation only removed
 * or replaced values.
 */
export interface StoredEvent<Type extends string, Data> {
  /** events.seq: the evidence reference, turned into a ledger seq when shown. */
  readonly seq: string;
  readonly eventId: string;
  readonly sourceId: string;
  readonly type: Type;
  /** When the recorded thing happened (the type's occurredAt). */
  readonly occurredAt: Date;
  /** When jartrail committed it. */
  readonly recordedAt: Date;
  /** null once retention purged the payload: a reader cannot read it and must not judge by its absence. */
  readonly data: Data | null;
  /** The chains the record belongs to (empty for a loose record). */
  readonly chains: readonly string[];
}

/** The stored record of one event type, from its definition. */
export type StoredEventOf<Definition> = Definition extends EventTypeDefinition<infer Data, infer Type> ? StoredEvent<Type, Data> : never;

/** The records of one type among records of several, typed by that type's record view. */
export function recordsOfType<AnyRecord extends { readonly type: string }, Type extends string>(
  records: readonly AnyRecord[],
  definition: { readonly type: Type },
): Extract<AnyRecord, { readonly type: Type }>[] {
  return records.filter((record): record is Extract<AnyRecord, { readonly type: Type }> => record.type === definition.type);
}
