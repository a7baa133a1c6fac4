import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An auditor signed in with the identity provider (an access token, no API key) may triage findings too (issue 9): a
 * triage names who decided either by API key or by the token's subject and issuer, exactly one of the two, as export
 * jobs do. The columns are what the ledger leaf's `source_id` is built from (ledger.repository.ts): a key's id, or the
 * JSON array [issuer, subject], so that a triage's author cannot be changed unseen. ALTER ... DROP NOT NULL and ADD
 * COLUMN without a default rewrite no row, so the append-only triggers are not involved.
 */
export class TriageOfTokenHolders1796820000000 implements MigrationInterface {
  name = 'TriageOfTokenHolders1796820000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "finding_triage" ALTER COLUMN "api_key_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "finding_triage" ADD COLUMN "triaged_by_subject" text`);
    await queryRunner.query(`ALTER TABLE "finding_triage" ADD COLUMN "triaged_by_issuer" text`);
    await queryRunner.query(
      `ALTER TABLE "finding_triage" ADD CONSTRAINT "chk_finding_triage_triaged_by" CHECK (
         ("api_key_id" IS NOT NULL AND "triaged_by_subject" IS NULL AND "triaged_by_issuer" IS NULL)
         OR ("api_key_id" IS NULL AND "triaged_by_subject" IS NOT NULL AND "triaged_by_issuer" IS NOT NULL))`,
    );
  }

  /**
   * A token holder's triage is ledgered and append-only: it can neither be deleted (the ledger would report it missing)
   * nor be given an API key it never had. The revert refuses while there is one, rather than break the ledger.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    const [row]: { n: string }[] = await queryRunner.query(`SELECT count(*) AS n FROM "finding_triage" WHERE "api_key_id" IS NULL`);
    if (Number(row!.n) > 0) {
      throw new Error(`cannot revert TriageOfTokenHolders: ${row!.n} ledgered triage records name a token holder, which the previous schema cannot hold`);
    }
    await queryRunner.query(`ALTER TABLE "finding_triage" DROP CONSTRAINT "chk_finding_triage_triaged_by"`);
    await queryRunner.query(`ALTER TABLE "finding_triage" DROP COLUMN "triaged_by_issuer"`);
    await queryRunner.query(`ALTER TABLE "finding_triage" DROP COLUMN "triaged_by_subject"`);
    await queryRunner.query(`ALTER TABLE "finding_triage" ALTER COLUMN "api_key_id" SET NOT NULL`);
  }
}
