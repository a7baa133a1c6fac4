import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A verification still queued when retention purges its event gets a verdict all the same (`unverifiable`,
 * `payload_purged`); the AS's verdict went with the payload, so the verdict row's copy of it may be NULL.
 */
export class VerdictOfPurgedReport1796210000000 implements MigrationInterface {
  name = 'VerdictOfPurgedReport1796210000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "independent_verdicts" ALTER COLUMN "as_verdict" DROP NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Fails while such a verdict exists: it is evidence (append-only), and the old schema cannot hold it.
    await queryRunner.query(`ALTER TABLE "independent_verdicts" ALTER COLUMN "as_verdict" SET NOT NULL`);
  }
}
