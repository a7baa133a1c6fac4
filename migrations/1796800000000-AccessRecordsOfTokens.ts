import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Auditors may present an access token of the organisation's identity provider instead of an API key. The access
 * records then name who the token is for: its `sub` and `iss` (both or neither), for a verified token (`jwt`) and
 * for a refused one whose signature did verify (`refused_jwt`: expired, another audience). A subject's records are
 * read newest first through (subject, seq), partial: most records are of keys. ADD COLUMN without a default
 * rewrites no row, so the append-only triggers are not involved.
 */
export class AccessRecordsOfTokens1796800000000 implements MigrationInterface {
  name = 'AccessRecordsOfTokens1796800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "access_records" ADD COLUMN "subject" text`);
    await queryRunner.query(`ALTER TABLE "access_records" ADD COLUMN "issuer" text`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP CONSTRAINT "chk_access_records_credential"`);
    await queryRunner.query(
      `ALTER TABLE "access_records" ADD CONSTRAINT "chk_access_records_credential" CHECK ("credential" IN ('api_key', 'revoked_key', 'unknown_key', 'no_key', 'malformed', 'jwt', 'refused_jwt'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "access_records" ADD CONSTRAINT "chk_access_records_token" CHECK (("subject" IS NULL) = ("issuer" IS NULL) AND ("subject" IS NULL OR "credential" IN ('jwt', 'refused_jwt')) AND ("credential" <> 'jwt' OR "subject" IS NOT NULL))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_access_records_subject" ON "access_records" ("subject", "seq") WHERE "subject" IS NOT NULL`);
  }

  /** Records of tokens have no place in the old table: they go with the revert. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_access_records_subject"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP CONSTRAINT "chk_access_records_token"`);
    await queryRunner.query(`ALTER TABLE "access_records" DISABLE TRIGGER USER`);
    await queryRunner.query(`DELETE FROM "access_records" WHERE "credential" IN ('jwt', 'refused_jwt')`);
    await queryRunner.query(`ALTER TABLE "access_records" ENABLE TRIGGER USER`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP CONSTRAINT "chk_access_records_credential"`);
    await queryRunner.query(
      `ALTER TABLE "access_records" ADD CONSTRAINT "chk_access_records_credential" CHECK ("credential" IN ('api_key', 'revoked_key', 'unknown_key', 'no_key', 'malformed'))`,
    );
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "issuer"`);
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "subject"`);
  }
}
