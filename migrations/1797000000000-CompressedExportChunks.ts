import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An export's stored chunks may be compressed (brotli, src/exports/chunk-encoding.ts): writing a million records'
 * file into PostgreSQL and reading it back cost more than compressing it. Chunks stored before are uncompressed.
 */
export class CompressedExportChunks1797000000000 implements MigrationInterface {
  name = 'CompressedExportChunks1797000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "export_chunks" ADD "encoding" text NOT NULL DEFAULT 'identity'`);
    await queryRunner.query(`ALTER TABLE "export_chunks" ADD CONSTRAINT "chk_export_chunks_encoding" CHECK ("encoding" IN ('identity', 'br'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The files of chunks stored compressed cannot be read by the schema before: they are removed, their jobs expire.
    await queryRunner.query(
      `UPDATE "exports" SET "status" = 'expired', "run_token" = NULL, "lease_until" = NULL WHERE "id" IN (SELECT DISTINCT "export_id" FROM "export_chunks" WHERE "encoding" <> 'identity')`,
    );
    await queryRunner.query(`DELETE FROM "export_chunks" WHERE "export_id" IN (SELECT DISTINCT "export_id" FROM "export_chunks" WHERE "encoding" <> 'identity')`);
    await queryRunner.query(`ALTER TABLE "export_chunks" DROP COLUMN "encoding"`);
  }
}
