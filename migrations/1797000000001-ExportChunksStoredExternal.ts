import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An export's stored chunks are already compressed (brotli) or incompressible (a PDF): PostgreSQL's own TOAST
 * compression (pglz) only tries again and fails, at about 2 ms of the database's CPU a stored MiB-chunk, 1.4 s of a
 * million-record CSV export (docs/PERFORMANCE.md, exports). EXTERNAL keeps large values out of line, uncompressed,
 * which is what pglz gave up to anyway; reads of a chunk's pieces (substring) stay slices of the TOAST rows. Chunks
 * stored before keep their form: both read alike.
 */
export class ExportChunksStoredExternal1797000000001 implements MigrationInterface {
  name = 'ExportChunksStoredExternal1797000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "export_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "export_chunks" ALTER COLUMN "data" SET STORAGE EXTENDED`);
  }
}
