import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clients and decryption keys can be disabled: kept, because verdicts refer to them, but never used for a new
 * verification while `disabled_at` is set.
 */
export class DisableClientsAndDecryptionKeys1796250000000 implements MigrationInterface {
  name = 'DisableClientsAndDecryptionKeys1796250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD "disabled_at" timestamptz`);
    await queryRunner.query(`ALTER TABLE "decryption_keys" ADD "disabled_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "decryption_keys" DROP COLUMN "disabled_at"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "disabled_at"`);
  }
}
