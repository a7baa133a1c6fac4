import { exportJWK, generateKeyPair } from 'jose';
import { signCheckpoint, signPurge } from '../checkpoint-signer';
import { leafHashOf, leafInputOf, payloadHashOf } from '../ledger-leaf';
import { CompactRange, consistencyProofRanges, inclusionProofRanges, rangeHash } from '../merkle/merkle-tree';
import type { ConsistencyProofDocument, EvidenceBundle, InclusionProofDocument, PublicJwks, PurgeDocument } from './documents';
import { verifyDocument } from './evidence-verifier';

/** A ledger of three records in memory, signed like the service signs, exported like the service exports. */
async function aBundle(): Promise<{ bundle: EvidenceBundle; jwks: PublicJwks; purge: (from: number, to: number) => Promise<PurgeDocument> }> {
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
    format: 'jartrail-evidence-bundle/v2',
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
    conflicts: [],
    purges: [],
    pending: [],
    jwks,
  };
  const purge = async (from: number, to: number): Promise<PurgeDocument> => {
    const claims = { log: 'jartrail' as const, policy: 'gdpr-30d', from_ledger_seq: from, to_ledger_seq: to, recorded_before: '2026-01-02T00:00:00.000000Z' };
    const { kid, jws } = await signPurge({ kid: 'k1', alg: 'EdDSA', privateKey }, claims);
    const { log: _log, ...fields } = claims;
    return { kind: 'purge', ...fields, purged_at: '2026-01-03T00:00:00.000000Z', kid, jws };
  };
  return { bundle, jwks, purge };
}

describe('the offline verifier', () => {
  it('accepts an untouched bundle, and a payload blanked under a signed purge that covers it', async () => {
    const { bundle, jwks, purge } = await aBundle();
    expect(await verifyDocument(bundle, jwks)).toMatchObject({ ok: true });
    const purged = { ...bundle, records: bundle.records.map((record, index) => (index === 1 ? { ...record, payload: null } : record)), purges: [await purge(0, 1)] };
    expect(await verifyDocument(purged, jwks)).toMatchObject({ ok: true });
  });

  it('names a blanked payload that no validly signed purge covers', async () => {
    const { bundle, jwks, purge } = await aBundle();
    const blanked = { ...bundle, records: bundle.records.map((record, index) => (index === 1 ? { ...record, payload: null } : record)) };
    const record = { subject: 'record ledger_seq=1 event_id=e-1', ok: false, detail: expect.stringMatching(/no signed purge covers/) };
    expect((await verifyDocument(blanked, jwks)).first_failure).toEqual(record);
    // A purge of another range, or one whose fields were changed after signing, or signed by another key.
    expect((await verifyDocument({ ...blanked, purges: [await purge(2, 2)] }, jwks)).first_failure).toEqual(record);
    const widened = { ...(await purge(0, 0)), to_ledger_seq: 1 };
    expect((await verifyDocument({ ...blanked, purges: [widened] }, jwks)).checks.filter((check) => !check.ok)).toEqual([
      { subject: 'purge from_ledger_seq=0 to_ledger_seq=1 policy=gdpr-30d', ok: false, detail: expect.stringMatching(/differ from what the signature covers/) },
      record,
    ]);
    const other = await aBundle();
    expect((await verifyDocument({ ...blanked, purges: [await other.purge(0, 1)] }, jwks)).checks.filter((check) => !check.ok)).toEqual([
      { subject: 'purge from_ledger_seq=0 to_ledger_seq=1 policy=gdpr-30d', ok: false, detail: expect.stringMatching(/signature does not verify/) },
      record,
    ]);
    // A record recorded after the cutoff the purge signed was not its to blank.
    const late = { ...blanked, records: blanked.records.map((r, index) => (index === 1 ? { ...r, leaf: { ...r.leaf!, recorded_at: '2026-01-02T00:00:00.000001Z' } } : r)) };
    const lateCheck = (await verifyDocument({ ...late, purges: [await purge(0, 1)] }, jwks)).checks.find((check) => check.subject === record.subject && !check.ok);
    expect(lateCheck?.detail).toMatch(/not before the cutoff/);
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

  it('accepts a proof only against a checkpoint signed by a key of the JWKS: a made-up proof with checkpoint null fails', async () => {
    const { bundle, jwks } = await aBundle();
    const record = bundle.records[1]!;
    const signed: InclusionProofDocument = {
      kind: 'inclusion_proof',
      ledger_seq: 1,
      tree_size: 3,
      leaf: record.leaf!,
      leaf_hash: leafHashOf(record.leaf!).toString('base64url'),
      root_hash: bundle.checkpoint.root_hash,
      proof: record.inclusion_proof,
      checkpoint: bundle.checkpoint,
    };
    expect(await verifyDocument(signed, jwks)).toMatchObject({ ok: true, keys: 'given' });
    // A one-leaf "tree" of a made-up leaf: the proof is empty and the root is the leaf hash, so the path holds.
    const madeUp = { ...record.leaf!, ledger_seq: 0, event_id: 'never-recorded' };
    const forged: InclusionProofDocument = {
      ...signed,
      ledger_seq: 0,
      tree_size: 1,
      leaf: madeUp,
      leaf_hash: leafHashOf(madeUp).toString('base64url'),
      proof: [],
      root_hash: leafHashOf(madeUp).toString('base64url'),
      checkpoint: null,
    };
    const report = await verifyDocument(forged, jwks);
    expect(report.ok).toBe(false);
    expect(report.first_failure).toMatchObject({ subject: 'tree tree_size=1', detail: expect.stringMatching(/no signed checkpoint/) });
    // Every other check of it holds: only the missing signature gives it away.
    expect(report.checks.filter((check) => !check.ok)).toHaveLength(1);
    // A checkpoint of another tree does not vouch for this one either.
    expect((await verifyDocument({ ...signed, tree_size: 2, checkpoint: bundle.checkpoint }, jwks)).ok).toBe(false);
  });

  it('accepts a consistency proof only between signed tree heads (or from the empty tree)', async () => {
    const { bundle, jwks } = await aBundle();
    const emptyRoot = '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU';
    const fromEmpty: ConsistencyProofDocument = {
      kind: 'consistency_proof',
      from: { tree_size: 0, root_hash: emptyRoot, checkpoint: null },
      to: { tree_size: 3, root_hash: bundle.checkpoint.root_hash, checkpoint: bundle.checkpoint },
      proof: consistencyProofRanges(0, 3).map(() => emptyRoot),
    };
    expect(await verifyDocument(fromEmpty, jwks)).toMatchObject({ ok: true });
    const unsignedTo = { ...fromEmpty, to: { ...fromEmpty.to, checkpoint: null } };
    expect((await verifyDocument(unsignedTo, jwks)).first_failure).toMatchObject({ subject: 'to tree_size=3', detail: expect.stringMatching(/no signed checkpoint/) });
  });

  it('says whose keys it trusted: the ones given, or the ones inside the document', async () => {
    const { bundle, jwks } = await aBundle();
    expect(await verifyDocument(bundle, jwks)).toMatchObject({ ok: true, keys: 'given' });
    expect(await verifyDocument(bundle)).toMatchObject({ ok: true, keys: 'document' });
    expect(await verifyDocument(bundle.checkpoint)).toMatchObject({ ok: false, keys: 'none' });
  });
});
