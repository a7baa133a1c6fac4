import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Export jobs (SPEC "Exports"): a job per requested report, its progress and lease, and the file it produced, kept in
 * PostgreSQL in chunks so that any replica can serve a download another replica made. Keys that administer
 * (`audit:admin`) are given `audit:export`, which the scope check already allowed.
 */
export class Exports1796600000000 implements MigrationInterface {
  name = 'Exports1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "api_keys" SET "scopes" = array_append("scopes", 'audit:export') WHERE 'audit:admin' = ANY("scopes") AND NOT 'audit:export' = ANY("scopes")`);
    await queryRunner.query(`
      CREATE TABLE "exports" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "api_key_id" uuid NOT NULL,
        "format" text NOT NULL,
        "query" jsonb NOT NULL,
        "proofs" boolean NOT NULL,
        "chunk_bytes" integer NOT NULL,
        "status" text NOT NULL DEFAULT 'queued',
        "records_total" bigint,
        "records_done" bigint NOT NULL DEFAULT 0,
        "bytes" bigint NOT NULL DEFAULT 0,
        "sha256" bytea,
        "manifest" text,
        "tree_size" bigint,
        "error" text,
        "attempts" integer NOT NULL DEFAULT 0,
        "run_token" uuid,
        "lease_until" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "started_at" TIMESTAMP WITH TIME ZONE,
        "finished_at" TIMESTAMP WITH TIME ZONE,
        "expires_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "pk_exports" PRIMARY KEY ("id"),
        CONSTRAINT "chk_exports_format" CHECK ("format" IN ('ndjson', 'csv')),
        CONSTRAINT "chk_exports_status" CHECK ("status" IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
        CONSTRAINT "chk_exports_chunk_bytes" CHECK ("chunk_bytes" > 0),
        CONSTRAINT "chk_exports_completed" CHECK ("status" <> 'completed' OR ("sha256" IS NOT NULL AND "manifest" IS NOT NULL AND "finished_at" IS NOT NULL AND "expires_at" IS NOT NULL)),
        CONSTRAINT "fk_exports_api_key" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "idx_exports_listing" ON "exports" ("created_at", "id")`);
    // The worker's claim reads only the jobs that can still run.
    await queryRunner.query(`CREATE INDEX "idx_exports_runnable" ON "exports" ("created_at") WHERE "status" IN ('queued', 'running')`);
    await queryRunner.query(`CREATE INDEX "idx_exports_expiry" ON "exports" ("expires_at") WHERE "expires_at" IS NOT NULL AND "status" <> 'expired'`);
    await queryRunner.query(`
      CREATE TABLE "export_chunks" (
        "export_id" uuid NOT NULL,
        "chunk_no" integer NOT NULL,
        "data" bytea NOT NULL,
        CONSTRAINT "pk_export_chunks" PRIMARY KEY ("export_id", "chunk_no"),
        CONSTRAINT "fk_export_chunks_export" FOREIGN KEY ("export_id") REFERENCES "exports"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    // Stored uncompressed: the chunks are read whole and sent as they are, and a compressed TOAST value would be
    // decompressed on every read of a range.
    await queryRunner.query(`ALTER TABLE "export_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "export_chunks"`);
    await queryRunner.query(`DROP TABLE "exports"`);
    // audit:export stays on the admin keys: it was a valid scope before, and keys may have held it already.
  }
}
