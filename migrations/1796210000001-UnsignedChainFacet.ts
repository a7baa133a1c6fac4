import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A chain's `unsigned` flag becomes a chain facet, written when a record is linked, so that it survives retention
 * purging the payloads it was read from. Chains already linked get it from the records whose payloads are still
 * there; a chain whose only unsigned report was purged before this migration cannot get it back.
 */
export class UnsignedChainFacet1796210000001 implements MigrationInterface {
  name = 'UnsignedChainFacet1796210000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "chain_facets" DROP CONSTRAINT "chk_chain_facets_name"`);
    await queryRunner.query(
      `ALTER TABLE "chain_facets" ADD CONSTRAINT "chk_chain_facets_name" CHECK ("name" IN ('client_id', 'issuer', 'subject', 'tool', 'independent_verdict', 'verdict_mismatch', 'unsigned'))`,
    );
    // The same rule as the linker's (ChainLinksRepository.insertFacets): a plain request, or alg "none".
    await queryRunner.query(`
      INSERT INTO "chain_facets" ("name", "value", "chain_digest", "chain_created_at")
      SELECT DISTINCT 'unsigned', 'true', m."chain_digest", c."created_at"
      FROM "events" e
      JOIN "chain_members" m ON m."event_seq" = e."seq"
      JOIN "chains" c ON c."digest" = m."chain_digest"
      WHERE e."type" = 'request_object.verification'
        AND ((e."data" ->> 'unsigned') = 'true' OR (e."data" -> 'header' ->> 'alg') = 'none')
      ON CONFLICT DO NOTHING`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Facets are append-only: while an `unsigned` facet exists the narrower check cannot be restored, and this fails.
    await queryRunner.query(`ALTER TABLE "chain_facets" DROP CONSTRAINT "chk_chain_facets_name"`);
    await queryRunner.query(
      `ALTER TABLE "chain_facets" ADD CONSTRAINT "chk_chain_facets_name" CHECK ("name" IN ('client_id', 'issuer', 'subject', 'tool', 'independent_verdict', 'verdict_mismatch'))`,
    );
  }
}
