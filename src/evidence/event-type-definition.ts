import type { z } from 'zod';
import type { FacetDeclaration } from './facets';
import type { LinkDeclaration } from './record-links';
import type { SourceKind } from '../sources/source-kind';

/** What the minimisation step needs: the spec keeps subjects pseudonymous and raw request objects only by choice. */
export interface MinimizationPolicy {
  /** Returns the stored form of a subject: a keyed pseudonym, or the subject itself when so configured. */
  readonly subjectOf: (subject: string) => string;
  readonly keepRequestObjects: boolean;
}

/** The part of a chain (its document, and the record counts of a search) that a record of a type is shown in. */
export type ChainSection = 'verifications' | 'consents' | 'tokens' | 'revocations' | 'tool_calls';

/** Who reported a record, for its summary. */
export interface RecordedBy {
  readonly sourceName: string;
}

/**
 * One event type of the ingest contract: who may send it, the schema of its `data`, when it happened, how it
 * links into chains, and what is removed before storage. Pure: no I/O, so it is tested alone.
 */
export interface EventTypeDefinition<Data extends object = object, Type extends string = string> {
  readonly type: Type;
  readonly senderKind: SourceKind;
  readonly data: z.ZodType<Data>;
  /** The moment the record describes, for the chain's timeline (the envelope timestamp when nothing better exists). */
  occurredAt(data: Data, envelopeTimestamp: Date): Date;
  /**
   * Where records share a second of occurrence, the timeline puts them in this order (lower first): the order in
   * which one can cause the next. Occurrence times come from different clocks and some have no fraction (a
   * token's `iat` is whole seconds), so within one second they cannot order a consent before its token.
   */
  readonly causalRank: number;
  /** How a record of this type links into chains (read with linksOf). */
  readonly links: LinkDeclaration;
  /**
   * One line for a reviewer reading a chain's timeline top to bottom. `data` is as stored: it passed the schema on the
   * way in, and minimisation only removed or replaced values.
   */
  summarize(data: Data, recorded: RecordedBy): string;
  readonly chainSection: ChainSection;
  /**
   * A `data` as a sender writes it, valid for the schema: what a reader of the contract is shown first, and the case
   * that the checks over every type (event-types.spec.ts) run through the definition.
   */
  readonly example: Readonly<Record<string, unknown>>;
  /** What a record of this type makes searchable in each chain it joins (`GET /v1/chains?client_id=...`). */
  readonly facets: readonly FacetDeclaration[];
  minimize(data: Data, policy: MinimizationPolicy): Data;
  /**
   * For a type jartrail verifies again itself: what the verification needs that minimisation may drop (the
   * request object). The event is queued for independent verification in its ingest transaction.
   */
  independentVerification?(data: Data): { readonly requestObject: string | undefined };
}

export function defineEventType<Data extends object, const Type extends string>(definition: EventTypeDefinition<Data, Type>): EventTypeDefinition<Data, Type> {
  return definition;
}
