import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access records become readable by admins (GET /v1/access-records) and hold refused attempts too: a request
 * refused with 401 may name no key of ours (api_key_id NULL), so each record says what was presented (`credential`)
 * and, for an unknown key, a keyed fingerprint of it. `route` is the route's pattern, to filter by. Pages are read
 * newest first by seq, so the per-key index is by (api_key_id, seq); a time range is read through `at`.
 * Existing rows were all requests with a valid key: they take `api_key` by the column default, which goes once they
 * have it (ADD COLUMN with a default rewrites no row through the append-only triggers).
 */
export class AccessRecordsForAuditors1796240000001 implements MigrationInterface {
  name = 'AccessRecordsForAuditors1796240000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "access_records" ALTER COLUMN "api_key_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "access_records" ADD COLUMN "credential" text NOT NULL DEFAULT 'api_key'`);
    await queryRunner.query(`ALTER TABLE "access_records" ALTER COLUMN "credential" DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE "access_records" ADD COLUMN "presented_key_fingerprint" text`);
    await queryRunner.query(`ALTER TABLE "access_records" ADD COLUMN "route" text`);
    await queryRunner.query(
      `ALTER TABLE "access_records" ADD CONSTRAINT "chk_access_records_credential" CHECK ("credential" IN ('api_key', 'revoked_key', 'unknown_key', 'no_key', 'malformed'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "access_records" ADD CONSTRAINT "chk_access_records_key" CHECK (("api_key_id" IS NOT NULL) = ("credential" IN ('api_key', 'revoked_key')))`,
    );
    await queryRunner.query(`DROP INDEX "idx_access_records_api_key"`);
    await queryRunner.query(`CREATE INDEX "idx_access_records_api_key" ON "access_records" ("api_key_id", "seq")`);
    await queryRunner.query(`CREATE INDEX "idx_access_records_at" ON "access_records" ("at")`);
  }

  /** Refused attempts without a key of ours have no place in the old table: they go with the revert. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_access_records_at"`);
    await queryRunner.query(`DROP INDEX "idx_access_records_api_key"`);
    await queryRunner.query(`CREATE INDEX "idx_access_records_api_key" ON "access_records" ("api_key_id", "at")`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP CONSTRAINT "chk_access_records_key"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP CONSTRAINT "chk_access_records_credential"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "route"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "presented_key_fingerprint"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "credential"`);
    await queryRunner.query(`ALTER TABLE "access_records" DISABLE TRIGGER USER`);
    await queryRunner.query(`DELETE FROM "access_records" WHERE "api_key_id" IS NULL`);
    await queryRunner.query(`ALTER TABLE "access_records" ENABLE TRIGGER USER`);
    await queryRunner.query(`ALTER TABLE "access_records" ALTER COLUMN "api_key_id" SET NOT NULL`);
  }
}
