import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Independent verification of request objects and signed event delivery: the client registry, the decryption
 * keys of authorization servers (sealed), the keys sources sign Security Event Tokens with, the queue of pending
 * verifications (work, deletable) and the verdicts (evidence, append-only), and two more searchable chain facets.
 */
export class IndependentVerification1796100000000 implements MigrationInterface {
  name = 'IndependentVerification1796100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "clients" (
        "client_id" text NOT NULL,
        "jwks" jsonb,
        "jwks_uri" text,
        "request_object_signing_alg_values" text[] NOT NULL,
        "require_signed_request_object" boolean NOT NULL,
        "request_object_encryption_alg_values" text[] NOT NULL,
        "request_object_encryption_enc_values" text[] NOT NULL,
        "high_impact_scopes" text[] NOT NULL,
        "high_impact_authorization_details_types" text[] NOT NULL,
        "max_request_object_lifetime" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_clients" PRIMARY KEY ("client_id"),
        CONSTRAINT "chk_clients_one_key_source" CHECK (("jwks" IS NULL) <> ("jwks_uri" IS NULL)),
        CONSTRAINT "chk_clients_lifetime" CHECK ("max_request_object_lifetime" > 0)
      )`);

    await queryRunner.query(`
      CREATE TABLE "decryption_keys" (
        "id" uuid NOT NULL,
        "issuer" text NOT NULL,
        "kid" text,
        "alg" text NOT NULL,
        "public_jwk" jsonb NOT NULL,
        "sealed" bytea NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_decryption_keys" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_decryption_keys_issuer" ON "decryption_keys" ("issuer")`);

    await queryRunner.query(`ALTER TABLE "sources" ADD "set_jwks" jsonb`);
    await queryRunner.query(`ALTER TABLE "sources" ADD "set_jwks_uri" text`);
    await queryRunner.query(`ALTER TABLE "sources" ADD CONSTRAINT "chk_sources_set_keys" CHECK ("set_jwks" IS NULL OR "set_jwks_uri" IS NULL)`);

    // Work, not evidence: a row is claimed by a worker (next_attempt_at moves forward as a lease) and deleted once
    // its verdict is recorded. It holds the request object even when minimisation keeps it out of `events`.
    await queryRunner.query(`
      CREATE TABLE "verification_queue" (
        "event_seq" bigint NOT NULL,
        "request_object" text,
        "attempts" integer NOT NULL,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" text,
        "enqueued_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_verification_queue" PRIMARY KEY ("event_seq"),
        CONSTRAINT "fk_verification_queue_event" FOREIGN KEY ("event_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_verification_queue_due" ON "verification_queue" ("next_attempt_at")`);

    await queryRunner.query(`
      CREATE TABLE "independent_verdicts" (
        "event_seq" bigint NOT NULL,
        "verdict" text NOT NULL,
        "as_verdict" text NOT NULL,
        "mismatch" boolean NOT NULL,
        "reasons" jsonb NOT NULL,
        "alg" text,
        "kid" text,
        "inner_digest" text,
        "opaque" boolean NOT NULL,
        "verified_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_independent_verdicts" PRIMARY KEY ("event_seq"),
        CONSTRAINT "chk_independent_verdicts_verdict" CHECK ("verdict" IN ('verified', 'rejected', 'unverifiable', 'not_verifiable')),
        CONSTRAINT "chk_independent_verdicts_as_verdict" CHECK ("as_verdict" IN ('accepted', 'rejected')),
        CONSTRAINT "fk_independent_verdicts_event" FOREIGN KEY ("event_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);
    await queryRunner.query(
      `CREATE TRIGGER "trg_independent_verdicts_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "independent_verdicts" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
    );

    // The verdict and a mismatch are searchable like the other facets, through the same ordered index.
    await queryRunner.query(`ALTER TABLE "chain_facets" DROP CONSTRAINT "chk_chain_facets_name"`);
    await queryRunner.query(
      `ALTER TABLE "chain_facets" ADD CONSTRAINT "chk_chain_facets_name" CHECK ("name" IN ('client_id', 'issuer', 'subject', 'tool', 'independent_verdict', 'verdict_mismatch'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The facets this migration allowed cannot be deleted (append-only), so the narrower check is not restored
    // while such rows exist; on an empty database it is.
    await queryRunner.query(`ALTER TABLE "chain_facets" DROP CONSTRAINT "chk_chain_facets_name"`);
    await queryRunner.query(
      `ALTER TABLE "chain_facets" ADD CONSTRAINT "chk_chain_facets_name" CHECK ("name" IN ('client_id', 'issuer', 'subject', 'tool'))`,
    );
    await queryRunner.query(`DROP TABLE "independent_verdicts"`);
    await queryRunner.query(`DROP TABLE "verification_queue"`);
    await queryRunner.query(`ALTER TABLE "sources" DROP CONSTRAINT "chk_sources_set_keys"`);
    await queryRunner.query(`ALTER TABLE "sources" DROP COLUMN "set_jwks_uri"`);
    await queryRunner.query(`ALTER TABLE "sources" DROP COLUMN "set_jwks"`);
    await queryRunner.query(`DROP TABLE "decryption_keys"`);
    await queryRunner.query(`DROP TABLE "clients"`);
  }
}
