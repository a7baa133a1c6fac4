import { z } from 'zod';
import type { MasterKeyStatus, RotationReport, SealedCount } from '../master-keys.service';

export const DEFAULT_ROTATION_BATCH_SIZE = 100;

export const rotateMasterKeyRequest = z
  .strictObject({
    batch_size: z.int().min(1).max(10_000).optional().describe(`Values re-sealed per transaction (default ${DEFAULT_ROTATION_BATCH_SIZE})`),
  })
  .meta({ id: 'RotateMasterKeyRequest' });

export type RotateMasterKeyRequest = z.infer<typeof rotateMasterKeyRequest>;

const sealedCount = z
  .object({
    key_id: z.string(),
    count: z.int(),
    held: z.boolean().describe('This replica holds the key (JARTRAIL_MASTER_KEY or JARTRAIL_PREVIOUS_MASTER_KEYS)'),
  })
  .meta({ id: 'SealedCount' });

export const masterKeyStatusResponse = z
  .object({
    current_key_id: z.string().describe('The id of JARTRAIL_MASTER_KEY on the replica that answered: it seals every new value'),
    held_key_ids: z.array(z.string()).describe('Every master key the replica holds, the current one first'),
    sealed: z.array(sealedCount).describe('Sealed values by the master key that sealed them'),
  })
  .meta({ id: 'MasterKeyStatus' });

export const rotationReportResponse = z
  .object({
    ok: z.boolean().describe('Nothing is left sealed under another key: the previous keys can be removed from the configuration'),
    from_key_ids: z.array(z.string()),
    to_key_id: z.string(),
    resealed: z.object({ source_secrets: z.int(), decryption_keys: z.int(), ledger_signing_key_secrets: z.int(), service_keys: z.int() }),
    remaining: z.array(sealedCount).describe('Values still sealed under another key (a key this replica lacks, or written by a replica with an older configuration)'),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime(),
  })
  .meta({ id: 'MasterKeyRotation' });

const toSealedCount = (count: SealedCount) => ({ key_id: count.keyId, count: count.count, held: count.held });

export function toMasterKeyStatusResponse(status: MasterKeyStatus): z.infer<typeof masterKeyStatusResponse> {
  return { current_key_id: status.currentKeyId, held_key_ids: [...status.heldKeyIds], sealed: status.sealed.map(toSealedCount) };
}

export function toRotationReportResponse(report: RotationReport): z.infer<typeof rotationReportResponse> {
  return {
    ok: report.ok,
    from_key_ids: [...report.fromKeyIds],
    to_key_id: report.toKeyId,
    resealed: { ...report.resealed },
    remaining: report.remaining.map(toSealedCount),
    started_at: report.startedAt.toISOString(),
    finished_at: report.finishedAt.toISOString(),
  };
}
