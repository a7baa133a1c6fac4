import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { signCheckpoint, signPurge, toCheckpointDocument } from '../ledger/checkpoint-signer';
import type { Signer } from '../ledger/signing-keys.service';
import type { PublicJwks } from '../ledger/verification/documents';
import { type ManifestClaims, type ManifestDocument, SeqSet, signManifest, verifyExport } from './export-manifest';

/**
 * The offline verifier's completeness and purge checks, against a manifest signed with a key made here: what a
 * manifest may claim of an unfiltered range, and of purged payloads, and what `jartrail verify` says when it lies.
 */
describe('verifying an export: completeness and purges', () => {
  let signer: Signer;
  let jwks: PublicJwks;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    signer = { kid: 'test-key', alg: 'EdDSA', privateKey };
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'EdDSA', use: 'sig' }] };
  });

  const line = (seq: number, data: unknown = { n: seq }) =>
    `${JSON.stringify({ ledger_seq: seq, kind: 'event', event_id: `e${seq}`, type: 'consent.decision', recorded_at: '2026-01-01T00:00:00.000000Z', payload_purged: data === null, data })}\n`;

  async function exported(seqs: readonly number[], claims: Partial<ManifestClaims>, lines = seqs.map((seq) => line(seq))) {
    const file = Buffer.from(lines.join(''), 'utf8');
    const checkpoint = toCheckpointDocument(await signCheckpoint(signer, 10, Buffer.alloc(32, 7), '2026-01-02T00:00:00.000000Z'));
    const ranges = new SeqSet();
    for (const seq of seqs) ranges.add(seq);
    const manifest: ManifestClaims = {
      log: 'jartrail',
      kind: 'export_manifest',
      format: 'jartrail-export-manifest/v1',
      export_id: '00000000-0000-4000-8000-000000000002',
      file_format: 'ndjson',
      query: {},
      proofs: false,
      records: seqs.length,
      bytes: file.length,
      sha256: createHash('sha256').update(file).digest('hex'),
      ledger_seqs: ranges.ranges(),
      checkpoint,
      created_at: '2026-01-02T00:00:01.000Z',
      ...claims,
    };
    const document: ManifestDocument = { kind: 'export_manifest', jws: await signManifest(signer, manifest), manifest };
    return verifyExport(file, document, jwks);
  }

  it('holds for a complete range', async () => {
    const report = await exported([0, 1, 2, 3], { completeness: { from_seq: 0, to_seq: 4, records: 4, kinds: ['event'] } });
    expect(report.ok).toBe(true);
    expect(report.checks).toContainEqual(expect.objectContaining({ subject: 'completeness', ok: true }));
  });

  it('names the missing seq of a range said to be complete', async () => {
    const report = await exported([0, 1, 3], { completeness: { from_seq: 0, to_seq: 4, records: 3, kinds: ['event'] } });
    expect(report.ok).toBe(false);
    expect(report.first_failure).toMatchObject({ subject: 'completeness', detail: expect.stringContaining('ledger seq 2 is not listed') });
  });

  it('refuses a range that runs past the checkpoint', async () => {
    const seqs = Array.from({ length: 12 }, (_, index) => index);
    const report = await exported(seqs, { completeness: { from_seq: 0, to_seq: 12, records: 12, kinds: ['event'] } });
    expect(report.checks).toContainEqual(expect.objectContaining({ subject: 'completeness', ok: false, detail: expect.stringContaining("past the checkpoint's tree of 10") }));
  });

  it('accepts a purged payload under a signed purge of the manifest, and names one that no purge covers', async () => {
    const claims = { log: 'jartrail' as const, policy: 'p90', from_ledger_seq: 0, to_ledger_seq: 1, recorded_before: '2026-01-01T00:00:01.000000Z' };
    const { kid, jws } = await signPurge(signer, claims);
    const purge = { kind: 'purge' as const, purge_id: '1', ...claims, purged_at: '2026-01-03T00:00:00.000000Z', kid, jws };
    const lines = [line(0, null), line(1, null), line(2)];
    const covered = await exported([0, 1, 2], { purges: [purge] }, lines);
    expect(covered.ok).toBe(true);
    expect(covered.checks).toContainEqual(expect.objectContaining({ subject: 'purges', ok: true }));
    const uncovered = await exported([0, 1, 2], { purges: [purge] }, [line(0, null), line(1), line(2, null)]);
    expect(uncovered.first_failure).toMatchObject({ subject: 'purges', detail: expect.stringContaining('ledger seq 2') });
  });
});
