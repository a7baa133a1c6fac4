import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The chain document and the evidence bundle show the conflicting bodies kept against a chain's records. They are
 * read by the record they contradict, one probe per member of the chain; without this index each chain read would
 * scan every kept conflict.
 */
export class ConflictsByOriginal1796240000000 implements MigrationInterface {
  name = 'ConflictsByOriginal1796240000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "idx_event_conflicts_original" ON "event_conflicts" ("original_seq")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_event_conflicts_original"`);
  }
}
