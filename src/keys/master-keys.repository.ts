import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { MasterKeyId, SealedValue, SealPurpose } from '../common/crypto/keyring';

/** One kind of sealed value: where it is kept, what its seal is bound to, and which derived key seals it. */
export interface SealedTable {
  readonly table: 'source_secrets' | 'decryption_keys' | 'ledger_signing_key_secrets' | 'service_keys' | 'notification_subscriptions';
  readonly keyColumn: string;
  /** The columns the associated data is made of, in the order `contextOf` takes them. */
  readonly contextColumns: readonly string[];
  readonly purpose: SealPurpose;
  readonly contextOf: (row: Readonly<Record<string, string>>) => string;
}

export interface SealedRow extends SealedValue {
  readonly key: string;
  readonly context: string;
}

/** The sealed values of every table, counted and re-sealed by the master key that sealed them. */
@Injectable()
export class MasterKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** How many values each master key seals, per table. */
  async countBySealer(tables: readonly SealedTable[]): Promise<{ table: SealedTable['table']; sealedBy: MasterKeyId; count: number }[]> {
    const rows: { table: SealedTable['table']; sealed_by: MasterKeyId; count: string }[] = await this.dataSource.query(
      tables.map(({ table }) => `SELECT '${table}' AS "table", sealed_by, count(*) AS count FROM ${table} GROUP BY sealed_by`).join(' UNION ALL '),
    );
    return rows.map((row) => ({ table: row.table, sealedBy: row.sealed_by, count: Number(row.count) }));
  }

  /**
   * One batch: up to `limit` values sealed under one of `from`, locked, re-sealed by `reseal` and written back in
   * one transaction, so a value is always readable under the key its row names. Returns how many were re-sealed.
   */
  async resealBatch(sealed: SealedTable, from: readonly MasterKeyId[], limit: number, reseal: (row: SealedRow) => SealedValue): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const { table, keyColumn, contextColumns } = sealed;
      const rows: Record<string, string | Buffer>[] = await manager.query(
        `SELECT ${keyColumn}::text AS key, ${contextColumns.map((column) => `${column}::text AS "${column}"`).join(', ')}, sealed, sealed_by
           FROM ${table} WHERE sealed_by = ANY($1) ORDER BY ${keyColumn} LIMIT $2 FOR UPDATE`,
        [from, limit],
      );
      for (const row of rows) {
        const context = sealed.contextOf(row as Record<string, string>);
        const next = reseal({ key: row.key as string, context, sealed: row.sealed as Buffer, sealedBy: row.sealed_by as MasterKeyId });
        await manager.query(`UPDATE ${table} SET sealed = $1, sealed_by = $2 WHERE ${keyColumn} = $3`, [next.sealed, next.sealedBy, row.key]);
      }
      return rows.length;
    });
  }
}
