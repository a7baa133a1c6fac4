import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A queued evaluation says what queued it (records that arrived, a verdict, a client registration, a grace period):
 * a finding that evaluation resolves names it as its reason. Rows queued before have none and keep the general reason.
 */
export class FindingCheckCauses1796900000001 implements MigrationInterface {
  name = 'FindingCheckCauses1796900000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "finding_checks" ADD "cause" jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "finding_checks" DROP COLUMN "cause"`);
  }
}
