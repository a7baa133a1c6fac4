import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalJson } from '../common/canonical-json';
import type { Signer } from '../ledger/signing-keys.service';
import { type LeafInput, leafHashOf, payloadHashOf } from '../ledger/ledger-leaf';
import { verifyInclusion } from '../ledger/merkle/merkle-tree';
import type { CheckpointDocument, PublicJwks, PurgeDocument } from '../ledger/verification/documents';
import { blankedPayloadProblem, type Check, checkPurges, SIGNING_ALGORITHMS, type VerificationReport, verifyCheckpoint } from '../ledger/verification/evidence-verifier';
import type { ExportScope } from './dto/export.dto';
import { CSV_COLUMNS, type ExportFormat } from './export-formats';

export const MANIFEST_JWS_TYPE = 'jartrail-export-manifest+json';

/** Ledger seqs as runs `[first, last]`, both included, ascending. */
export type SeqRanges = [number, number][];

/**
 * An unfiltered export's statement that its seq range is complete: every ledger record of `[from_seq, to_seq)` is in
 * the file, whatever its kind (events, kept conflicts, triage). Absent (null) for a filtered export.
 */
export interface Completeness {
  readonly from_seq: number;
  /** Exclusive: at most the checkpoint's tree size. */
  readonly to_seq: number;
  readonly records: number;
  readonly kinds: readonly string[];
}

/** A recorded retention purge that blanked payloads of the file's records, signed with the ledger key. */
export type ManifestPurge = PurgeDocument & { readonly purge_id: string };

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
  /** The ledger records the file holds (for ndjson-chains: in its chain documents; for a PDF: that it counts). */
  readonly records: number;
  /** ndjson-chains: the chain documents (lines) of the file. */
  readonly chains?: number;
  readonly bytes: number;
  /** Hex SHA-256 of the file. */
  readonly sha256: string;
  readonly ledger_seqs: SeqRanges;
  /** Unfiltered exports of record formats: the seq range is complete. */
  readonly completeness?: Completeness | null;
  /** The signed purges that blanked the payloads of records of the file. */
  readonly purges?: readonly ManifestPurge[];
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

/**
 * A set of ledger seqs in any order, as a bitmap: one bit per seq up to the largest (125 kB for a million), whatever
 * how many are added. Chain documents hold their records' seqs out of ledger order.
 */
export class SeqSet {
  private bits = new Uint8Array(1024);
  private count = 0;

  add(seq: number): void {
    const byte = seq >> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (seq & 7);
    if ((this.bits[byte]! & mask) === 0) {
      this.bits[byte]! |= mask;
      this.count += 1;
    }
  }

  has(seq: number): boolean {
    const byte = seq >> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (seq & 7))) !== 0;
  }

  get size(): number {
    return this.count;
  }

  ranges(): SeqRanges {
    const ranges: SeqRanges = [];
    for (let byte = 0; byte < this.bits.length; byte++) {
      if (this.bits[byte] === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((this.bits[byte]! & (1 << bit)) !== 0) addSeq(ranges, byte * 8 + bit);
    }
    return ranges;
  }
}

export async function signManifest(signer: Signer, claims: ManifestClaims): Promise<string> {
  return new CompactSign(Buffer.from(canonicalJson(claims), 'utf8')).setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: MANIFEST_JWS_TYPE }).sign(signer.privateKey);
}

/** What a file says of its records: their seqs (file order), and those whose payload it shows purged. */
interface FileRecords {
  readonly seqs: number[];
  readonly purged: { seq: number; recordedAt: string }[];
  /** ndjson-chains: the number of chain documents. */
  readonly chains?: number;
}

const CHAIN_SECTIONS = ['consents', 'tokens', 'revocations', 'tool_calls'] as const;

type Line = Record<string, unknown>;

/** The lines of an NDJSON file, parsed; a message when it is not NDJSON. */
function ndjsonLines(text: string): Line[] | string {
  if (text === '') return [];
  if (!text.endsWith('\n')) return 'the last line does not end with a newline (the file is cut short)';
  const lines: Line[] = [];
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `line ${index + 1} is not a JSON object`;
      lines.push(parsed as Line);
    } catch {
      return `line ${index + 1} is not JSON`;
    }
  }
  return lines;
}

/** The records of the file, as its format holds them; a message when the file cannot be read as its format. */
function recordsOfFile(file: Buffer, format: ExportFormat): FileRecords | string | null {
  if (format === 'pdf') return null;
  const text = file.toString('utf8');
  if (format === 'csv') return recordsOfCsv(text);
  const lines = ndjsonLines(text);
  if (typeof lines === 'string') return lines;
  const seqs: number[] = [];
  const purged: FileRecords['purged'] = [];
  for (const [index, line] of lines.entries()) {
    if (format === 'ndjson-chains') {
      const document = line as { request_object?: { verifications?: unknown[] }; conflicts?: unknown[] };
      const views = [...(document.request_object?.verifications ?? []), ...CHAIN_SECTIONS.flatMap((section) => (line[section] as unknown[] | undefined) ?? []), ...(document.conflicts ?? [])];
      for (const view of views as { ledger?: { seq?: unknown }; data?: unknown; recorded_at?: unknown }[]) {
        const seq = view?.ledger?.seq;
        if (!Number.isSafeInteger(seq)) return `line ${index + 1} (chain ${String(line.digest)}) has a record without a ledger seq`;
        seqs.push(seq as number);
        if (view.data === null) purged.push({ seq: seq as number, recordedAt: String(view.recorded_at) });
      }
      continue;
    }
    const jartrail = format === 'ocsf' ? ((line.unmapped as { jartrail?: Line } | undefined)?.jartrail ?? {}) : line;
    const seq = format === 'ocsf' ? (line.metadata as { sequence?: unknown } | undefined)?.sequence : line.ledger_seq;
    if (!Number.isSafeInteger(seq)) return `line ${index + 1} has no ledger seq`;
    seqs.push(seq as number);
    if (jartrail.payload_purged === true) purged.push({ seq: seq as number, recordedAt: String(jartrail.recorded_at) });
  }
  return format === 'ndjson-chains' ? { seqs, purged, chains: lines.length } : { seqs, purged };
}

function recordsOfCsv(text: string): FileRecords | string {
  let rows: string[][];
  try {
    rows = parse(text, { record_delimiter: '\r\n' }) as string[][];
  } catch (error) {
    return `not RFC 4180 CSV: ${(error as Error).message}`;
  }
  if (rows[0]?.join(',') !== CSV_COLUMNS.join(',')) return 'the header row is not the documented one';
  const column = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
  const seqs: number[] = [];
  const purged: FileRecords['purged'] = [];
  for (const [index, row] of rows.slice(1).entries()) {
    const seq = Number(row[0]);
    if (!/^\d+$/.test(row[0] ?? '') || !Number.isSafeInteger(seq)) return `row ${index + 2} has no ledger_seq`;
    seqs.push(seq);
    if (row[column('payload_purged')] === 'true') purged.push({ seq, recordedAt: row[column('recorded_at')] ?? '' });
  }
  return { seqs, purged };
}

const describeRanges = (ranges: SeqRanges) => ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(', ') || 'none';

/** The file's records against the manifest's list: the same seqs, each once (a chain export may repeat one), all in the checkpoint. */
function checkRecords(claims: ManifestClaims, found: FileRecords, treeSize: number): Check {
  const listed = new SeqSet();
  for (const seq of found.seqs) listed.add(seq);
  const ranges = listed.ranges();
  const missing = firstMissing(claims.ledger_seqs, listed);
  const duplicated = claims.file_format !== 'ndjson-chains' && listed.size !== found.seqs.length;
  if (listed.size !== claims.records || duplicated || JSON.stringify(ranges) !== JSON.stringify(claims.ledger_seqs)) {
    return {
      subject: 'records',
      ok: false,
      detail: `the file holds ${found.seqs.length} records${duplicated ? ` (${found.seqs.length - listed.size} repeated)` : ''}; the manifest lists ${claims.records}${missing === undefined ? '' : `, and ledger seq ${missing} is not in the file`}`,
    };
  }
  if (found.chains !== undefined && claims.chains !== undefined && found.chains !== claims.chains) {
    return { subject: 'records', ok: false, detail: `the file holds ${found.chains} chain documents; the manifest says ${claims.chains}` };
  }
  const beyond = found.seqs.find((seq) => seq >= treeSize);
  if (beyond !== undefined) return { subject: 'records', ok: false, detail: `ledger seq ${beyond} is not in the checkpoint's tree of ${treeSize} records` };
  return { subject: 'records', ok: true, detail: `${listed.size} records${found.chains === undefined ? '' : ` in ${found.chains} chains`}, ledger seqs ${describeRanges(ranges)}, all in the checkpoint` };
}

/**
 * An unfiltered export's completeness: its manifest lists the whole range, gapless, and the range lies in the
 * checkpoint (that the file holds exactly the listed seqs is the `records` check).
 */
function checkCompleteness(claims: ManifestClaims, treeSize: number): Check {
  const completeness = claims.completeness!;
  const subject = 'completeness';
  const { from_seq: from, to_seq: to } = completeness;
  const expected: SeqRanges = to > from ? [[from, to - 1]] : [];
  if (to > treeSize) return { subject, ok: false, detail: `the range ends at ${to}, past the checkpoint's tree of ${treeSize} records` };
  if (JSON.stringify(claims.ledger_seqs) !== JSON.stringify(expected) || claims.records !== to - from || completeness.records !== to - from) {
    const gap = claims.ledger_seqs.length > 0 && claims.ledger_seqs[0]![0] === from ? claims.ledger_seqs[0]![1] + 1 : from;
    return { subject, ok: false, detail: `the range [${from}, ${to}) is said to be complete, but ledger seq ${gap} is not listed (the manifest lists ${describeRanges(claims.ledger_seqs)})` };
  }
  return { subject, ok: true, detail: `every ledger record of seqs [${from}, ${to}) is in the file (${to - from} records: ${completeness.kinds.join(', ')})` };
}

/** Each purged payload in the file is covered by a signed purge of the manifest that may blank it. */
async function checkFilePurges(claims: ManifestClaims, purged: FileRecords['purged'], jwks: PublicJwks): Promise<Check[]> {
  const { valid, checks } = await checkPurges(claims.purges ?? [], jwks);
  for (const record of purged) {
    const problem = blankedPayloadProblem(valid, record.seq, record.recordedAt);
    if (problem) return [...checks, { subject: 'purges', ok: false, detail: `ledger seq ${record.seq}: ${problem}` }];
  }
  return [...checks, { subject: 'purges', ok: true, detail: `${purged.length} purged payloads, each under a signed purge of the manifest` }];
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

  const treeSize = checkpointClaims?.tree_size ?? claims.checkpoint.tree_size;
  const found = recordsOfFile(file, claims.file_format);
  if (found === null) {
    checks.push({ subject: 'records', ok: true, detail: `a PDF report is checked by its hash: the ${claims.records} records it counts are the manifest's ledger seqs ${describeRanges(claims.ledger_seqs)}` });
  } else if (typeof found === 'string') {
    checks.push({ subject: 'records', ok: false, detail: found });
  } else {
    checks.push(checkRecords(claims, found, treeSize));
    if (found.purged.length > 0 || (claims.purges ?? []).length > 0) checks.push(...(await checkFilePurges(claims, found.purged, jwks)));
  }
  if (claims.completeness) checks.push(checkCompleteness(claims, treeSize));
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
function firstMissing(ranges: SeqRanges, present: SeqSet): number | undefined {
  for (const [from, to] of ranges) {
    for (let seq = from; seq <= to; seq++) if (!present.has(seq)) return seq;
  }
  return undefined;
}
