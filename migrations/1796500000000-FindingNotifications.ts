import type { MigrationInterface, QueryRunner } from 'typeorm';

const RULES = `'request_uri_replay', 'beyond_grant', 'token_exceeds_consent', 'outside_lifetime', 'orphan', 'consent_exceeds_request', 'redirect_uri_unregistered', 'unencrypted_sensitive', 'alg_policy', 'verdict_mismatch', 'lifetime_policy', 'unsigned_high_impact', 'conflicting_redelivery'`;

/**
 * Outbound notifications of findings (SPEC "Findings": "Subscribers get new and escalated findings as signed
 * Standard Webhooks from a durable outbox"): subscriptions with their sealed `whsec_` secret, the outbox of
 * deliveries (one per subscription and finding change, written in the evaluation transaction that made the change),
 * and the append-only history of every attempt at a delivery.
 */
export class FindingNotifications1796500000000 implements MigrationInterface {
  name = 'FindingNotifications1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "notification_subscriptions" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "url" text NOT NULL,
        "rules" text array,
        "min_severity" text NOT NULL,
        "description" text,
        "secret_id" uuid NOT NULL,
        "sealed" bytea NOT NULL,
        "sealed_by" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "secret_rotated_at" TIMESTAMP WITH TIME ZONE,
        "disabled_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "uq_notification_subscriptions_secret_id" UNIQUE ("secret_id"),
        CONSTRAINT "chk_notification_subscriptions_rules" CHECK ("rules" <@ ARRAY[${RULES}]::text[] AND cardinality("rules") > 0),
        CONSTRAINT "chk_notification_subscriptions_min_severity" CHECK ("min_severity" IN ('low', 'medium', 'high', 'critical')),
        CONSTRAINT "pk_notification_subscriptions" PRIMARY KEY ("id")
      )`);

    await queryRunner.query(`
      CREATE TABLE "notification_deliveries" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "subscription_id" bigint NOT NULL,
        "finding_change_id" bigint NOT NULL,
        "payload" jsonb NOT NULL,
        "status" text NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" TIMESTAMP WITH TIME ZONE,
        "lease_token" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "finished_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "uq_notification_deliveries_subscription_change" UNIQUE ("subscription_id", "finding_change_id"),
        CONSTRAINT "chk_notification_deliveries_status" CHECK ("status" IN ('pending', 'delivered', 'failed', 'cancelled')),
        CONSTRAINT "chk_notification_deliveries_schedule" CHECK (("status" = 'pending') = ("next_attempt_at" IS NOT NULL)),
        CONSTRAINT "pk_notification_deliveries" PRIMARY KEY ("id"),
        CONSTRAINT "fk_notification_deliveries_subscription" FOREIGN KEY ("subscription_id") REFERENCES "notification_subscriptions"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "fk_notification_deliveries_finding_change" FOREIGN KEY ("finding_change_id") REFERENCES "finding_changes"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "idx_notification_deliveries_subscription" ON "notification_deliveries" ("subscription_id", "id")`);
    // The delivery worker's claim: only pending rows, oldest due first.
    await queryRunner.query(`CREATE INDEX "idx_notification_deliveries_due" ON "notification_deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);

    await queryRunner.query(`
      CREATE TABLE "notification_attempts" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "delivery_id" bigint NOT NULL,
        "attempt" integer NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "duration_ms" integer NOT NULL,
        "outcome" text NOT NULL,
        "status_code" integer,
        "error" text,
        "response_excerpt" text,
        CONSTRAINT "uq_notification_attempts_delivery_attempt" UNIQUE ("delivery_id", "attempt"),
        CONSTRAINT "chk_notification_attempts_outcome" CHECK ("outcome" IN ('delivered', 'http_status', 'timeout', 'connection_error', 'address_refused')),
        CONSTRAINT "chk_notification_attempts_excerpt" CHECK (char_length("response_excerpt") <= 256),
        CONSTRAINT "pk_notification_attempts" PRIMARY KEY ("id"),
        CONSTRAINT "fk_notification_attempts_delivery" FOREIGN KEY ("delivery_id") REFERENCES "notification_deliveries"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await queryRunner.query(
      `CREATE TRIGGER "trg_notification_attempts_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "notification_attempts" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "trg_notification_attempts_append_only" ON "notification_attempts"`);
    await queryRunner.query(`DROP TABLE "notification_attempts"`);
    await queryRunner.query(`DROP TABLE "notification_deliveries"`);
    await queryRunner.query(`DROP TABLE "notification_subscriptions"`);
  }
}
