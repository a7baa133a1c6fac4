import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The role that alone may blank payloads: it owns jartrail_purge_payloads, and logs in never. */
export const PURGER_ROLE = 'jartrail_purger';

/**
 * A purge gate no session can open by itself, and signed purges. Until now the evidence tables' trigger let an
 * UPDATE through whenever the setting jartrail.purge_policy was set, and any session can set any setting. Now it
 * lets one through only when the current user is jartrail_purger, which only jartrail_purge_payloads (SECURITY
 * DEFINER, owned by that role) becomes. The function no longer picks its range: the service plans it, signs
 * {policy, from_ledger_seq, to_ledger_seq, recorded_before} with the ledger key, and the function checks that the
 * range follows the last purge and holds only records older than the cutoff, blanks, and records the purge with
 * its kid and JWS, all in one transaction. The verifiers then name any blanked payload no validly signed purge covers.
 *
 * The role belongs to the cluster, not to this database: other databases of the same cluster may use it, so
 * `up` tolerates it existing (even when created concurrently) and `down` never drops it.
 */
export class PurgeGate1796200000000 implements MigrationInterface {
  name = 'PurgeGate1796200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${PURGER_ROLE}') THEN
          CREATE ROLE "${PURGER_ROLE}" NOLOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a migration of another database of this cluster
      END
      $$`);
    // The migrating role must be a member of the purger role to give it the function (a superuser always is). It
    // makes itself one when it may (it created the role, or holds it WITH ADMIN OPTION); when the role came from
    // elsewhere, only a superuser can, and the message says what to run.
    await queryRunner.query(`
      DO $$
      BEGIN
        IF NOT pg_has_role(current_user, '${PURGER_ROLE}', 'MEMBER') THEN
          EXECUTE format('GRANT %I TO %I', '${PURGER_ROLE}', current_user);
        END IF;
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'jartrail: the role ${PURGER_ROLE} exists, and the migrating role % is not a member of it and may not make itself one', current_user
          USING ERRCODE = 'insufficient_privilege', HINT = format('As a superuser: GRANT ${PURGER_ROLE} TO %I; then migrate again.', current_user);
      END
      $$`);

    await queryRunner.query(`ALTER TABLE "ledger_purges" ADD "kid" text`);
    await queryRunner.query(`ALTER TABLE "ledger_purges" ADD "jws" text`);
    await queryRunner.query(
      `ALTER TABLE "ledger_purges" ADD CONSTRAINT "fk_ledger_purges_key" FOREIGN KEY ("kid") REFERENCES "ledger_signing_keys" ("kid") ON DELETE RESTRICT`,
    );

    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "jartrail_refuse_change_except_purge"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- current_user, not a setting: only a SECURITY DEFINER function owned by the purger role runs as it.
        IF TG_OP = 'UPDATE' AND current_user = '${PURGER_ROLE}' THEN
          RETURN NULL;
        END IF;
        RAISE EXCEPTION 'jartrail: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);

    await queryRunner.query(`DROP FUNCTION "jartrail_purge_payloads"(text, timestamptz, integer)`);
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_purge_payloads"(p_policy text, p_recorded_before timestamptz, p_from bigint, p_to bigint, p_kid text, p_jws text)
      RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
      DECLARE
        v_next bigint;
        v_size bigint;
        v_too_new bigint;
        v_events integer;
        v_conflicts integer;
      BEGIN
        IF coalesce(p_policy, '') = '' OR coalesce(p_kid, '') = '' OR coalesce(p_jws, '') = '' OR p_recorded_before IS NULL THEN
          RAISE EXCEPTION 'jartrail: a purge needs a policy name, a cutoff and its signature (kid, jws)' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- One purge at a time: ranges follow each other without overlap.
        PERFORM pg_advisory_xact_lock(7667206911735114095);
        SELECT coalesce(max(p.to_ledger_seq), -1) + 1 INTO v_next FROM ledger_purges p;
        SELECT coalesce(max(l.seq), -1) + 1 INTO v_size FROM ledger_entries l;
        IF p_from IS DISTINCT FROM v_next OR p_to IS NULL OR p_to < p_from OR p_to >= v_size THEN
          RAISE EXCEPTION 'jartrail: the next purge starts at ledger seq % and ends inside the ledger of % records, not [%, %]', v_next, v_size, p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT l.seq INTO v_too_new
        FROM ledger_entries l
        LEFT JOIN events e ON l.record_kind = 'event' AND e.seq = l.record_seq
        LEFT JOIN event_conflicts c ON l.record_kind = 'conflict' AND c.seq = l.record_seq
        WHERE l.seq BETWEEN p_from AND p_to AND coalesce(e.recorded_at, c.recorded_at, '-infinity') >= p_recorded_before
        LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'jartrail: ledger seq % was recorded at or after the cutoff %', v_too_new, p_recorded_before USING ERRCODE = 'invalid_parameter_value';
        END IF;

        UPDATE events e SET data = NULL
        WHERE e.seq IN (SELECT l.record_seq FROM ledger_entries l WHERE l.seq BETWEEN p_from AND p_to AND l.record_kind = 'event') AND e.data IS NOT NULL;
        GET DIAGNOSTICS v_events = ROW_COUNT;
        UPDATE event_conflicts c SET data = NULL
        WHERE c.seq IN (SELECT l.record_seq FROM ledger_entries l WHERE l.seq BETWEEN p_from AND p_to AND l.record_kind = 'conflict') AND c.data IS NOT NULL;
        GET DIAGNOSTICS v_conflicts = ROW_COUNT;
        INSERT INTO ledger_purges (policy, from_ledger_seq, to_ledger_seq, records, recorded_before, kid, jws)
        VALUES (p_policy, p_from, p_to, v_events + v_conflicts, p_recorded_before, p_kid, p_jws);
        RETURN v_events + v_conflicts;
      END
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION "jartrail_purge_payloads"(text, timestamptz, bigint, bigint, text, text) FROM PUBLIC`);
    // What the function does, the purger role may do; nothing else.
    await queryRunner.query(`GRANT SELECT ON "ledger_entries", "ledger_purges", "events", "event_conflicts" TO "${PURGER_ROLE}"`);
    await queryRunner.query(`GRANT UPDATE ("data") ON "events", "event_conflicts" TO "${PURGER_ROLE}"`);
    await queryRunner.query(`GRANT INSERT ON "ledger_purges" TO "${PURGER_ROLE}"`);
    // A new owner needs CREATE on the function's schema (a superuser migrating skips the check); the role gets it
    // for this statement only, so that it can create nothing.
    await queryRunner.query(`
      DO $$
      DECLARE
        v_lend boolean := NOT has_schema_privilege('${PURGER_ROLE}', current_schema(), 'CREATE');
      BEGIN
        IF v_lend THEN
          EXECUTE format('GRANT CREATE ON SCHEMA %I TO %I', current_schema(), '${PURGER_ROLE}');
        END IF;
        ALTER FUNCTION "jartrail_purge_payloads"(text, timestamptz, bigint, bigint, text, text) OWNER TO "${PURGER_ROLE}";
        IF v_lend THEN
          EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', current_schema(), '${PURGER_ROLE}');
        END IF;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The role stays: other databases of the cluster may use it. Only what this database granted it goes.
    await queryRunner.query(`DROP FUNCTION "jartrail_purge_payloads"(text, timestamptz, bigint, bigint, text, text)`);
    await queryRunner.query(`REVOKE INSERT ON "ledger_purges" FROM "${PURGER_ROLE}"`);
    await queryRunner.query(`REVOKE UPDATE ("data") ON "events", "event_conflicts" FROM "${PURGER_ROLE}"`);
    await queryRunner.query(`REVOKE SELECT ON "ledger_entries", "ledger_purges", "events", "event_conflicts" FROM "${PURGER_ROLE}"`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "jartrail_refuse_change_except_purge"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND coalesce(current_setting('jartrail.purge_policy', true), '') <> '' THEN
          RETURN NULL;
        END IF;
        RAISE EXCEPTION 'jartrail: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    // The previous function, as migration 1796000000000 made it.
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
    await queryRunner.query(`ALTER TABLE "ledger_purges" DROP CONSTRAINT "fk_ledger_purges_key"`);
    await queryRunner.query(`ALTER TABLE "ledger_purges" DROP COLUMN "jws"`);
    await queryRunner.query(`ALTER TABLE "ledger_purges" DROP COLUMN "kid"`);
  }
}
