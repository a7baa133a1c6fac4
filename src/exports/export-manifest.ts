import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalJson } from '../common/canonical-json';
import type { Signer } from '../ledger/signing-keys.service';
import { type LeafInput, leafHashOf, payloadHashOf } from '../ledger/ledger-leaf';
import { verifyInclusion } from '../ledger/merkle/merkle-tree';
import type { CheckpointDocument, PublicJwks } from '../ledger/verification/documents';
import { type Check, SIGNING_ALGORITHMS, type VerificationReport, verifyCheckpoint } from '../ledger/verification/evidence-verifier';
import type { ExportScope } from './dto/export.dto';
import { CSV_COLUMNS, type ExportFormat } from './export-formats';

export const MANIFEST_JWS_TYPE = 'jartrail-export-manifest+json';

/** Ledger seqs as runs `[first, last]`, both included, ascending. */
export type SeqRanges = [number, number][];

/** What the manifest's signature covers (RFC 8785 JSON of this). */
export interface ManifestClaims {
  readonly log: 'jartrail';
  readonly kind: 'export_manifest';
  readonly format: 'jartrail-export-manifest/v1';
  readonly export_id: string;
  readonly file_format: ExportFormat;
  readonly query: ExportScope;
  /** Each NDJSON line carries `proof`: its leaf input, salt and inclusion proof in the checkpoint's tree. */
  readonly proofs: boolean;
  readonly records: number;
  readonly bytes: number;
  /** Hex SHA-256 of the file. */
  readonly sha256: string;
  readonly ledger_seqs: SeqRanges;
  /** The signed checkpoint the export was cut at: every record of the file has a ledger seq below its tree size. */
  readonly checkpoint: CheckpointDocument;
  readonly created_at: string;
}

/** `GET /v1/exports/{id}/manifest`: the signed manifest, its claims in the clear, and the ledger's public keys. */
export interface ManifestDocument {
  readonly kind: 'export_manifest';
  readonly jws: string;
  readonly manifest: ManifestClaims;
  readonly jwks?: PublicJwks;
}

/** Adds a seq to runs built in ascending order. */
export function addSeq(ranges: SeqRanges, seq: number): void {
  const last = ranges.at(-1);
  if (last && last[1] + 1 === seq) last[1] = seq;
  else ranges.push([seq, seq]);
}

export async function signManifest(signer: Signer, claims: ManifestClaims): Promise<string> {
  return new CompactSign(Buffer.from(canonicalJson(claims), 'utf8')).setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: MANIFEST_JWS_TYPE }).sign(signer.privateKey);
}

/** The ledger seq of each record of the file, in file order; a message when the file cannot be read as its format. */
function seqsOfFile(file: Buffer, format: ExportFormat): number[] | string {
  const text = file.toString('utf8');
  if (format === 'ndjson') {
    if (text === '') return [];
    if (!text.endsWith('\n')) return 'the last line does not end with a newline (the file is cut short)';
    const seqs: number[] = [];
    const lines = text.slice(0, -1).split('\n');
    for (const [index, line] of lines.entries()) {
      try {
        const seq = (JSON.parse(line) as { ledger_seq?: unknown }).ledger_seq;
        if (!Number.isSafeInteger(seq)) return `line ${index + 1} has no ledger_seq`;
        seqs.push(seq as number);
      } catch {
        return `line ${index + 1} is not JSON`;
      }
    }
    return seqs;
  }
  let rows: string[][];
  try {
    rows = parse(text, { record_delimiter: '\r\n' }) as string[][];
  } catch (error) {
    return `not RFC 4180 CSV: ${(error as Error).message}`;
  }
  if (rows[0]?.join(',') !== CSV_COLUMNS.join(',')) return 'the header row is not the documented one';
  const seqs: number[] = [];
  for (const [index, row] of rows.slice(1).entries()) {
    const seq = Number(row[0]);
    if (!/^\d+$/.test(row[0] ?? '') || !Number.isSafeInteger(seq)) return `row ${index + 2} has no ledger_seq`;
    seqs.push(seq);
  }
  return seqs;
}

function report(checks: Check[], keys: VerificationReport['keys']): VerificationReport {
  const firstFailure = checks.find((check) => !check.ok);
  return { kind: 'export', ok: firstFailure === undefined, keys, checks, ...(firstFailure && { first_failure: firstFailure }) };
}

/**
 * Checks a downloaded export against its manifest, offline: the manifest's signature under the JWKS, the checkpoint's
 * signature, the file's size and SHA-256, and that the file holds exactly the records the manifest lists (their
 * count and ledger seqs, each below the checkpoint's tree size). Every check is named; the first failure says why.
 */
export async function verifyExport(file: Buffer, document: ManifestDocument, givenJwks?: PublicJwks): Promise<VerificationReport> {
  const jwks = givenJwks ?? document.jwks;
  const keys = givenJwks !== undefined ? 'given' : document.jwks !== undefined ? 'document' : 'none';
  const checks: Check[] = [];
  if (document?.kind !== 'export_manifest' || typeof document.jws !== 'string') {
    return report([{ subject: 'manifest', ok: false, detail: 'not a jartrail export manifest (kind export_manifest with a jws)' }], keys);
  }
  if (!jwks) return report([{ subject: 'manifest', ok: false, detail: 'no JWKS to check the signature with (give --jwks)' }], keys);
  let claims: ManifestClaims;
  try {
    const { payload, protectedHeader } = await compactVerify(document.jws, createLocalJWKSet(jwks as JSONWebKeySet), { algorithms: [...SIGNING_ALGORITHMS] });
    if (protectedHeader.typ !== MANIFEST_JWS_TYPE) return report([{ subject: 'manifest', ok: false, detail: `the JWS type is ${String(protectedHeader.typ)}, not ${MANIFEST_JWS_TYPE}` }], keys);
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as ManifestClaims;
    checks.push({ subject: 'manifest', ok: true, detail: `signed by ${String(protectedHeader.kid)}: export ${claims.export_id}, ${claims.records} records` });
  } catch (error) {
    return report([{ subject: 'manifest', ok: false, detail: `the signature does not verify under the JWKS: ${(error as Error).message}` }], keys);
  }
  if (canonicalJson(claims) !== canonicalJson(document.manifest)) {
    checks.push({ subject: 'manifest', ok: false, detail: 'the manifest in the clear differs from what the signature covers' });
  }
  const { claims: checkpointClaims, ...checkpoint } = await verifyCheckpoint(claims.checkpoint, jwks);
  checks.push(checkpoint);

  const sha256 = createHash('sha256').update(file).digest('hex');
  checks.push(
    file.length === claims.bytes && sha256 === claims.sha256
      ? { subject: 'file', ok: true, detail: `${file.length} bytes, SHA-256 ${sha256}` }
      : { subject: 'file', ok: false, detail: `the file has ${file.length} bytes and SHA-256 ${sha256}; the manifest says ${claims.bytes} bytes and ${claims.sha256}` },
  );

  const seqs = seqsOfFile(file, claims.file_format);
  if (typeof seqs === 'string') {
    checks.push({ subject: 'records', ok: false, detail: seqs });
  } else {
    const listed: SeqRanges = [];
    for (const seq of seqs) addSeq(listed, seq);
    const treeSize = checkpointClaims?.tree_size ?? claims.checkpoint.tree_size;
    const beyond = seqs.find((seq) => seq >= treeSize);
    const missing = firstMissing(claims.ledger_seqs, seqs);
    if (seqs.length !== claims.records || JSON.stringify(listed) !== JSON.stringify(claims.ledger_seqs)) {
      checks.push({
        subject: 'records',
        ok: false,
        detail: `the file holds ${seqs.length} records; the manifest lists ${claims.records}${missing === undefined ? '' : `, and ledger seq ${missing} is not in the file`}`,
      });
    } else if (beyond !== undefined) {
      checks.push({ subject: 'records', ok: false, detail: `ledger seq ${beyond} is not in the checkpoint's tree of ${treeSize} records` });
    } else {
      checks.push({ subject: 'records', ok: true, detail: `${seqs.length} records, ledger seqs ${claims.ledger_seqs.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(', ') || 'none'}, all in the checkpoint` });
    }
  }
  if (claims.proofs) checks.push(checkProofs(file, claims.checkpoint));
  return report(checks, keys);
}

interface ProvedLine {
  ledger_seq?: unknown;
  event_id?: unknown;
  type?: unknown;
  data?: unknown;
  proof?: { leaf?: LeafInput | null; salt?: unknown; inclusion_proof?: unknown };
}

/**
 * Every NDJSON line against the checkpoint's root: the leaf is the line's (its seq, event id and type), the payload
 * is the one the leaf commits to (through its salted hash; a purged payload is null and only the leaf is proved),
 * and the audit path leads from the leaf to the signed root. The first line that fails is named.
 */
function checkProofs(file: Buffer, checkpoint: CheckpointDocument): Check {
  const subject = 'proofs';
  const root = Buffer.from(String(checkpoint.root_hash), 'base64url');
  const text = file.toString('utf8');
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [index, text] of lines.entries()) {
    let line: ProvedLine;
    try {
      line = JSON.parse(text) as ProvedLine;
    } catch {
      return { subject, ok: false, detail: `line ${index + 1} is not JSON` };
    }
    const name = `ledger seq ${String(line.ledger_seq)} (event ${String(line.event_id)})`;
    const proof = line.proof;
    if (!proof?.leaf || typeof proof.salt !== 'string' || !Array.isArray(proof.inclusion_proof)) return { subject, ok: false, detail: `${name}: no leaf, salt and inclusion proof` };
    const leaf = proof.leaf;
    if (leaf.ledger_seq !== line.ledger_seq || leaf.event_id !== line.event_id || leaf.type !== line.type) {
      return { subject, ok: false, detail: `${name}: the leaf is of ledger seq ${String(leaf.ledger_seq)}, event ${String(leaf.event_id)}, type ${String(leaf.type)}` };
    }
    if (line.data !== null && payloadHashOf(Buffer.from(proof.salt, 'base64url'), line.data).toString('base64url') !== leaf.payload_hash) {
      return { subject, ok: false, detail: `${name}: the data differs from the payload the leaf commits to` };
    }
    const path = (proof.inclusion_proof as unknown[]).map((hash) => Buffer.from(String(hash), 'base64url'));
    if (!verifyInclusion(leaf.ledger_seq, checkpoint.tree_size, leafHashOf(leaf), path, root)) {
      return { subject, ok: false, detail: `${name}: the inclusion proof does not lead to the checkpoint's root` };
    }
  }
  return { subject, ok: true, detail: `${lines.length} records, each proved in the tree of ${checkpoint.tree_size} records` };
}

/** The first seq the manifest lists that the file lacks. */
function firstMissing(ranges: SeqRanges, seqs: readonly number[]): number | undefined {
  const present = new Set(seqs);
  for (const [from, to] of ranges) {
    for (let seq = from; seq <= to; seq++) if (!present.has(seq)) return seq;
  }
  return undefined;
}
