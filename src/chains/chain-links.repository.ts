import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { sqlTextLiteral } from '../common/sql-literal';
import { EVENT_TYPES } from '../evidence/event-types';
import type { FacetDeclaration } from '../evidence/facets';
import { textAtSql } from './data-path-sql';
import type { TokenRefRole } from './token-ref.entity';

/** A record's membership of a chain. */
export interface ChainMember {
  readonly chainDigest: string;
  readonly eventSeq: string;
}

export interface TokenRefRow {
  readonly tokenKey: string;
  readonly role: TokenRefRole;
  readonly eventSeq: string;
}

export interface AliasRow {
  readonly alias: string;
  readonly chainDigest: string;
  readonly eventSeq: string;
}

type MemberRow = { chain_digest: string; event_seq: string };

const toMembers = (rows: MemberRow[]): ChainMember[] => rows.map((row) => ({ chainDigest: row.chain_digest, eventSeq: String(row.event_seq) }));

const memberRows = (members: readonly ChainMember[]) =>
  JSON.stringify(members.map((member) => ({ chain_digest: member.chainDigest, event_seq: member.eventSeq })));

const facetValueSql = (facet: FacetDeclaration) =>
  'text' in facet
    ? textAtSql('e.data', facet.text)
    : `CASE WHEN ${facet.trueWhenAny.map((condition) => `(${textAtSql('e.data', condition.path)}) = ${sqlTextLiteral(condition.equals)}`).join(' OR ')} THEN 'true' END`;

/**
 * One row `(name, value)` per facet any type declares, its value NULL unless the event is of that type: composed
 * once from the definitions (evidence/facets.ts), so that the statement stays one set-based insert per batch.
 */
const EVENT_FACET_ROWS_SQL = [...EVENT_TYPES.values()]
  .flatMap((definition) =>
    definition.facets.map((facet) => `(${sqlTextLiteral(facet.name)}, CASE WHEN e.type = ${sqlTextLiteral(definition.type)} THEN ${facetValueSql(facet)} END)`),
  )
  .join(',\n         ');

/**
 * The SQL of chain linking. Every insert is `ON CONFLICT DO NOTHING ... RETURNING`, so each call reports only
 * the memberships it made, and repeating a call changes nothing. All of it runs in the linker's transaction.
 *
 * Each step starts from the few records of one delivery and looks up their neighbours by index. The joins that
 * reach existing rows are written as `LATERAL (... OFFSET 0)`: the OFFSET keeps PostgreSQL from flattening them
 * into joins it may plan as hash joins over whole tables, which it did while a table grew faster than its
 * statistics (bench:ingest measured 2.7 ms a single event and 42 ms a batch for one such step; by index, well
 * under a millisecond). A lookup by index is the right plan here whatever the statistics say.
 */
@Injectable()
export class ChainLinksRepository {
  async insertTokenRefs(manager: EntityManager, refs: readonly TokenRefRow[]): Promise<void> {
    if (refs.length === 0) return;
    await manager.query(
      `INSERT INTO token_refs (token_key, role, event_seq)
       SELECT r.token_key, r.role, r.event_seq FROM jsonb_to_recordset($1::jsonb) AS r(token_key text, role text, event_seq bigint)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(refs.map((ref) => ({ token_key: ref.tokenKey, role: ref.role, event_seq: ref.eventSeq })))],
    );
  }

  /**
   * Records inner-digest aliases, then moves into each JWE's chain whatever was linked to the inner digest
   * before the alias was known (a token that named the inner digest and arrived first).
   */
  async insertAliases(manager: EntityManager, aliases: readonly AliasRow[]): Promise<ChainMember[]> {
    if (aliases.length === 0) return [];
    await manager.query(
      `WITH rows AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(alias text, chain_digest text, event_seq bigint)
       ), new_chains AS (
         INSERT INTO chains (digest, created_at)
         SELECT r.chain_digest, min(e.recorded_at) FROM rows r JOIN events e ON e.seq = r.event_seq GROUP BY r.chain_digest
         ON CONFLICT DO NOTHING
       )
       INSERT INTO digest_aliases (alias, chain_digest, event_seq)
       SELECT alias, chain_digest, event_seq FROM rows
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(aliases.map((row) => ({ alias: row.alias, chain_digest: row.chainDigest, event_seq: row.eventSeq })))],
    );
    return toMembers(
      await manager.query(
        `INSERT INTO chain_members (chain_digest, event_seq)
         SELECT DISTINCT a.chain_digest, m.event_seq
         FROM digest_aliases a
         CROSS JOIN LATERAL (SELECT m.event_seq FROM chain_members m WHERE m.chain_digest = a.alias OFFSET 0) m
         WHERE a.alias = ANY($1::text[])
         ON CONFLICT DO NOTHING
         RETURNING chain_digest, event_seq`,
        [aliases.map((row) => row.alias)],
      ),
    );
  }

  /**
   * Records that name a digest join its chain, or the chain it is an alias of; the chain is created on first mention,
   * first recorded when its first record was (not when the linker got to it, which is later and coarser).
   */
  async linkDirect(manager: EntityManager, links: readonly { eventSeq: string; digest: string }[]): Promise<ChainMember[]> {
    if (links.length === 0) return [];
    return toMembers(
      await manager.query(
        `WITH direct AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(event_seq bigint, digest text)
         ), targets AS (
           SELECT DISTINCT d.event_seq, COALESCE(a.chain_digest, d.digest) AS chain_digest
           FROM direct d LEFT JOIN digest_aliases a ON a.alias = d.digest
         ), new_chains AS (
           INSERT INTO chains (digest, created_at)
           SELECT t.chain_digest, min(e.recorded_at) FROM targets t JOIN events e ON e.seq = t.event_seq GROUP BY t.chain_digest
           ON CONFLICT DO NOTHING
         )
         INSERT INTO chain_members (chain_digest, event_seq)
         SELECT chain_digest, event_seq FROM targets
         ON CONFLICT DO NOTHING
         RETURNING chain_digest, event_seq`,
        [JSON.stringify(links.map((link) => ({ event_seq: link.eventSeq, digest: link.digest })))],
      ),
    );
  }

  /** New records that name a token (child tokens, tool calls, revocations) join every chain that token is in. */
  async linkToReferencedTokens(manager: EntityManager, eventSeqs: readonly string[]): Promise<ChainMember[]> {
    if (eventSeqs.length === 0) return [];
    return toMembers(
      await manager.query(
        `INSERT INTO chain_members (chain_digest, event_seq)
         SELECT DISTINCT m.chain_digest, r.event_seq
         FROM token_refs r
         CROSS JOIN LATERAL (SELECT i.event_seq FROM token_refs i WHERE i.token_key = r.token_key AND i.role = 'identity' OFFSET 0) i
         CROSS JOIN LATERAL (SELECT m.chain_digest FROM chain_members m WHERE m.event_seq = i.event_seq OFFSET 0) m
         WHERE r.event_seq = ANY($1::bigint[]) AND r.role <> 'identity'
         ON CONFLICT DO NOTHING
         RETURNING chain_digest, event_seq`,
        [eventSeqs],
      ),
    );
  }

  /** For tokens that just joined a chain: whatever names them (earlier arrivals included) joins it too. */
  async linkDependents(manager: EntityManager, tokens: readonly ChainMember[]): Promise<ChainMember[]> {
    if (tokens.length === 0) return [];
    return toMembers(
      await manager.query(
        `INSERT INTO chain_members (chain_digest, event_seq)
         SELECT DISTINCT f.chain_digest, r.event_seq
         FROM jsonb_to_recordset($1::jsonb) AS f(chain_digest text, event_seq bigint)
         CROSS JOIN LATERAL (SELECT i.token_key FROM token_refs i WHERE i.event_seq = f.event_seq AND i.role = 'identity' OFFSET 0) i
         CROSS JOIN LATERAL (SELECT r.event_seq FROM token_refs r WHERE r.token_key = i.token_key AND r.role <> 'identity' OFFSET 0) r
         ON CONFLICT DO NOTHING
         RETURNING chain_digest, event_seq`,
        [memberRows(tokens)],
      ),
    );
  }

  /**
   * Waits for verdicts being recorded for these records right now (the verification worker holds their queue rows
   * FOR UPDATE while it writes a verdict and its facets): once they commit, the facets read below see the verdicts;
   * a verdict recorded later sees this transaction's memberships. Either way the verdict's facet is written. KEY
   * SHARE, so that a worker claiming the rows meanwhile (FOR NO KEY UPDATE SKIP LOCKED) does not skip them.
   */
  async awaitVerdictsInFlight(manager: EntityManager, eventSeqs: readonly string[]): Promise<void> {
    if (eventSeqs.length === 0) return;
    await manager.query(`SELECT event_seq FROM verification_queue WHERE event_seq = ANY($1::bigint[]) ORDER BY event_seq FOR KEY SHARE`, [eventSeqs]);
  }

  /**
   * The searchable values each new membership brings to its chain, read from the record as it is linked (before any
   * purge) by its type's facet declarations. A verification judged before it was linked brings its verdict facets
   * (the verifier wrote none: no chain yet).
   */
  async insertFacets(manager: EntityManager, members: readonly ChainMember[]): Promise<void> {
    if (members.length === 0) return;
    await manager.query(
      `INSERT INTO chain_facets (name, value, chain_digest, chain_created_at)
       SELECT DISTINCT f.name, f.value, m.chain_digest, c.created_at
       FROM jsonb_to_recordset($1::jsonb) AS m(chain_digest text, event_seq bigint)
       CROSS JOIN LATERAL (SELECT e.type, e.data FROM events e WHERE e.seq = m.event_seq OFFSET 0) e
       CROSS JOIN LATERAL (SELECT c.created_at FROM chains c WHERE c.digest = m.chain_digest OFFSET 0) c
       LEFT JOIN LATERAL (SELECT iv.verdict, iv.mismatch FROM independent_verdicts iv WHERE iv.event_seq = m.event_seq OFFSET 0) iv ON true
       CROSS JOIN LATERAL (VALUES
         ${EVENT_FACET_ROWS_SQL},
         ('independent_verdict', iv.verdict),
         ('verdict_mismatch', CASE WHEN iv.mismatch THEN 'true' END)
       ) AS f(name, value)
       WHERE f.value IS NOT NULL
       ON CONFLICT DO NOTHING`,
      [memberRows(members)],
    );
  }
}
