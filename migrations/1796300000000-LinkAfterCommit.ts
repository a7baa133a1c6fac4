import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Chain linking moves out of the ingest transaction. Ingest commits the evidence and, through a statement-level
 * trigger on events, one row of `link_pending` per statement (its seqs); the linker of any replica turns those rows
 * into chain membership after commit and deletes them in the same transaction. `first_seq` (the statement's
 * lowest seq) is indexed so that the linking watermark, min(first_seq), is one index probe.
 *
 * Everything recorded before this migration was linked in its own ingest transaction: nothing is queued.
 *
 * Ingest records a delivery in one statement (EvidenceRepository.record). When a concurrent delivery of the same
 * event id commits while that statement runs, the statement can neither insert the event nor see it: it calls
 * jartrail_retry_statement(), which aborts it as a serialization failure, and it runs again (and sees it).
 */
export class LinkAfterCommit1796300000000 implements MigrationInterface {
  name = 'LinkAfterCommit1796300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "link_pending" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "first_seq" bigint NOT NULL,
        "event_seqs" bigint[] NOT NULL,
        "queued_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT "pk_link_pending" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_link_pending_first_seq" ON "link_pending" ("first_seq")`);
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_enqueue_for_linking"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO link_pending (first_seq, event_seqs)
        SELECT min(seq), array_agg(seq ORDER BY seq) FROM inserted HAVING count(*) > 0;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_retry_statement"() RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a concurrent delivery of the same event id committed while this statement ran; run it again'
          USING ERRCODE = 'serialization_failure';
      END
      $$`);
    await queryRunner.query(
      `CREATE TRIGGER "trg_events_enqueue_for_linking" AFTER INSERT ON "events" REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_enqueue_for_linking"()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "trg_events_enqueue_for_linking" ON "events"`);
    await queryRunner.query(`DROP FUNCTION "jartrail_retry_statement"()`);
    await queryRunner.query(`DROP FUNCTION "jartrail_enqueue_for_linking"()`);
    await queryRunner.query(`DROP TABLE "link_pending"`);
  }
}
