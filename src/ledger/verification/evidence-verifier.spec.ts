import { exportJWK, generateKeyPair } from 'jose';
import { signCheckpoint } from '../checkpoint-signer';
import { leafHashOf, leafInputOf, payloadHashOf } from '../ledger-leaf';
import { CompactRange, inclusionProofRanges, rangeHash } from '../merkle/merkle-tree';
import type { EvidenceBundle, PublicJwks } from './documents';
import { verifyDocument } from './evidence-verifier';

/** A ledger of three records in memory, signed like the service signs, exported like the service exports. */
async function aBundle(): Promise<{ bundle: EvidenceBundle; jwks: PublicJwks }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] };
  const salt = Buffer.alloc(16, 1);
  const records = ['e-0', 'e-1', 'e-2'].map((eventId, seq) => {
    const payload = { n: seq, subject: 'psn:x' };
    const leaf = leafInputOf(
      seq,
      {
        kind: 'event',
        recordSeq: String(seq + 10),
        sourceId: '00000000-0000-4000-8000-000000000000',
        eventId,
        type: 'consent.decision',
        emittedAt: '2026-01-01T00:00:00.000000Z',
        occurredAt: '2026-01-01T00:00:00.000000Z',
        recordedAt: '2026-01-01T00:00:01.123456Z',
        fingerprint: Buffer.alloc(32, seq).toString('base64url'),
        originalSeq: null,
      },
      payloadHashOf(salt, payload),
    );
    return { leaf, payload };
  });
  const store = new Map<string, Buffer>();
  const range = CompactRange.empty();
  for (const { leaf } of records) for (const node of range.append(leafHashOf(leaf))) store.set(`${node.level}/${node.index}`, node.hash);
  const checkpoint = await signCheckpoint({ kid: 'k1', alg: 'EdDSA', privateKey }, 3, range.root(), '2026-01-01T00:00:02.000000Z');
  const bundle: EvidenceBundle = {
    kind: 'evidence_bundle',
    format: 'jartrail-evidence-bundle/v1',
    chain: 'c',
    exported_at: '2026-01-01T00:00:03.000Z',
    checkpoint: { kind: 'checkpoint', tree_size: 3, root_hash: checkpoint.rootHash.toString('base64url'), issued_at: checkpoint.issuedAt, kid: 'k1', jws: checkpoint.jws },
    records: records.map(({ leaf, payload }, seq) => ({
      ledger_seq: seq,
      leaf,
      payload,
      salt: salt.toString('base64url'),
      inclusion_proof: inclusionProofRanges(seq, 3).map((r) => rangeHash(r, (node) => store.get(`${node.level}/${node.index}`)).toString('base64url')),
    })),
    pending: [],
    jwks,
  };
  return { bundle, jwks };
}

describe('the offline verifier', () => {
  it('accepts an untouched bundle and a purged payload', async () => {
    const { bundle, jwks } = await aBundle();
    expect(await verifyDocument(bundle, jwks)).toMatchObject({ ok: true });
    const purged = { ...bundle, records: bundle.records.map((record, index) => (index === 1 ? { ...record, payload: null } : record)) };
    expect(await verifyDocument(purged, jwks)).toMatchObject({ ok: true });
  });

  it('names the record whose payload, fields or proof changed', async () => {
    const { bundle, jwks } = await aBundle();
    const changed = (index: number, change: (record: EvidenceBundle['records'][number]) => EvidenceBundle['records'][number]) => ({
      ...bundle,
      records: bundle.records.map((record, position) => (position === index ? change(record) : record)),
    });
    const payload = await verifyDocument(changed(1, (record) => ({ ...record, payload: { n: 99 } })), jwks);
    expect(payload.first_failure).toMatchObject({ subject: 'record ledger_seq=1 event_id=e-1', detail: expect.stringMatching(/payload differs/) });
    const field = await verifyDocument(changed(2, (record) => ({ ...record, leaf: { ...record.leaf!, type: 'token.issued' } })), jwks);
    expect(field.first_failure).toMatchObject({ subject: 'record ledger_seq=2 event_id=e-2', detail: expect.stringMatching(/not included/) });
  });

  it('refuses a checkpoint signed by another key, or with a root that is not the signed one', async () => {
    const { bundle, jwks } = await aBundle();
    const other = await aBundle();
    expect((await verifyDocument(bundle, other.jwks)).first_failure).toMatchObject({ subject: 'checkpoint tree_size=3 kid=k1', detail: expect.stringMatching(/signature does not verify/) });
    const lying = { ...bundle, checkpoint: { ...bundle.checkpoint, root_hash: Buffer.alloc(32, 9).toString('base64url') } };
    expect((await verifyDocument(lying, jwks)).first_failure?.detail).toMatch(/differ from what the signature covers/);
    expect(await verifyDocument({ kind: 'something else' })).toMatchObject({ ok: false });
  });
});
