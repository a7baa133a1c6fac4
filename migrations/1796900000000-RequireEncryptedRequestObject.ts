import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A client may require its requests to travel encrypted (`require_encrypted_request_object`, the encryption
 * counterpart of RFC 9101's `require_signed_request_object`): a high-impact scope or type granted from a request that
 * did not is finding `unsigned_high_impact`. Registrations made before require nothing.
 */
export class RequireEncryptedRequestObject1796900000000 implements MigrationInterface {
  name = 'RequireEncryptedRequestObject1796900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD "require_encrypted_request_object" boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "require_encrypted_request_object"`);
  }
}
