import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The id of the master key the database was set up with: the start of its stored check value (Keyring). */
const FIRST_KEY_ID = `(SELECT left("value", 16) FROM "service_settings" WHERE "name" = 'master_key_check')`;

/**
 * The master key can be rotated online. Every sealed value records the id of the master key that sealed it
 * (`sealed_by`), so that a rotation finds what is left to re-seal. The private parts of ledger signing keys move
 * out of the append-only `ledger_signing_keys` into a table that can be re-sealed (the public part and kid, which
 * checkpoints refer to, stay evidence). The pseudonym and fingerprint keys, derived from the first master key,
 * are kept sealed in `service_keys` so that they outlive it. The access log gets room for what an admin action
 * changed (a rotation's key ids).
 */
export class MasterKeyRotation1796250000001 implements MigrationInterface {
  name = 'MasterKeyRotation1796250000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['source_secrets', 'decryption_keys']) {
      await queryRunner.query(`ALTER TABLE "${table}" ADD "sealed_by" text`);
      await queryRunner.query(`UPDATE "${table}" SET "sealed_by" = ${FIRST_KEY_ID}`);
      await queryRunner.query(`ALTER TABLE "${table}" ALTER COLUMN "sealed_by" SET NOT NULL`);
    }

    await queryRunner.query(`
      CREATE TABLE "ledger_signing_key_secrets" (
        "kid" text NOT NULL,
        "sealed" bytea NOT NULL,
        "sealed_by" text NOT NULL,
        CONSTRAINT "pk_ledger_signing_key_secrets" PRIMARY KEY ("kid"),
        CONSTRAINT "fk_ledger_signing_key_secrets_key" FOREIGN KEY ("kid") REFERENCES "ledger_signing_keys" ("kid") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`
      INSERT INTO "ledger_signing_key_secrets" ("kid", "sealed", "sealed_by")
      SELECT "kid", "sealed_private_jwk", ${FIRST_KEY_ID} FROM "ledger_signing_keys" WHERE "sealed_private_jwk" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "ledger_signing_keys" DROP COLUMN "sealed_private_jwk"`);

    await queryRunner.query(`
      CREATE TABLE "service_keys" (
        "purpose" text NOT NULL,
        "sealed" bytea NOT NULL,
        "sealed_by" text NOT NULL,
        CONSTRAINT "pk_service_keys" PRIMARY KEY ("purpose"),
        CONSTRAINT "chk_service_keys_purpose" CHECK ("purpose" IN ('subject_pseudonym', 'event_fingerprint'))
      )`);

    await queryRunner.query(`ALTER TABLE "access_records" ADD "detail" jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "access_records" DROP COLUMN "detail"`);
    await queryRunner.query(`DROP TABLE "service_keys"`);
    // Values re-sealed under a later master key go back as they are: the previous release opens them only with
    // that key as its JARTRAIL_MASTER_KEY (and loses the pseudonym key of the first one).
    await queryRunner.query(`ALTER TABLE "ledger_signing_keys" ADD "sealed_private_jwk" bytea`);
    await queryRunner.query(`ALTER TABLE "ledger_signing_keys" DISABLE TRIGGER "trg_ledger_signing_keys_append_only"`);
    await queryRunner.query(`
      UPDATE "ledger_signing_keys" k SET "sealed_private_jwk" = s."sealed" FROM "ledger_signing_key_secrets" s WHERE s."kid" = k."kid"`);
    await queryRunner.query(`ALTER TABLE "ledger_signing_keys" ENABLE TRIGGER "trg_ledger_signing_keys_append_only"`);
    await queryRunner.query(`DROP TABLE "ledger_signing_key_secrets"`);
    await queryRunner.query(`ALTER TABLE "decryption_keys" DROP COLUMN "sealed_by"`);
    await queryRunner.query(`ALTER TABLE "source_secrets" DROP COLUMN "sealed_by"`);
  }
}
