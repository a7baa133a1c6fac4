import { calculateJwkThumbprint, type JWK } from 'jose';
import { canonicalJson } from '../../common/canonical-json';
import type { EvidenceBundle, InclusionProofDocument, PublicJwks } from '../../ledger/verification/documents';
import { type Check, verifyEvidenceBundle, verifyInclusionDocument } from '../../ledger/verification/evidence-verifier';
import { api, ApiError, type Chain, type ChainRecord } from './api';

/**
 * Integrity in the browser: the chain's signed checkpoint and every record's inclusion proof are checked here, with
 * the ledger verifier the CLI uses (src/ledger/verification), against public keys the auditor pinned beforehand.
 * The server supplies the proofs but not the trust: a proof it altered, or a key it swapped, fails.
 */
const PINNED_ITEM = 'jartrail.console.pinned-jwks';

/** Members that only private or symmetric keys have: a pinned set must hold none of them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function parseJwks(text: string): PublicJwks {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('this is not JSON');
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'object' && key !== null && typeof (key as JWK).kty === 'string')) {
    throw new Error('a JWKS is an object with a non-empty "keys" array of JWKs');
  }
  for (const key of keys as Record<string, unknown>[]) {
    const secret = PRIVATE_MEMBERS.find((member) => member in key);
    if (secret) throw new Error(`key ${String(key.kid ?? '')} holds private material ("${secret}"): pin public keys only`);
  }
  return { keys: keys as Record<string, unknown>[] };
}

export function pinnedJwks(): PublicJwks | undefined {
  const stored = localStorage.getItem(PINNED_ITEM);
  if (!stored) return undefined;
  try {
    return parseJwks(stored);
  } catch {
    return undefined;
  }
}

/** Public keys only (parseJwks refuses any other): nothing secret is kept in localStorage. */
export function pinJwks(jwks: PublicJwks): void {
  localStorage.setItem(PINNED_ITEM, JSON.stringify(jwks));
}

export function forgetJwks(): void {
  localStorage.removeItem(PINNED_ITEM);
}

export interface PinnedKey {
  readonly kid: string;
  readonly alg: string;
  /** RFC 7638 SHA-256 thumbprint, to compare with one obtained out of band. */
  readonly thumbprint: string;
}

export async function describeKeys(jwks: PublicJwks): Promise<PinnedKey[]> {
  return Promise.all(
    jwks.keys.map(async (key) => ({
      kid: String(key.kid ?? '(no kid)'),
      alg: String(key.alg ?? key.crv ?? key.kty),
      thumbprint: await calculateJwkThumbprint(key as JWK, 'sha256').catch(() => '(not a usable public key)'),
    })),
  );
}

export type RecordIntegrity = { readonly status: 'verified' | 'failed' | 'unchecked'; readonly details: readonly string[] };

export interface IntegrityReport {
  readonly ok: boolean;
  /** bundle: records, payloads and proofs (audit:export); proofs: leaves and proofs one by one (audit:read). */
  readonly method: 'bundle' | 'proofs';
  readonly checkpoint: Check | undefined;
  readonly records: ReadonlyMap<string, RecordIntegrity>;
  readonly failures: readonly Check[];
  readonly verifiedCount: number;
  readonly notChecked: readonly string[];
}

interface Shown {
  readonly key: string;
  readonly kind: 'event' | 'conflict';
  readonly record: Pick<ChainRecord, 'event_id' | 'type' | 'data' | 'source'> & { readonly ledger?: ChainRecord['ledger'] };
}

/** Every record the chain page shows, keyed as the page keys its entries. */
function shownRecords(chain: Chain): Shown[] {
  const events = [...chain.request_object.verifications, ...chain.consents, ...chain.tokens, ...chain.revocations, ...chain.tool_calls];
  return [
    ...events.map((record) => ({ key: recordKey('event', record.event_id), kind: 'event' as const, record })),
    ...chain.conflicts.map((record) => ({ key: recordKey('conflict', record.event_id), kind: 'conflict' as const, record })),
  ];
}

export const recordKey = (kind: 'event' | 'conflict', eventId: string) => `${kind}:${eventId}`;

const checksOf = (checks: readonly Check[], kind: 'event' | 'conflict', seq: number) => {
  const prefix = `${kind === 'event' ? 'record' : 'conflict'} ledger_seq=${seq} `;
  return checks.filter((check) => check.subject.startsWith(prefix));
};

export async function verifyChain(chain: Chain, jwks: PublicJwks): Promise<IntegrityReport> {
  let bundle: EvidenceBundle | undefined;
  try {
    bundle = await api<EvidenceBundle>(`/v1/chains/${encodeURIComponent(chain.digest)}/evidence`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
  }
  return bundle ? fromBundle(chain, bundle, jwks) : fromInclusionProofs(chain, jwks);
}

function finish(method: IntegrityReport['method'], checkpoint: Check | undefined, records: Map<string, RecordIntegrity>, extraFailures: Check[], notChecked: string[]): IntegrityReport {
  const failures = [...(checkpoint && !checkpoint.ok ? [checkpoint] : []), ...extraFailures];
  const statuses = [...records.values()];
  return {
    ok: failures.length === 0 && statuses.every((record) => record.status !== 'failed') && checkpoint?.ok === true,
    method,
    checkpoint,
    records,
    failures,
    verifiedCount: statuses.filter((record) => record.status === 'verified').length,
    notChecked,
  };
}

async function fromBundle(chain: Chain, bundle: EvidenceBundle, jwks: PublicJwks): Promise<IntegrityReport> {
  // The pinned keys, never the bundle's own: keys the server chose would prove nothing against the server.
  const report = await verifyEvidenceBundle(bundle, jwks);
  const checkpoint = report.checks[0];
  const failures = report.checks.filter((check) => !check.ok && check !== checkpoint);
  if (bundle.chain !== chain.digest) failures.push({ subject: 'evidence', ok: false, detail: `the evidence is of chain ${bundle.chain}, not of this one` });
  const inBundle = new Map<string, EvidenceBundle['records'][number]>();
  for (const record of bundle.records) inBundle.set(`event:${record.ledger_seq}`, record);
  for (const record of bundle.conflicts) inBundle.set(`conflict:${record.ledger_seq}`, record);
  const pending = new Set(bundle.pending);
  const records = new Map<string, RecordIntegrity>();
  for (const { key, kind, record } of shownRecords(chain)) {
    const seq = record.ledger?.seq;
    if (seq === null || seq === undefined) {
      records.set(key, { status: 'unchecked', details: ['waits for the ledger sequencer: no proof yet'] });
      continue;
    }
    const proven = inBundle.get(`${kind}:${seq}`);
    if (!proven) {
      const why = pending.has(record.event_id) || seq >= bundle.checkpoint.tree_size ? `not yet covered by a signed checkpoint (tree size ${bundle.checkpoint.tree_size})` : undefined;
      records.set(key, why ? { status: 'unchecked', details: [why] } : { status: 'failed', details: [`the evidence has no record at ledger seq ${seq}`] });
      if (!why) failures.push({ subject: `${kind} ${record.event_id}`, ok: false, detail: `the evidence has no record at ledger seq ${seq}` });
      continue;
    }
    const own = checksOf(report.checks, kind, seq);
    // What the page shows must be what the ledger committed, not only what the bundle says.
    const shownDiffers: string[] = [];
    if (proven.leaf && (proven.leaf.event_id !== record.event_id || proven.leaf.type !== record.type || proven.leaf.source_id !== record.source.id)) {
      shownDiffers.push('the ledger leaf names another event, type or source than the page shows');
    }
    if (canonicalJson(proven.payload) !== canonicalJson(record.data)) shownDiffers.push('the page shows other data than the payload the ledger committed');
    failures.push(...shownDiffers.map((detail) => ({ subject: `${kind} ${record.event_id} (ledger seq ${seq})`, ok: false, detail })));
    const details = [...own.filter((check) => !check.ok).map((check) => check.detail), ...shownDiffers];
    records.set(
      key,
      details.length > 0 || own.length === 0
        ? { status: 'failed', details: details.length > 0 ? details : ['no check covered this record'] }
        : { status: 'verified', details: own.map((check) => check.detail) },
    );
  }
  const notChecked = [
    'The findings, the timeline summaries and the linking are derived by the service from the records: they are not signed (the records they cite are).',
    'Source names and the times the service committed records are its own metadata; the ledger commits the source id and the event times.',
  ];
  if (chain.unlinked_records.length > 0) notChecked.unshift(`${chain.unlinked_records.length} record(s) committed but not yet linked to this chain.`);
  return finish('bundle', checkpoint, records, failures, notChecked);
}

/** Without audit:export there is no bundle: each record's leaf and proof, fetched one by one, without payloads. */
async function fromInclusionProofs(chain: Chain, jwks: PublicJwks): Promise<IntegrityReport> {
  const shown = shownRecords(chain);
  const sizes = shown.map(({ record }) => record.ledger?.checkpoint?.tree_size).filter((size): size is number => typeof size === 'number');
  const treeSize = sizes.length > 0 ? Math.max(...sizes) : undefined;
  const records = new Map<string, RecordIntegrity>();
  const failures: Check[] = [];
  let checkpoint: Check | undefined;
  for (const { key, kind, record } of shown) {
    const seq = record.ledger?.seq;
    if (seq === null || seq === undefined || treeSize === undefined || seq >= treeSize) {
      records.set(key, { status: 'unchecked', details: ['not yet covered by a signed checkpoint'] });
      continue;
    }
    const proof = await api<InclusionProofDocument>('/v1/ledger/proofs/inclusion', { query: { seq: String(seq), tree_size: String(treeSize) } });
    const report = await verifyInclusionDocument(proof, jwks);
    checkpoint ??= report.checks[0];
    const details = report.checks.filter((check) => !check.ok).map((check) => check.detail);
    if (proof.leaf.event_id !== record.event_id || proof.leaf.type !== record.type || proof.leaf.source_id !== record.source.id || proof.leaf.kind !== kind) {
      details.push('the ledger leaf names another event, type or source than the page shows');
    }
    failures.push(...details.map((detail) => ({ subject: `${kind} ${record.event_id} (ledger seq ${seq})`, ok: false, detail })));
    records.set(key, details.length > 0 ? { status: 'failed', details } : { status: 'verified', details: ['leaf and inclusion proof verified; payload not checked'] });
  }
  return finish('proofs', checkpoint, records, failures, [
    'Payloads: without the audit:export scope the service gives no salts, so the data shown is not compared with what the ledger committed (the leaves, event ids, types and sources are).',
    'The findings, the timeline summaries and the linking are derived by the service from the records: they are not signed.',
  ]);
}
