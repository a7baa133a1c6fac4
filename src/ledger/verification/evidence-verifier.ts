import { base64url, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { leafHash as leafHashOf, payloadHash as payloadHashOf } from '../leaf-hash';
import { EMPTY_ROOT, verifyConsistency, verifyInclusion } from '../merkle/merkle-proofs';
import {
  CHECKPOINT_JWS_TYPE,
  type CheckpointClaims,
  type CheckpointDocument,
  type ConsistencyProofDocument,
  type EvidenceBundle,
  type InclusionProofDocument,
  type PublicJwks,
  PURGE_JWS_TYPE,
  type PurgeClaims,
  type PurgeDocument,
  type TreeHead,
} from './documents';

/**
 * The offline verifier: checks what the ledger hands out with nothing but the document and a JWKS. No database,
 * no network, no Nest, no Node API: the service's tests, `jartrail verify` and the review console in the browser
 * use the same functions.
 */

/** One thing checked, named so that a reader can find it: a checkpoint by its size, a record by seq and event id. */
export interface Check {
  readonly subject: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface VerificationReport {
  readonly kind: string;
  readonly ok: boolean;
  /**
   * Whose keys the signatures were checked with: `given` (the JWKS the caller passed, e.g. `--jwks`), `document`
   * (the JWKS inside the document: whoever made it chose them, so this proves nothing against its maker) or `none`.
   */
  readonly keys?: 'given' | 'document' | 'none';
  readonly checks: readonly Check[];
  /** The first check that failed, when one did. */
  readonly first_failure?: Check;
}

export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const;

const b64 = (value: string): Uint8Array => base64url.decode(value);
const text = new TextDecoder();
const BASE64URL_HASH = /^[A-Za-z0-9_-]{43}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function report(kind: string, checks: Check[]): VerificationReport {
  const failure = checks.find((check) => !check.ok);
  return { kind, ok: failure === undefined, checks, ...(failure && { first_failure: failure }) };
}

function isHashText(value: unknown): value is string {
  return typeof value === 'string' && BASE64URL_HASH.test(value);
}

function hashes(values: readonly unknown[]): Uint8Array[] | undefined {
  return values.every(isHashText) ? values.map(b64) : undefined;
}

/** Verifies a checkpoint's JWS under the JWKS and that its readable fields say what the signature covers. */
export async function verifyCheckpoint(checkpoint: CheckpointDocument, jwks: PublicJwks): Promise<Check & { claims?: CheckpointClaims }> {
  const subject = `checkpoint tree_size=${String(checkpoint?.tree_size)} kid=${String(checkpoint?.kid)}`;
  if (typeof checkpoint?.jws !== 'string') return { subject, ok: false, detail: 'no JWS' };
  let claims: CheckpointClaims;
  try {
    const { payload, protectedHeader } = await compactVerify(checkpoint.jws, createLocalJWKSet(jwks as JSONWebKeySet), { algorithms: [...SIGNING_ALGORITHMS] });
    if (protectedHeader.typ !== CHECKPOINT_JWS_TYPE) return { subject, ok: false, detail: `the JWS type is ${String(protectedHeader.typ)}, not ${CHECKPOINT_JWS_TYPE}` };
    claims = JSON.parse(text.decode(payload)) as CheckpointClaims;
  } catch (error) {
    return { subject, ok: false, detail: `the signature does not verify under the JWKS: ${(error as Error).message}` };
  }
  if (claims.log !== 'jartrail' || !Number.isSafeInteger(claims.tree_size) || !isHashText(claims.root_hash)) {
    return { subject, ok: false, detail: 'the signed payload is not a jartrail checkpoint' };
  }
  if (claims.tree_size !== checkpoint.tree_size || claims.root_hash !== checkpoint.root_hash || claims.issued_at !== checkpoint.issued_at) {
    return { subject, ok: false, detail: 'tree_size, root_hash or issued_at differ from what the signature covers' };
  }
  return { subject, ok: true, detail: `signed by ${checkpoint.kid}: ${claims.tree_size} records, root ${claims.root_hash}`, claims };
}

/** A time as jartrail writes it, to the microsecond, so that two times compare as text. */
function exactTime(value: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(value);
  return match ? `${match[1]}.${(match[2] ?? '').padEnd(6, '0')}Z` : undefined;
}

/** Verifies a purge's JWS under the JWKS and that its readable fields say what the signature covers. */
export async function verifyPurge(purge: PurgeDocument, jwks: PublicJwks): Promise<Check & { claims?: PurgeClaims }> {
  const subject = `purge from_ledger_seq=${String(purge?.from_ledger_seq)} to_ledger_seq=${String(purge?.to_ledger_seq)} policy=${String(purge?.policy)}`;
  if (typeof purge?.jws !== 'string') return { subject, ok: false, detail: 'the purge is not signed: it cannot be told from one written around the service' };
  let claims: PurgeClaims;
  try {
    const { payload, protectedHeader } = await compactVerify(purge.jws, createLocalJWKSet(jwks as JSONWebKeySet), { algorithms: [...SIGNING_ALGORITHMS] });
    if (protectedHeader.typ !== PURGE_JWS_TYPE) return { subject, ok: false, detail: `the JWS type is ${String(protectedHeader.typ)}, not ${PURGE_JWS_TYPE}` };
    claims = JSON.parse(text.decode(payload)) as PurgeClaims;
  } catch (error) {
    return { subject, ok: false, detail: `the signature does not verify under the JWKS: ${(error as Error).message}` };
  }
  if (
    claims.log !== 'jartrail' ||
    typeof claims.policy !== 'string' ||
    !Number.isSafeInteger(claims.from_ledger_seq) ||
    !Number.isSafeInteger(claims.to_ledger_seq) ||
    typeof claims.recorded_before !== 'string' ||
    exactTime(claims.recorded_before) === undefined
  ) {
    return { subject, ok: false, detail: 'the signed payload is not a jartrail purge' };
  }
  if (
    claims.policy !== purge.policy ||
    claims.from_ledger_seq !== purge.from_ledger_seq ||
    claims.to_ledger_seq !== purge.to_ledger_seq ||
    claims.recorded_before !== purge.recorded_before
  ) {
    return { subject, ok: false, detail: 'policy, from_ledger_seq, to_ledger_seq or recorded_before differ from what the signature covers' };
  }
  return { subject, ok: true, detail: `signed by ${String(purge.kid)}: ledger seqs ${claims.from_ledger_seq} to ${claims.to_ledger_seq} under policy ${claims.policy}`, claims };
}

/**
 * Why a blanked payload is not a purge's doing, or undefined when a validly signed purge covers its ledger seq and
 * the record was recorded before that purge's cutoff. `purges`: the valid ones, by from_ledger_seq.
 */
export function blankedPayloadProblem(purges: readonly PurgeClaims[], ledgerSeq: number, recordedAt: string): string | undefined {
  let low = 0;
  let high = purges.length - 1;
  let covering: PurgeClaims | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const purge = purges[middle]!;
    if (purge.from_ledger_seq > ledgerSeq) high = middle - 1;
    else if (purge.to_ledger_seq < ledgerSeq) low = middle + 1;
    else {
      covering = purge;
      break;
    }
  }
  if (!covering) return 'the payload is blanked, but no signed purge covers this record: it was removed around the service';
  const recorded = exactTime(recordedAt);
  if (recorded === undefined || recorded >= exactTime(covering.recorded_before)!) {
    return `the payload is blanked, but the record was recorded at ${recordedAt}, not before the cutoff ${covering.recorded_before} of the purge that covers it`;
  }
  return undefined;
}

/** The valid purges' claims, by from_ledger_seq, and a check for each purge. */
export async function checkPurges(purges: readonly PurgeDocument[], jwks: PublicJwks): Promise<{ valid: PurgeClaims[]; checks: Check[] }> {
  const valid: PurgeClaims[] = [];
  const checks: Check[] = [];
  for (const purge of purges) {
    const { claims, ...check } = await verifyPurge(purge, jwks);
    checks.push(check);
    if (claims) valid.push(claims);
  }
  valid.sort((a, b) => a.from_ledger_seq - b.from_ledger_seq);
  return { valid, checks };
}

/**
 * A tree head holds only as what a checkpoint signed by a key of the JWKS says. Without one, the root is the
 * word of whoever made the document, and any made-up leaf has a "proof" against a made-up root. The one exception
 * is the empty tree, whose root is known to everyone.
 */
async function treeHeadChecks(name: string, head: TreeHead, jwks: PublicJwks | undefined): Promise<Check[]> {
  if (head.checkpoint === null || head.checkpoint === undefined) {
    const empty = head.tree_size === 0 && head.root_hash === base64url.encode(EMPTY_ROOT);
    return [
      {
        subject: `${name} tree_size=${head.tree_size}`,
        ok: empty,
        detail: empty ? 'the empty tree: its root needs no signature' : 'no signed checkpoint at this tree size: the root is unsigned, so nothing is proven (ask the service for a proof against a checkpoint)',
      },
    ];
  }
  if (!jwks) return [{ subject: `${name} checkpoint`, ok: false, detail: 'no JWKS to check the signature with (give --jwks)' }];
  const { claims: _claims, ...check } = await verifyCheckpoint(head.checkpoint, jwks);
  const matches = head.checkpoint.tree_size === head.tree_size && head.checkpoint.root_hash === head.root_hash;
  return [check, { subject: `${name} tree_size=${head.tree_size}`, ok: matches, detail: matches ? 'the root is the signed one' : 'the root differs from the signed checkpoint' }];
}

export async function verifyInclusionDocument(document: InclusionProofDocument, jwks: PublicJwks | undefined = document.jwks): Promise<VerificationReport> {
  const subject = `record ledger_seq=${document.ledger_seq} event_id=${document.leaf?.event_id}`;
  const checks = await treeHeadChecks('tree', { tree_size: document.tree_size, root_hash: document.root_hash, checkpoint: document.checkpoint }, jwks);
  const leafHash = base64url.encode(leafHashOf(document.leaf));
  checks.push({ subject, ok: leafHash === document.leaf_hash && document.leaf.ledger_seq === document.ledger_seq, detail: leafHash === document.leaf_hash ? 'the leaf hash is the hash of the leaf' : 'the leaf hash is not the hash of the leaf' });
  const proof = hashes(document.proof ?? []);
  const included = proof !== undefined && isHashText(document.root_hash) && verifyInclusion(document.ledger_seq, document.tree_size, b64(leafHash), proof, b64(document.root_hash));
  checks.push({ subject, ok: included, detail: included ? `included in the tree of ${document.tree_size}` : `the inclusion proof does not lead to the root of the tree of ${document.tree_size}` });
  return report('inclusion_proof', checks);
}

export async function verifyConsistencyDocument(document: ConsistencyProofDocument, jwks: PublicJwks | undefined = document.jwks): Promise<VerificationReport> {
  const checks = [...(await treeHeadChecks('from', document.from, jwks)), ...(await treeHeadChecks('to', document.to, jwks))];
  const proof = hashes(document.proof ?? []);
  const consistent =
    proof !== undefined &&
    isHashText(document.from.root_hash) &&
    isHashText(document.to.root_hash) &&
    verifyConsistency(document.from.tree_size, document.to.tree_size, b64(document.from.root_hash), b64(document.to.root_hash), proof);
  checks.push({
    subject: `trees ${document.from.tree_size} → ${document.to.tree_size}`,
    ok: consistent,
    detail: consistent ? 'the larger tree extends the smaller one, nothing changed or removed' : 'the consistency proof fails: the trees are not one append-only log',
  });
  return report('consistency_proof', checks);
}

/**
 * A whole exported chain: the checkpoint's signature, then for each record and each kept conflict its kind, payload
 * hash, leaf and inclusion. A conflict must contradict one of the bundle's records.
 */
export async function verifyEvidenceBundle(bundle: EvidenceBundle, jwks: PublicJwks = bundle.jwks): Promise<VerificationReport> {
  const { claims, ...checkpointCheck } = await verifyCheckpoint(bundle.checkpoint, jwks);
  const purges = await checkPurges(Array.isArray(bundle.purges) ? bundle.purges : [], jwks);
  const checks: Check[] = [checkpointCheck, ...purges.checks];
  const root = claims ? b64(claims.root_hash) : undefined;
  const recordSeqs = new Set((bundle.records ?? []).map((record) => record.leaf?.record_seq));
  const listed = [
    ...(bundle.records ?? []).map((record) => ({ record, kind: 'event' as const })),
    ...(bundle.conflicts ?? []).map((record) => ({ record, kind: 'conflict' as const })),
  ];
  for (const { record, kind } of listed) {
    const subject = `${kind === 'event' ? 'record' : 'conflict'} ledger_seq=${record.ledger_seq} event_id=${record.leaf?.event_id ?? '?'}`;
    if (record.leaf === null) {
      checks.push({ subject, ok: false, detail: `the ledger holds this ${kind === 'event' ? 'record' : 'conflict'}, but the database no longer does (deleted)` });
      continue;
    }
    if (record.leaf.kind !== kind) {
      checks.push({ subject, ok: false, detail: `the leaf is of kind ${String(record.leaf.kind)}, not ${kind}` });
      continue;
    }
    if (kind === 'conflict') {
      const known = record.leaf.original_seq !== undefined && recordSeqs.has(record.leaf.original_seq);
      checks.push({
        subject,
        ok: known,
        detail: known ? `a body refused under the id of record ${record.leaf.original_seq}, kept as evidence` : `it names record ${String(record.leaf.original_seq)}, which is not in this bundle`,
      });
    }
    if (record.leaf.ledger_seq !== record.ledger_seq) {
      checks.push({ subject, ok: false, detail: `the leaf says ledger_seq ${record.leaf.ledger_seq}` });
      continue;
    }
    if (record.payload !== null) {
      const salt = typeof record.salt === 'string' && BASE64URL.test(record.salt) ? b64(record.salt) : undefined;
      const same = salt !== undefined && base64url.encode(payloadHashOf(salt, record.payload)) === record.leaf.payload_hash;
      checks.push({ subject, ok: same, detail: same ? 'the payload is the one committed' : 'the payload differs from the one committed (its salted hash does not match)' });
    } else {
      const problem = blankedPayloadProblem(purges.valid, record.ledger_seq, record.leaf.recorded_at);
      checks.push({ subject, ok: problem === undefined, detail: problem ?? 'payload purged by a signed retention purge; the leaf still commits to its salted hash' });
    }
    const proof = hashes(record.inclusion_proof ?? []);
    const included = root !== undefined && proof !== undefined && verifyInclusion(record.leaf.ledger_seq, claims!.tree_size, leafHashOf(record.leaf), proof, root);
    checks.push({
      subject,
      ok: included,
      detail: included ? `included in the signed tree of ${claims!.tree_size}` : 'not included in the signed tree: the record or its proof was changed',
    });
  }
  return report('evidence_bundle', checks);
}

/** Any ledger document, by its `kind`; a JWKS given separately wins over the one inside the document. */
export async function verifyDocument(document: unknown, jwks?: PublicJwks): Promise<VerificationReport> {
  const inside = (document as { jwks?: PublicJwks } | null)?.jwks;
  const keys = jwks !== undefined ? 'given' : inside !== undefined ? 'document' : 'none';
  return { ...(await verifyAnyDocument(document, jwks)), keys };
}

async function verifyAnyDocument(document: unknown, jwks?: PublicJwks): Promise<VerificationReport> {
  const kind = (document as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case 'checkpoint': {
      const given = jwks ?? (document as { jwks?: PublicJwks }).jwks;
      if (!given) return report('checkpoint', [{ subject: 'checkpoint', ok: false, detail: 'no JWKS to check the signature with (give --jwks)' }]);
      const { claims: _claims, ...check } = await verifyCheckpoint(document as CheckpointDocument, given);
      return report('checkpoint', [check]);
    }
    case 'inclusion_proof':
      return verifyInclusionDocument(document as InclusionProofDocument, jwks ?? (document as InclusionProofDocument).jwks);
    case 'consistency_proof':
      return verifyConsistencyDocument(document as ConsistencyProofDocument, jwks ?? (document as ConsistencyProofDocument).jwks);
    case 'evidence_bundle':
      return verifyEvidenceBundle(document as EvidenceBundle, jwks ?? (document as EvidenceBundle).jwks);
    default:
      return report(String(kind), [{ subject: 'document', ok: false, detail: 'not a jartrail ledger document: kind must be checkpoint, inclusion_proof, consistency_proof or evidence_bundle' }]);
  }
}
