import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Export formats beyond records (issue 10): NDJSON of chains, the PDF report and OCSF NDJSON for SIEMs. */
export class ExportFormats1796700000000 implements MigrationInterface {
  name = 'ExportFormats1796700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "exports" DROP CONSTRAINT "chk_exports_format"`);
    await queryRunner.query(`ALTER TABLE "exports" ADD CONSTRAINT "chk_exports_format" CHECK ("format" IN ('ndjson', 'ndjson-chains', 'csv', 'pdf', 'ocsf'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Jobs of the newer formats cannot stay under the older check: they go, with their files (ON DELETE CASCADE).
    await queryRunner.query(`DELETE FROM "exports" WHERE "format" NOT IN ('ndjson', 'csv')`);
    await queryRunner.query(`ALTER TABLE "exports" DROP CONSTRAINT "chk_exports_format"`);
    await queryRunner.query(`ALTER TABLE "exports" ADD CONSTRAINT "chk_exports_format" CHECK ("format" IN ('ndjson', 'csv'))`);
  }
}
