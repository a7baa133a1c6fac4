import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Findings (SPEC "Findings"): what the rules found in each chain, derived after commit by the findings evaluator,
 * their append-only history, and the queue of chains (or loose records) to evaluate. The clients gain the fields
 * three rules judge against, and the events an index for the search of a request-object jti reused by one client.
 *
 * Every chain recorded before this migration is queued for its first evaluation.
 */
export class Findings1796400000000 implements MigrationInterface {
  name = 'Findings1796400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD "sensitive_scopes" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "sensitive_authorization_details_types" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "redirect_uris" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(
      `CREATE INDEX "idx_events_request_object_jti" ON "events" (("data" ->> 'client_id'), ("data" -> 'claims' ->> 'jti')) WHERE "type" = 'request_object.verification'`,
    );

    await queryRunner.query(`
      CREATE TABLE "findings" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "subject" text NOT NULL,
        "chain_digest" text,
        "rule" text NOT NULL,
        "finding_key" text NOT NULL,
        "severity" text NOT NULL,
        "status" text NOT NULL,
        "summary" text NOT NULL,
        "facts" jsonb NOT NULL,
        "evidence" jsonb NOT NULL,
        "client_id" text,
        "issuer" text,
        "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "resolved_at" TIMESTAMP WITH TIME ZONE,
        "resolution" text,
        "triage_status" text,
        CONSTRAINT "uq_findings_subject_rule_key" UNIQUE ("subject", "rule", "finding_key"),
        CONSTRAINT "chk_findings_rule" CHECK ("rule" IN ('request_uri_replay', 'beyond_grant', 'token_exceeds_consent', 'outside_lifetime', 'orphan', 'consent_exceeds_request', 'redirect_uri_unregistered', 'unencrypted_sensitive', 'alg_policy', 'verdict_mismatch', 'lifetime_policy', 'unsigned_high_impact', 'conflicting_redelivery')),
        CONSTRAINT "chk_findings_severity" CHECK ("severity" IN ('low', 'medium', 'high', 'critical')),
        CONSTRAINT "chk_findings_status" CHECK ("status" IN ('open', 'resolved')),
        CONSTRAINT "chk_findings_triage_status" CHECK ("triage_status" IN ('acknowledged', 'false_positive', 'resolved')),
        CONSTRAINT "pk_findings" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_findings_listing" ON "findings" ("first_seen_at", "id")`);
    await queryRunner.query(`CREATE INDEX "idx_findings_chain" ON "findings" ("chain_digest")`);

    await queryRunner.query(`
      CREATE TABLE "finding_changes" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "finding_id" bigint NOT NULL,
        "change" text NOT NULL,
        "severity" text NOT NULL,
        "reason" text NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "chk_finding_changes_change" CHECK ("change" IN ('opened', 'escalated', 'deescalated', 'resolved', 'reopened')),
        CONSTRAINT "chk_finding_changes_severity" CHECK ("severity" IN ('low', 'medium', 'high', 'critical')),
        CONSTRAINT "pk_finding_changes" PRIMARY KEY ("id"),
        CONSTRAINT "fk_finding_changes_finding" FOREIGN KEY ("finding_id") REFERENCES "findings"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "idx_finding_changes_finding" ON "finding_changes" ("finding_id", "id")`);
    await queryRunner.query(
      `CREATE TRIGGER "trg_finding_changes_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "finding_changes" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
    );

    await queryRunner.query(`
      CREATE TABLE "finding_checks" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "subject" text NOT NULL,
        "due_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT "pk_finding_checks" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_finding_checks_due" ON "finding_checks" ("due_at")`);
    await queryRunner.query(`CREATE INDEX "idx_finding_checks_subject" ON "finding_checks" ("subject")`);
    await queryRunner.query(`INSERT INTO "finding_checks" ("subject") SELECT "digest" FROM "chains" ORDER BY "created_at"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "finding_checks"`);
    await queryRunner.query(`DROP TRIGGER "trg_finding_changes_append_only" ON "finding_changes"`);
    await queryRunner.query(`DROP TABLE "finding_changes"`);
    await queryRunner.query(`DROP TABLE "findings"`);
    await queryRunner.query(`DROP INDEX "idx_events_request_object_jti"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "redirect_uris"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "sensitive_authorization_details_types"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "sensitive_scopes"`);
  }
}
