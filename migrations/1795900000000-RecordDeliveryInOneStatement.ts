import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recording a delivery becomes one SQL statement, `SELECT * FROM jartrail_record_delivery($1, $2)`: the events,
 * the conflicts and the chain links, in one round trip and one implicit transaction.
 *
 * Why in the database: a single event used to cost about ten round trips (BEGIN, the inserts and link steps,
 * COMMIT), each a wait on the network and a write system call on both sides; with the database across a network
 * those waits, not the SQL, bound ingest per connection. Measured on one host (bench/, docs/PERFORMANCE.md), the
 * service's CPU per event fell to a third and PostgreSQL's stayed about the same. The steps below are the ones
 * the service ran before, in the same order and under the same locks.
 */
export class RecordDeliveryInOneStatement1795900000000 implements MigrationInterface {
  name = 'RecordDeliveryInOneStatement1795900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(LINK_RECORDS);
    await queryRunner.query(RECORD_DELIVERY);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "jartrail_record_delivery"(uuid, jsonb)`);
    await queryRunner.query(`DROP FUNCTION "jartrail_link_records"(jsonb)`);
  }
}

/**
 * Turns newly recorded events into chain membership, whatever order their records arrive in.
 *
 * `p_records`: `[{seq, digest?, inner_digest?, token_identity?: [key], reference_role?, reference_keys?: [key]}]`,
 * token keys being `jti:<jti>` or `th:<token hash>`.
 *
 * A record joins a chain directly (it names the digest) or through a token (it names a token that is in the
 * chain). When a token joins a chain, everything that names it joins too, and so on down: a late parent completes
 * the chain of every refresh token, tool call and revocation that arrived before it.
 *
 * Concurrency: two records that can link to each other share a lock key (a token key or a digest), taken for the
 * rest of the transaction, in one order ("C" collation), before anything is read; a token reached through older
 * links has its keys locked before its dependents are read. So of two transactions that could each miss the
 * other, the second waits for the first to commit and then sees it. Each statement below is a new snapshot.
 */
const LINK_RECORDS = `
CREATE FUNCTION "jartrail_link_records"(p_records jsonb) RETURNS void LANGUAGE plpgsql
-- A delivery holds 1 to 1,000 events: a plan cached for one size is wrong for the other.
SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
  record_seqs bigint[];
  record_digests text[];
  record_inner_digests text[];
  not_tokens bigint[];
  identity_seqs bigint[];
  identity_keys text[];
  reference_seqs bigint[];
  reference_roles text[];
  reference_keys text[];
  made_chains text[] := '{}';
  made_seqs bigint[] := '{}';
  frontier_chains text[];
  frontier_seqs bigint[];
  next_chains text[];
  next_seqs bigint[];
BEGIN
  SELECT array_agg(r.seq), array_agg(r.digest), array_agg(r.inner_digest),
         COALESCE(array_agg(r.seq) FILTER (WHERE jsonb_array_length(COALESCE(r.token_identity, '[]')) = 0), '{}')
  INTO record_seqs, record_digests, record_inner_digests, not_tokens
  FROM jsonb_to_recordset(p_records) AS r(seq bigint, digest text, inner_digest text, token_identity jsonb);
  IF record_seqs IS NULL THEN RETURN; END IF;
  SELECT COALESCE(array_agg(r.seq), '{}'), COALESCE(array_agg(k.key), '{}') INTO identity_seqs, identity_keys
  FROM jsonb_to_recordset(p_records) AS r(seq bigint, token_identity jsonb)
  CROSS JOIN jsonb_array_elements_text(COALESCE(r.token_identity, '[]')) AS k(key);
  SELECT COALESCE(array_agg(r.seq), '{}'), COALESCE(array_agg(r.reference_role), '{}'), COALESCE(array_agg(k.key), '{}')
  INTO reference_seqs, reference_roles, reference_keys
  FROM jsonb_to_recordset(p_records) AS r(seq bigint, reference_role text, reference_keys jsonb)
  CROSS JOIN jsonb_array_elements_text(COALESCE(r.reference_keys, '[]')) AS k(key)
  WHERE r.reference_role IS NOT NULL;

  PERFORM count(pg_advisory_xact_lock(hashtextextended(k, 0)))
  FROM (
    SELECT DISTINCT k COLLATE "C" AS k FROM (
      SELECT 'digest:' || d FROM unnest(record_digests) AS d WHERE d IS NOT NULL
      UNION ALL SELECT 'digest:' || d FROM unnest(record_inner_digests) AS d WHERE d IS NOT NULL
      UNION ALL SELECT unnest(identity_keys)
      UNION ALL SELECT unnest(reference_keys)
    ) AS keys(k)
    ORDER BY 1
  ) AS sorted;

  INSERT INTO token_refs (token_key, role, event_seq)
  SELECT key, 'identity', seq FROM unnest(identity_keys, identity_seqs) AS i(key, seq)
  UNION ALL
  SELECT key, role, seq FROM unnest(reference_keys, reference_roles, reference_seqs) AS r(key, role, seq)
  ON CONFLICT DO NOTHING;

  -- Inner digests: the alias, then whatever was linked to the inner digest before the alias was known moves in.
  IF EXISTS (SELECT 1 FROM unnest(record_digests, record_inner_digests) AS r(digest, inner_digest) WHERE digest IS NOT NULL AND inner_digest IS NOT NULL) THEN
    INSERT INTO chains (digest)
    SELECT DISTINCT digest FROM unnest(record_digests, record_inner_digests) AS r(digest, inner_digest)
    WHERE digest IS NOT NULL AND inner_digest IS NOT NULL
    ON CONFLICT DO NOTHING;
    INSERT INTO digest_aliases (alias, chain_digest, event_seq)
    SELECT inner_digest, digest, seq FROM unnest(record_seqs, record_digests, record_inner_digests) AS r(seq, digest, inner_digest)
    WHERE digest IS NOT NULL AND inner_digest IS NOT NULL
    ON CONFLICT DO NOTHING;
    WITH moved AS (
      INSERT INTO chain_members (chain_digest, event_seq)
      SELECT DISTINCT a.chain_digest, m.event_seq
      FROM digest_aliases a JOIN chain_members m ON m.chain_digest = a.alias
      WHERE a.alias = ANY (record_inner_digests)
      ON CONFLICT DO NOTHING
      RETURNING chain_digest, event_seq
    )
    SELECT made_chains || COALESCE(array_agg(chain_digest), '{}'), made_seqs || COALESCE(array_agg(event_seq), '{}')
    INTO made_chains, made_seqs FROM moved;
  END IF;

  -- Records that name a digest join its chain, or the chain it is an alias of; the chain is created on first mention.
  WITH targets AS (
    SELECT DISTINCT r.seq AS event_seq, COALESCE(a.chain_digest, r.digest) AS chain_digest
    FROM unnest(record_seqs, record_digests) AS r(seq, digest) LEFT JOIN digest_aliases a ON a.alias = r.digest
    WHERE r.digest IS NOT NULL
  ), new_chains AS (
    INSERT INTO chains (digest) SELECT DISTINCT chain_digest FROM targets ON CONFLICT DO NOTHING
  ), linked AS (
    INSERT INTO chain_members (chain_digest, event_seq)
    SELECT chain_digest, event_seq FROM targets
    ON CONFLICT DO NOTHING
    RETURNING chain_digest, event_seq
  )
  SELECT made_chains || COALESCE(array_agg(chain_digest), '{}'), made_seqs || COALESCE(array_agg(event_seq), '{}')
  INTO made_chains, made_seqs FROM linked;

  -- New records that name a token (child tokens, tool calls, revocations) join every chain that token is in.
  IF cardinality(reference_seqs) > 0 THEN
    WITH linked AS (
      INSERT INTO chain_members (chain_digest, event_seq)
      SELECT DISTINCT m.chain_digest, r.event_seq
      FROM token_refs r
      JOIN token_refs i ON i.token_key = r.token_key AND i.role = 'identity'
      JOIN chain_members m ON m.event_seq = i.event_seq
      WHERE r.event_seq = ANY (reference_seqs) AND r.role <> 'identity'
      ON CONFLICT DO NOTHING
      RETURNING chain_digest, event_seq
    )
    SELECT made_chains || COALESCE(array_agg(chain_digest), '{}'), made_seqs || COALESCE(array_agg(event_seq), '{}')
    INTO made_chains, made_seqs FROM linked;
  END IF;

  -- Tokens that just joined a chain bring whatever names them (earlier arrivals included), until nothing new links.
  SELECT COALESCE(array_agg(c), '{}'), COALESCE(array_agg(s), '{}') INTO frontier_chains, frontier_seqs
  FROM unnest(made_chains, made_seqs) AS m(c, s) WHERE s <> ALL (not_tokens);
  WHILE cardinality(frontier_seqs) > 0 LOOP
    -- Tokens created in this transaction are locked already; older ones reached through links are not.
    PERFORM count(pg_advisory_xact_lock(hashtextextended(token_key, 0)))
    FROM (
      SELECT DISTINCT token_key COLLATE "C" AS token_key FROM token_refs
      WHERE event_seq = ANY (frontier_seqs) AND event_seq <> ALL (record_seqs) AND role = 'identity'
      ORDER BY 1
    ) AS keys;
    WITH linked AS (
      INSERT INTO chain_members (chain_digest, event_seq)
      SELECT DISTINCT f.chain_digest, r.event_seq
      FROM unnest(frontier_chains, frontier_seqs) AS f(chain_digest, event_seq)
      JOIN token_refs i ON i.event_seq = f.event_seq AND i.role = 'identity'
      JOIN token_refs r ON r.token_key = i.token_key AND r.role <> 'identity'
      ON CONFLICT DO NOTHING
      RETURNING chain_digest, event_seq
    )
    SELECT COALESCE(array_agg(chain_digest), '{}'), COALESCE(array_agg(event_seq), '{}') INTO next_chains, next_seqs FROM linked;
    made_chains := made_chains || next_chains;
    made_seqs := made_seqs || next_seqs;
    SELECT COALESCE(array_agg(c), '{}'), COALESCE(array_agg(s), '{}') INTO frontier_chains, frontier_seqs
    FROM unnest(next_chains, next_seqs) AS m(c, s) WHERE s <> ALL (not_tokens);
  END LOOP;

  -- The searchable values each new membership brings to its chain.
  INSERT INTO chain_facets (name, value, chain_digest, chain_created_at)
  SELECT DISTINCT f.name, f.value, m.chain_digest, c.created_at
  FROM unnest(made_chains, made_seqs) AS m(chain_digest, event_seq)
  JOIN events e ON e.seq = m.event_seq
  JOIN chains c ON c.digest = m.chain_digest
  CROSS JOIN LATERAL (VALUES
    ('client_id', CASE WHEN e.type = 'request_object.verification' THEN e.data ->> 'client_id' END),
    ('issuer', CASE WHEN e.type = 'request_object.verification' THEN e.data ->> 'issuer' END),
    ('subject', CASE WHEN e.type = 'consent.decision' THEN e.data ->> 'subject' END),
    ('tool', CASE WHEN e.type = 'tool_call.recorded' THEN e.data ->> 'tool' END)
  ) AS f(name, value)
  WHERE f.value IS NOT NULL
  ON CONFLICT DO NOTHING;
END
$fn$`;

/**
 * Records one delivery and answers each event's status, in input order: `accepted` (new), `duplicate` (the
 * same body again) or `conflict` (a different body under a known id, kept in event_conflicts as evidence).
 *
 * `p_events`: `[{event_id, type, emitted_at, occurred_at, fingerprint (base64), data, ...links}]`, links as
 * jartrail_link_records takes them. The unique (source, event id) constraint decides new versus known, so two
 * replicas receiving one event at once store it once: the second insert waits for the first transaction, then
 * does nothing, and the next statement (a new snapshot) sees the committed record.
 */
const RECORD_DELIVERY = `
CREATE FUNCTION "jartrail_record_delivery"(p_source_id uuid, p_events jsonb)
RETURNS TABLE ("position" integer, "status" text) LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $fn$
#variable_conflict use_column
DECLARE
  delivered_ids text[];
  inserted_seqs bigint[];
  new_records jsonb;
BEGIN
  -- Within one delivery the first occurrence of an id is the candidate record; repeats compare against it.
  WITH delivered AS (
    SELECT (x.ordinality - 1)::integer AS position, x.item FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(item, ordinality)
  ), candidates AS (
    SELECT DISTINCT ON (item ->> 'event_id') position, item FROM delivered ORDER BY item ->> 'event_id', position
  ), inserted AS (
    INSERT INTO events (source_id, event_id, type, emitted_at, occurred_at, fingerprint, data)
    SELECT p_source_id, item ->> 'event_id', item ->> 'type', (item ->> 'emitted_at')::timestamptz,
           (item ->> 'occurred_at')::timestamptz, decode(item ->> 'fingerprint', 'base64'), item -> 'data'
    FROM candidates ORDER BY position
    ON CONFLICT ON CONSTRAINT uq_events_source_event_id DO NOTHING
    RETURNING seq, event_id
  )
  SELECT array_agg(i.seq), jsonb_agg(c.item - ARRAY['type', 'emitted_at', 'occurred_at', 'fingerprint', 'data'] || jsonb_build_object('seq', i.seq))
  INTO inserted_seqs, new_records
  FROM inserted i JOIN candidates c ON c.item ->> 'event_id' = i.event_id;

  -- The stored record of every delivered id, looked up by the ids themselves (a join on the delivered rows could
  -- be planned as a scan of all of the source's events).
  SELECT array_agg(DISTINCT item ->> 'event_id') INTO delivered_ids FROM jsonb_array_elements(p_events) AS x(item);

  RETURN QUERY
  WITH delivered AS (
    SELECT (x.ordinality - 1)::integer AS position, x.item FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(item, ordinality)
  ), stored AS (
    SELECT e.event_id, e.seq, e.fingerprint FROM events e WHERE e.source_id = p_source_id AND e.event_id = ANY (delivered_ids)
  ), classified AS (
    SELECT d.position, d.item, e.seq AS original_seq,
           CASE
             WHEN d.position = min(d.position) OVER (PARTITION BY d.item ->> 'event_id')
                  AND e.seq = ANY (inserted_seqs) THEN 'accepted'
             WHEN e.fingerprint = decode(d.item ->> 'fingerprint', 'base64') THEN 'duplicate'
             ELSE 'conflict'
           END AS status
    FROM delivered d JOIN stored e ON e.event_id = d.item ->> 'event_id'
  ), conflicts AS (
    INSERT INTO event_conflicts (source_id, event_id, original_seq, type, emitted_at, fingerprint, data)
    SELECT p_source_id, item ->> 'event_id', original_seq, item ->> 'type', (item ->> 'emitted_at')::timestamptz,
           decode(item ->> 'fingerprint', 'base64'), item -> 'data'
    FROM classified WHERE classified.status = 'conflict'
    ON CONFLICT ON CONSTRAINT uq_event_conflicts_delivery DO NOTHING
  )
  SELECT classified.position, classified.status FROM classified ORDER BY classified.position;

  IF new_records IS NOT NULL THEN
    PERFORM "jartrail_link_records"(new_records);
  END IF;
END
$fn$`;
