import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident ledger: a queue of committed records waiting for the sequencer, the gapless ledger entries
 * (seq = leaf index) with each record's salt and salted payload hash, the node store (hashes of complete
 * subtrees), signed checkpoints, the signing keys and the record of retention purges. Payloads become nullable:
 * retention blanks them through one audited function, and nothing else may change evidence.
 */
export class Ledger1796000000000 implements MigrationInterface {
  name = 'Ledger1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "ledger_pending" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "record_kind" text NOT NULL,
        "record_seqs" bigint[] NOT NULL,
        CONSTRAINT "pk_ledger_pending" PRIMARY KEY ("id"),
        CONSTRAINT "chk_ledger_pending_kind" CHECK ("record_kind" IN ('event', 'conflict'))
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_entries" (
        "seq" bigint NOT NULL,
        "record_kind" text NOT NULL,
        "record_seq" bigint NOT NULL,
        "salt" bytea NOT NULL,
        "payload_hash" bytea NOT NULL,
        "leaf_hash" bytea NOT NULL,
        "sequenced_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_ledger_entries" PRIMARY KEY ("seq"),
        CONSTRAINT "uq_ledger_entries_record" UNIQUE ("record_kind", "record_seq"),
        CONSTRAINT "chk_ledger_entries_kind" CHECK ("record_kind" IN ('event', 'conflict'))
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_nodes" (
        "level" smallint NOT NULL,
        "idx" bigint NOT NULL,
        "hash" bytea NOT NULL,
        CONSTRAINT "pk_ledger_nodes" PRIMARY KEY ("level", "idx")
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_signing_keys" (
        "kid" text NOT NULL,
        "alg" text NOT NULL,
        "public_jwk" jsonb NOT NULL,
        "sealed_private_jwk" bytea,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_ledger_signing_keys" PRIMARY KEY ("kid"),
        CONSTRAINT "chk_ledger_signing_keys_alg" CHECK ("alg" IN ('EdDSA', 'ES256'))
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_checkpoints" (
        "tree_size" bigint NOT NULL,
        "root_hash" bytea NOT NULL,
        "issued_at" timestamptz NOT NULL,
        "kid" text NOT NULL,
        "jws" text NOT NULL,
        CONSTRAINT "pk_ledger_checkpoints" PRIMARY KEY ("tree_size"),
        CONSTRAINT "fk_ledger_checkpoints_key" FOREIGN KEY ("kid") REFERENCES "ledger_signing_keys" ("kid") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_purges" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "policy" text NOT NULL,
        "from_ledger_seq" bigint NOT NULL,
        "to_ledger_seq" bigint NOT NULL,
        "records" integer NOT NULL,
        "recorded_before" timestamptz NOT NULL,
        "purged_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_ledger_purges" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_ledger_purges_range" ON "ledger_purges" ("to_ledger_seq", "from_ledger_seq")`);

    // Every committed record enters the queue in its own transaction: a statement-level trigger writes one queue
    // row per ingest statement (the statement's seqs in order), whatever the batch size. A rolled-back ingest
    // leaves nothing in the queue.
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_enqueue_for_ledger"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ledger_pending (record_kind, record_seqs)
        SELECT TG_ARGV[0], array_agg(seq ORDER BY seq) FROM inserted HAVING count(*) > 0;
        RETURN NULL;
      END
      $$`);
    for (const [table, kind] of [['events', 'event'], ['event_conflicts', 'conflict']]) {
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_enqueue_for_ledger" AFTER INSERT ON "${table}" REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_enqueue_for_ledger"('${kind}')`,
      );
    }
    // Records accepted before the ledger existed are ledgered too, first, in the order they were recorded: queued
    // here in rows of 1,000 (the sequencer takes whole rows), events before the conflicts that name them.
    for (const [table, kind] of [['events', 'event'], ['event_conflicts', 'conflict']]) {
      await queryRunner.query(
        `INSERT INTO ledger_pending (record_kind, record_seqs)
         SELECT '${kind}', array_agg(seq ORDER BY seq) FROM "${table}" GROUP BY seq / 1000 ORDER BY seq / 1000`,
      );
    }

    // Payloads: nullable, and blanked only by jartrail_purge_payloads (below). The evidence tables' append-only
    // trigger is replaced by one that lets an UPDATE through only inside that function, and a row trigger that
    // lets it set nothing but the payload to NULL.
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_refuse_change_except_purge"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND coalesce(current_setting('jartrail.purge_policy', true), '') <> '' THEN
          RETURN NULL;
        END IF;
        RAISE EXCEPTION 'jartrail: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_purge_payload_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data IS NOT NULL OR (to_jsonb(NEW) - 'data') IS DISTINCT FROM (to_jsonb(OLD) - 'data') THEN
          RAISE EXCEPTION 'jartrail: a purge of % may only set the payload to NULL', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END
      $$`);
    for (const table of ['events', 'event_conflicts']) {
      await queryRunner.query(`ALTER TABLE "${table}" ALTER COLUMN "data" DROP NOT NULL`);
      await queryRunner.query(`DROP TRIGGER "trg_${table}_append_only" ON "${table}"`);
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change_except_purge"()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_purge_payload_only" BEFORE UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "jartrail_purge_payload_only"()`,
      );
    }

    // The one way to blank payloads. It walks the ledger in order from where the last purge stopped (ledger order
    // follows recording order), takes up to p_limit records, stops at the first recorded at or after the cutoff,
    // blanks their payloads and records the ledger seq range it covered. Records not yet in the ledger are never
    // reached (their salted hash is not committed yet). No index on the evidence tables is needed, so ingest pays
    // nothing for retention. SECURITY DEFINER: the application's role needs EXECUTE on this function and no UPDATE
    // on any evidence table. One purge at a time (an advisory lock), so ranges never overlap.
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_purge_payloads"(p_policy text, p_recorded_before timestamptz, p_limit integer)
      RETURNS TABLE (records integer, from_ledger_seq bigint, to_ledger_seq bigint)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
      #variable_conflict use_column
      DECLARE
        v_start bigint;
        v_from bigint;
        v_to bigint;
        v_events integer;
        v_conflicts integer;
        v_event_seqs bigint[];
        v_conflict_seqs bigint[];
      BEGIN
        IF coalesce(p_policy, '') = '' OR p_limit < 1 THEN
          RAISE EXCEPTION 'jartrail: a purge needs a policy name and a positive limit';
        END IF;
        PERFORM pg_advisory_xact_lock(7667206911735114095);
        PERFORM set_config('jartrail.purge_policy', p_policy, true);
        SELECT coalesce(max(p.to_ledger_seq), -1) INTO v_start FROM ledger_purges p;

        SELECT min(s.seq), max(s.seq),
               coalesce(array_agg(s.record_seq) FILTER (WHERE s.record_kind = 'event'), '{}'),
               coalesce(array_agg(s.record_seq) FILTER (WHERE s.record_kind = 'conflict'), '{}')
        INTO v_from, v_to, v_event_seqs, v_conflict_seqs
        FROM (
          SELECT w.*, bool_or(w.too_new) OVER (ORDER BY w.seq) AS stopped
          FROM (
            SELECT l.seq, l.record_kind, l.record_seq,
                   coalesce(e.recorded_at, c.recorded_at, '-infinity') >= p_recorded_before AS too_new
            FROM ledger_entries l
            LEFT JOIN events e ON l.record_kind = 'event' AND e.seq = l.record_seq
            LEFT JOIN event_conflicts c ON l.record_kind = 'conflict' AND c.seq = l.record_seq
            WHERE l.seq > v_start
            ORDER BY l.seq LIMIT p_limit
          ) w
        ) s
        WHERE NOT s.stopped;
        IF v_from IS NULL THEN
          PERFORM set_config('jartrail.purge_policy', '', true);
          records := 0; from_ledger_seq := NULL; to_ledger_seq := NULL;
          RETURN NEXT;
          RETURN;
        END IF;

        UPDATE events e SET data = NULL WHERE e.seq = ANY(v_event_seqs) AND e.data IS NOT NULL;
        GET DIAGNOSTICS v_events = ROW_COUNT;
        UPDATE event_conflicts c SET data = NULL WHERE c.seq = ANY(v_conflict_seqs) AND c.data IS NOT NULL;
        GET DIAGNOSTICS v_conflicts = ROW_COUNT;
        INSERT INTO ledger_purges (policy, from_ledger_seq, to_ledger_seq, records, recorded_before)
        VALUES (p_policy, v_from, v_to, v_events + v_conflicts, p_recorded_before);
        PERFORM set_config('jartrail.purge_policy', '', true);
        records := v_events + v_conflicts; from_ledger_seq := v_from; to_ledger_seq := v_to;
        RETURN NEXT;
      END
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION "jartrail_purge_payloads"(text, timestamptz, integer) FROM PUBLIC`);

    for (const table of LEDGER_APPEND_ONLY_TABLES) {
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "jartrail_purge_payloads"(text, timestamptz, integer)`);
    for (const table of ['events', 'event_conflicts']) {
      await queryRunner.query(`DROP TRIGGER "trg_${table}_enqueue_for_ledger" ON "${table}"`);
      await queryRunner.query(`DROP TRIGGER "trg_${table}_purge_payload_only" ON "${table}"`);
      await queryRunner.query(`DROP TRIGGER "trg_${table}_append_only" ON "${table}"`);
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
      );
      // Fails when a purge has blanked payloads: those records cannot go back to the old schema.
      await queryRunner.query(`ALTER TABLE "${table}" ALTER COLUMN "data" SET NOT NULL`);
    }
    await queryRunner.query(`DROP FUNCTION "jartrail_purge_payload_only"()`);
    await queryRunner.query(`DROP FUNCTION "jartrail_refuse_change_except_purge"()`);
    await queryRunner.query(`DROP FUNCTION "jartrail_enqueue_for_ledger"()`);
    for (const table of ['ledger_purges', 'ledger_checkpoints', 'ledger_signing_keys', 'ledger_nodes', 'ledger_entries', 'ledger_pending']) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
  }
}

/** The queue (ledger_pending) is not among them: the sequencer deletes what it has sequenced. */
export const LEDGER_APPEND_ONLY_TABLES = ['ledger_entries', 'ledger_nodes', 'ledger_signing_keys', 'ledger_checkpoints', 'ledger_purges'];
