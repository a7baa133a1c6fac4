import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Triage of findings (SPEC "Findings"): reviewers mark a finding acknowledged, a false positive or resolved, with a
 * note. Each triage is a record of its own: append-only, and ledgered like the evidence (a third record kind,
 * `triage`), so the history of a finding is itself tamper-evident. A dedicated scope, `audit:triage`, which keys that
 * administer (`audit:admin`) are given.
 */
export class FindingTriage1796400000001 implements MigrationInterface {
  name = 'FindingTriage1796400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "chk_api_keys_scopes"`);
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "chk_api_keys_scopes" CHECK ("scopes" <@ ARRAY['audit:read', 'audit:export', 'audit:admin', 'audit:triage']::text[] AND cardinality("scopes") > 0)`,
    );
    await queryRunner.query(`UPDATE "api_keys" SET "scopes" = array_append("scopes", 'audit:triage') WHERE 'audit:admin' = ANY("scopes") AND NOT 'audit:triage' = ANY("scopes")`);

    await queryRunner.query(`
      CREATE TABLE "finding_triage" (
        "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "finding_id" bigint NOT NULL,
        "event_id" text NOT NULL,
        "api_key_id" uuid NOT NULL,
        "status" text NOT NULL,
        "note" text NOT NULL,
        "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "fingerprint" bytea NOT NULL,
        "data" jsonb NOT NULL,
        CONSTRAINT "uq_finding_triage_event_id" UNIQUE ("event_id"),
        CONSTRAINT "chk_finding_triage_status" CHECK ("status" IN ('acknowledged', 'false_positive', 'resolved')),
        CONSTRAINT "pk_finding_triage" PRIMARY KEY ("seq"),
        CONSTRAINT "fk_finding_triage_finding" FOREIGN KEY ("finding_id") REFERENCES "findings"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "fk_finding_triage_api_key" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "idx_finding_triage_finding" ON "finding_triage" ("finding_id", "seq")`);
    await queryRunner.query(
      `CREATE TRIGGER "trg_finding_triage_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "finding_triage" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
    );

    for (const table of ['ledger_pending', 'ledger_entries']) {
      const constraint = table === 'ledger_pending' ? 'chk_ledger_pending_kind' : 'chk_ledger_entries_kind';
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${constraint}"`);
      await queryRunner.query(`ALTER TABLE "${table}" ADD CONSTRAINT "${constraint}" CHECK ("record_kind" IN ('event', 'conflict', 'triage'))`);
    }
    await queryRunner.query(
      `CREATE TRIGGER "trg_finding_triage_enqueue_for_ledger" AFTER INSERT ON "finding_triage" REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_enqueue_for_ledger"('triage')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "trg_finding_triage_enqueue_for_ledger" ON "finding_triage"`);
    // Ledgered triage stays in the ledger (it is append-only): the narrower checks are not restored over it.
    await queryRunner.query(`DROP TRIGGER "trg_finding_triage_append_only" ON "finding_triage"`);
    await queryRunner.query(`DROP TABLE "finding_triage"`);
    await queryRunner.query(`UPDATE "api_keys" SET "scopes" = array_remove("scopes", 'audit:triage')`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "chk_api_keys_scopes"`);
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "chk_api_keys_scopes" CHECK ("scopes" <@ ARRAY['audit:read', 'audit:export', 'audit:admin']::text[] AND cardinality("scopes") > 0)`,
    );
  }
}
