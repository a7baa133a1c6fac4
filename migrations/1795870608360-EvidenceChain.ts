import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The evidence chain: sources and their sealed secrets, auditor API keys and the record of their use, the
 * append-only evidence (`events`, `event_conflicts`) and the chain tables derived from it.
 */
export class EvidenceChain1795870608360 implements MigrationInterface {
  name = 'EvidenceChain1795870608360';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "service_settings" (
        "name" text NOT NULL,
        "value" text NOT NULL,
        CONSTRAINT "pk_service_settings" PRIMARY KEY ("name")
      )`);

    await queryRunner.query(`
      CREATE TABLE "sources" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "kind" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "disabled_at" timestamptz,
        CONSTRAINT "pk_sources" PRIMARY KEY ("id"),
        CONSTRAINT "uq_sources_name" UNIQUE ("name"),
        CONSTRAINT "chk_sources_kind" CHECK ("kind" IN ('authorization_server', 'token_service', 'agent'))
      )`);
    await queryRunner.query(`
      CREATE TABLE "source_secrets" (
        "id" uuid NOT NULL,
        "source_id" uuid NOT NULL,
        "sealed" bytea NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz,
        CONSTRAINT "pk_source_secrets" PRIMARY KEY ("id"),
        CONSTRAINT "fk_source_secrets_source" FOREIGN KEY ("source_id") REFERENCES "sources" ("id") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_source_secrets_source" ON "source_secrets" ("source_id")`);

    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "key_sha256" bytea NOT NULL,
        "scopes" text[] NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        CONSTRAINT "pk_api_keys" PRIMARY KEY ("id"),
        CONSTRAINT "uq_api_keys_key_sha256" UNIQUE ("key_sha256"),
        CONSTRAINT "chk_api_keys_scopes" CHECK ("scopes" <@ ARRAY['audit:read', 'audit:export', 'audit:admin']::text[] AND cardinality("scopes") > 0)
      )`);
    await queryRunner.query(`
      CREATE TABLE "access_records" (
        "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "api_key_id" uuid NOT NULL,
        "method" text NOT NULL,
        "target" text NOT NULL,
        "status" integer NOT NULL,
        "correlation_id" text NOT NULL,
        "at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_access_records" PRIMARY KEY ("seq"),
        CONSTRAINT "fk_access_records_api_key" FOREIGN KEY ("api_key_id") REFERENCES "api_keys" ("id") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_access_records_api_key" ON "access_records" ("api_key_id", "at")`);

    await queryRunner.query(`
      CREATE TABLE "events" (
        "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "source_id" uuid NOT NULL,
        "event_id" text NOT NULL,
        "type" text NOT NULL,
        "emitted_at" timestamptz NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        "fingerprint" bytea NOT NULL,
        "data" jsonb NOT NULL,
        CONSTRAINT "pk_events" PRIMARY KEY ("seq"),
        CONSTRAINT "uq_events_source_event_id" UNIQUE ("source_id", "event_id"),
        CONSTRAINT "chk_events_type" CHECK ("type" IN ('request_object.verification', 'consent.decision', 'token.issued', 'token.revoked', 'tool_call.recorded')),
        CONSTRAINT "fk_events_source" FOREIGN KEY ("source_id") REFERENCES "sources" ("id") ON DELETE RESTRICT
      )`);
    // Partial expression indexes for the lookups; their expressions must match ChainsRepository's queries.
    await queryRunner.query(
      `CREATE INDEX "idx_events_call_id" ON "events" (("data" ->> 'call_id')) WHERE "type" = 'tool_call.recorded'`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_events_side_effect_reference" ON "events" (("data" -> 'side_effect' ->> 'reference')) WHERE "type" = 'tool_call.recorded'`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_events_request_uri" ON "events" (("data" ->> 'request_uri')) WHERE "type" = 'request_object.verification'`,
    );

    await queryRunner.query(`
      CREATE TABLE "event_conflicts" (
        "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "source_id" uuid NOT NULL,
        "event_id" text NOT NULL,
        "original_seq" bigint NOT NULL,
        "type" text NOT NULL,
        "emitted_at" timestamptz NOT NULL,
        "fingerprint" bytea NOT NULL,
        "data" jsonb NOT NULL,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_event_conflicts" PRIMARY KEY ("seq"),
        CONSTRAINT "uq_event_conflicts_delivery" UNIQUE ("source_id", "event_id", "fingerprint"),
        CONSTRAINT "fk_event_conflicts_source" FOREIGN KEY ("source_id") REFERENCES "sources" ("id") ON DELETE RESTRICT,
        CONSTRAINT "fk_event_conflicts_original" FOREIGN KEY ("original_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);

    await queryRunner.query(`
      CREATE TABLE "chains" (
        "digest" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_chains" PRIMARY KEY ("digest")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_chains_created" ON "chains" ("created_at", "digest")`);
    await queryRunner.query(`
      CREATE TABLE "digest_aliases" (
        "alias" text NOT NULL,
        "chain_digest" text NOT NULL,
        "event_seq" bigint NOT NULL,
        CONSTRAINT "pk_digest_aliases" PRIMARY KEY ("alias", "chain_digest"),
        CONSTRAINT "fk_digest_aliases_chain" FOREIGN KEY ("chain_digest") REFERENCES "chains" ("digest") ON DELETE RESTRICT,
        CONSTRAINT "fk_digest_aliases_event" FOREIGN KEY ("event_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_digest_aliases_chain" ON "digest_aliases" ("chain_digest")`);
    await queryRunner.query(`
      CREATE TABLE "chain_members" (
        "chain_digest" text NOT NULL,
        "event_seq" bigint NOT NULL,
        "linked_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_chain_members" PRIMARY KEY ("chain_digest", "event_seq"),
        CONSTRAINT "fk_chain_members_chain" FOREIGN KEY ("chain_digest") REFERENCES "chains" ("digest") ON DELETE RESTRICT,
        CONSTRAINT "fk_chain_members_event" FOREIGN KEY ("event_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_chain_members_event" ON "chain_members" ("event_seq")`);
    await queryRunner.query(`
      CREATE TABLE "chain_facets" (
        "name" text NOT NULL,
        "value" text NOT NULL,
        "chain_digest" text NOT NULL,
        "chain_created_at" timestamptz NOT NULL,
        CONSTRAINT "pk_chain_facets" PRIMARY KEY ("name", "value", "chain_digest"),
        CONSTRAINT "chk_chain_facets_name" CHECK ("name" IN ('client_id', 'issuer', 'subject', 'tool')),
        CONSTRAINT "fk_chain_facets_chain" FOREIGN KEY ("chain_digest") REFERENCES "chains" ("digest") ON DELETE RESTRICT
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_chain_facets_search" ON "chain_facets" ("name", "value", "chain_created_at", "chain_digest")`,
    );
    await queryRunner.query(`
      CREATE TABLE "token_refs" (
        "token_key" text NOT NULL,
        "role" text NOT NULL,
        "event_seq" bigint NOT NULL,
        CONSTRAINT "pk_token_refs" PRIMARY KEY ("token_key", "role", "event_seq"),
        CONSTRAINT "chk_token_refs_role" CHECK ("role" IN ('identity', 'parent', 'usage', 'revocation')),
        CONSTRAINT "fk_token_refs_event" FOREIGN KEY ("event_seq") REFERENCES "events" ("seq") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "idx_token_refs_event" ON "token_refs" ("event_seq")`);

    // Append-only in PostgreSQL itself: evidence cannot be updated, deleted or truncated, whatever the code does.
    await queryRunner.query(`
      CREATE FUNCTION "jartrail_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'jartrail: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    for (const table of APPEND_ONLY_TABLES) {
      await queryRunner.query(
        `CREATE TRIGGER "trg_${table}_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "jartrail_refuse_change"()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'token_refs',
      'chain_facets',
      'chain_members',
      'digest_aliases',
      'chains',
      'event_conflicts',
      'events',
      'access_records',
      'api_keys',
      'source_secrets',
      'sources',
      'service_settings',
    ]) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
    await queryRunner.query(`DROP FUNCTION "jartrail_refuse_change"()`);
  }
}

const APPEND_ONLY_TABLES = [
  'events',
  'event_conflicts',
  'chains',
  'digest_aliases',
  'chain_members',
  'chain_facets',
  'token_refs',
  'access_records',
];
