import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An auditor signed in with the identity provider (an access token, no API key) may start exports too: a job names
 * who asked for it either by API key or by the token's subject and issuer, exactly one of the two.
 */
export class ExportsOfTokenHolders1796810000000 implements MigrationInterface {
  name = 'ExportsOfTokenHolders1796810000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "exports" ALTER COLUMN "api_key_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "exports" ADD COLUMN "requested_by_subject" text`);
    await queryRunner.query(`ALTER TABLE "exports" ADD COLUMN "requested_by_issuer" text`);
    await queryRunner.query(
      `ALTER TABLE "exports" ADD CONSTRAINT "chk_exports_requested_by" CHECK (
         ("api_key_id" IS NOT NULL AND "requested_by_subject" IS NULL AND "requested_by_issuer" IS NULL)
         OR ("api_key_id" IS NULL AND "requested_by_subject" IS NOT NULL AND "requested_by_issuer" IS NOT NULL))`,
    );
  }

  /** Jobs of token holders have no owner the old table can name: they go with the revert. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "exports" WHERE "api_key_id" IS NULL`);
    await queryRunner.query(`ALTER TABLE "exports" DROP CONSTRAINT "chk_exports_requested_by"`);
    await queryRunner.query(`ALTER TABLE "exports" DROP COLUMN "requested_by_issuer"`);
    await queryRunner.query(`ALTER TABLE "exports" DROP COLUMN "requested_by_subject"`);
    await queryRunner.query(`ALTER TABLE "exports" ALTER COLUMN "api_key_id" SET NOT NULL`);
  }
}
