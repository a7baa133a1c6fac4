import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One SET key, one source: the RFC 7638 thumbprint of every key in a source's `set_jwks`, unique. Existing sets are
 * backfilled with the thumbprint computed in SQL (the required members in lexicographic order, no whitespace,
 * SHA-256, base64url: the values are base64url and curve names, which need no escaping). Where two sources already
 * share a key, the source created first holds it; the other keeps its set_jwks as it is, and setting its keys again
 * is refused until that key is left out.
 */
export class SourceSetKeys1796220000000 implements MigrationInterface {
  name = 'SourceSetKeys1796220000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "source_set_keys" (
        "thumbprint" text NOT NULL,
        "source_id" uuid NOT NULL,
        CONSTRAINT "pk_source_set_keys" PRIMARY KEY ("thumbprint"),
        CONSTRAINT "fk_source_set_keys_source" FOREIGN KEY ("source_id") REFERENCES "sources" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_source_set_keys_source" ON "source_set_keys" ("source_id")`);
    await queryRunner.query(`
      INSERT INTO "source_set_keys" ("thumbprint", "source_id")
      SELECT rtrim(translate(encode(sha256(convert_to(
               CASE key->>'kty'
                 WHEN 'EC' THEN '{"crv":"' || (key->>'crv') || '","kty":"EC","x":"' || (key->>'x') || '","y":"' || (key->>'y') || '"}'
                 WHEN 'RSA' THEN '{"e":"' || (key->>'e') || '","kty":"RSA","n":"' || (key->>'n') || '"}'
                 WHEN 'OKP' THEN '{"crv":"' || (key->>'crv') || '","kty":"OKP","x":"' || (key->>'x') || '"}'
               END, 'UTF8')), 'base64'), '+/', '-_'), '='),
             s."id"
      FROM "sources" s, jsonb_array_elements(s."set_jwks"->'keys') AS key
      WHERE s."set_jwks" IS NOT NULL AND key->>'kty' IN ('EC', 'RSA', 'OKP')
      ORDER BY s."created_at", s."id"
      ON CONFLICT ("thumbprint") DO NOTHING`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "source_set_keys"`);
  }
}
