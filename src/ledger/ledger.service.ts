import { Injectable } from '@nestjs/common';
import { fieldError, ProblemException } from '../common/problem/problem';
import { toCheckpointDocument } from './checkpoint-signer';
import { type LeafInput, leafHashOf, leafInputOf, payloadHashOf, type RecordKind } from './ledger-leaf';
import { LedgerRepository, type StoredCheckpoint, type StoredEntry, type StoredPurge } from './ledger.repository';
import { LedgerSequencerService } from './ledger-sequencer.service';
import {
  CompactRange,
  consistencyProofRanges,
  EMPTY_ROOT,
  type Hash,
  inclusionProofRanges,
  type LeafRange,
  nodesFor,
  rangeHash,
} from './merkle/merkle-tree';
import { SigningKeysService } from './signing-keys.service';
import type {
  CheckpointDocument,
  ConsistencyProofDocument,
  EvidenceBundle,
  InclusionProofDocument,
  PublicJwks,
  PurgeClaims,
  PurgeDocument,
} from './verification/documents';
import { blankedPayloadProblem, checkPurges, verifyCheckpoint } from './verification/evidence-verifier';
import type { CheckpointListQuery, ConsistencyQuery, InclusionQuery } from './dto/ledger.dto';

/** What the chain document says about one record's place in the ledger. */
export interface RecordLedgerView {
  /** The ledger sequence number; null while the record waits for the sequencer. */
  readonly seq: number | null;
  /** The latest checkpoint, when it covers the record. */
  readonly checkpoint: { readonly tree_size: number; readonly root_hash: string; readonly issued_at: string } | null;
  /** Set when retention blanked the payload. */
  readonly payload_purged: { readonly policy: string; readonly purged_at: string; readonly note: string } | null;
}

export interface VerifyFailure {
  readonly what: 'record' | 'checkpoint' | 'purge';
  readonly purge_id?: string;
  readonly ledger_seq?: number;
  readonly event_id?: string;
  readonly record_kind?: RecordKind;
  readonly record_seq?: string;
  readonly tree_size?: number;
  readonly reason: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly tree_size: number;
  readonly checkpoints_checked: number;
  readonly pending: number;
  readonly unledgered: number;
  readonly first_failure: VerifyFailure | null;
  readonly failures: readonly VerifyFailure[];
}

const VERIFY_PAGE = 2000;
const MAX_FAILURES = 100;

function encodeCursor(treeSize: number): string {
  return Buffer.from(String(treeSize), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (/^\d{1,15}$/.test(text)) return Number(text);
  throw new ProblemException('invalid-request', {
    detail: 'the cursor is not one this API returned',
    errors: [fieldError(['cursor'], 'invalid_cursor', 'pass next_cursor of the previous page unchanged')],
  });
}

function toPurgeDocument(purge: StoredPurge): PurgeDocument {
  return {
    kind: 'purge',
    policy: purge.policy,
    from_ledger_seq: purge.fromLedgerSeq,
    to_ledger_seq: purge.toLedgerSeq,
    recorded_before: purge.recordedBefore,
    purged_at: purge.purgedAt,
    kid: purge.kid,
    jws: purge.jws,
  };
}

function noCheckpoint(field: string, detail: string): ProblemException {
  return notInLedger(field, 'no_checkpoint', detail);
}

function notInLedger(field: string, code: string, detail: string): ProblemException {
  return new ProblemException('not-in-ledger', { detail, errors: [fieldError([field], code, detail)] });
}

/** Checkpoints, proofs, the full verification and the ledger side of the chain document. */
@Injectable()
export class LedgerService {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly sequencer: LedgerSequencerService,
    private readonly keys: SigningKeysService,
  ) {}

  jwks(): Promise<PublicJwks> {
    return this.keys.jwks();
  }

  rotateKey() {
    return this.keys.rotate();
  }

  async latestCheckpoint(): Promise<CheckpointDocument> {
    return toCheckpointDocument(await this.requireLatest());
  }

  async listCheckpoints(query: CheckpointListQuery) {
    const rows = await this.ledger.checkpointsBefore(query.cursor === undefined ? undefined : decodeCursor(query.cursor), query.limit + 1);
    const page = rows.slice(0, query.limit);
    return { items: page.map(toCheckpointDocument), next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.treeSize) : null };
  }

  /**
   * Sequences every record committed before this request and signs a checkpoint of the tree (or returns the latest,
   * if nothing is new). Bounded under sustained ingest: it stops at the queue position it found on arrival, so
   * records committed meanwhile wait for the next checkpoint instead of keeping the request open.
   */
  async checkpointNow(): Promise<CheckpointDocument> {
    // Queue rows of transactions still open at this point may carry smaller ids and commit later: those are
    // "not committed before the request", and the periodic sequencer takes them.
    const upToPendingId = (await this.ledger.lastPendingId()) ?? '0';
    for (;;) {
      const run = await this.sequencer.run({ wait: true, checkpoint: 'when_due', upToPendingId });
      if (run.sequenced === 0) break;
    }
    await this.sequencer.run({ wait: true, checkpoint: 'now', upToPendingId });
    return toCheckpointDocument(await this.requireLatest());
  }

  /**
   * An inclusion proof against a signed checkpoint: the latest by default, else the one signed at exactly
   * `tree_size`. A tree no checkpoint was signed for gets a 422 (`no_checkpoint`), never an unsigned root: an
   * unsigned root proves nothing, since any leaf has a path to a root made up for it.
   */
  async inclusionProof(query: InclusionQuery): Promise<InclusionProofDocument> {
    // The common case (the latest checkpoint's tree, a record in it) costs three reads: the checkpoint, the entry
    // with its record, and the O(log n) nodes of the path.
    const checkpoint = query.tree_size === undefined ? await this.requireLatest() : await this.ledger.checkpointAt(query.tree_size);
    if (!checkpoint || query.seq >= checkpoint.treeSize) {
      const current = await this.ledger.treeSize();
      const treeSize = query.tree_size ?? checkpoint!.treeSize;
      if (treeSize > current) throw notInLedger('tree_size', 'beyond_tree', `tree_size ${treeSize} is beyond the ledger, which holds ${current} records`);
      if (query.seq >= current) throw notInLedger('seq', 'not_sequenced', `seq ${query.seq} is not sequenced yet: the ledger holds ${current} records`);
      if (!checkpoint) throw noCheckpoint('tree_size', `no checkpoint was signed at tree size ${treeSize}: ask for a signed one (GET /v1/ledger/checkpoints), or leave tree_size out for the latest`);
      if (query.tree_size !== undefined) throw notInLedger('seq', 'not_in_tree', `seq ${query.seq} is not in the tree of ${treeSize} records`);
      throw noCheckpoint('seq', `seq ${query.seq} is sequenced, but the latest signed checkpoint covers ${treeSize} records: the next checkpoint will cover it (POST /v1/ledger/checkpoints signs one now)`);
    }
    const ranges = inclusionProofRanges(query.seq, checkpoint.treeSize);
    const [entry, hashes] = await Promise.all([this.ledger.entry(query.seq), this.hashesOf(ranges)]);
    if (!entry?.fields) {
      throw new ProblemException('not-found', { detail: `the record of ledger seq ${query.seq} is missing from the database: run GET /v1/ledger/verify` });
    }
    return {
      kind: 'inclusion_proof',
      ledger_seq: query.seq,
      tree_size: checkpoint.treeSize,
      leaf: leafInputOf(entry.seq, entry.fields, entry.payloadHash),
      leaf_hash: entry.leafHash.toString('base64url'),
      root_hash: checkpoint.rootHash.toString('base64url'),
      proof: hashes.map((hash) => hash.toString('base64url')),
      checkpoint: toCheckpointDocument(checkpoint),
    };
  }

  /** A consistency proof between two signed checkpoints (`from` may be 0, the empty tree, whose root is known). */
  async consistencyProof(query: ConsistencyQuery): Promise<ConsistencyProofDocument> {
    const current = await this.ledger.treeSize();
    const to = query.to ?? (await this.requireLatest()).treeSize;
    if (to > current) throw notInLedger(query.to === undefined ? 'from' : 'to', 'beyond_tree', `tree size ${to} is beyond the ledger, which holds ${current} records`);
    if (query.from > to) throw notInLedger('from', 'from_after_to', `from ${query.from} is larger than the tree of ${to} records`);
    const [proof, fromCheckpoint, toCheckpoint] = await Promise.all([
      this.hashesOf(consistencyProofRanges(query.from, to)),
      query.from === 0 ? undefined : this.ledger.checkpointAt(query.from),
      this.ledger.checkpointAt(to),
    ]);
    if (query.from > 0 && !fromCheckpoint) throw noCheckpoint('from', `no checkpoint was signed at tree size ${query.from}: GET /v1/ledger/checkpoints lists the signed sizes`);
    if (!toCheckpoint) throw noCheckpoint('to', `no checkpoint was signed at tree size ${to}: GET /v1/ledger/checkpoints lists the signed sizes`);
    const head = (checkpoint: StoredCheckpoint) => ({ tree_size: checkpoint.treeSize, root_hash: checkpoint.rootHash.toString('base64url'), checkpoint: toCheckpointDocument(checkpoint) });
    return {
      kind: 'consistency_proof',
      from: fromCheckpoint ? head(fromCheckpoint) : { tree_size: 0, root_hash: EMPTY_ROOT.toString('base64url'), checkpoint: null },
      to: head(toCheckpoint),
      proof: proof.map((hash) => hash.toString('base64url')),
    };
  }

  /**
   * Recomputes every leaf from the records as stored now, and the tree from the leaves, and compares them with the
   * node store and with every signed checkpoint, and a blanked payload with the signed purges. Walks the ledger in
   * keyset pages; only the purges (one row per retention batch) are held in memory.
   */
  async verify(): Promise<VerifyReport> {
    const jwks = await this.keys.jwks();
    const failures: VerifyFailure[] = [];
    const fail = (failure: VerifyFailure) => failures.length < MAX_FAILURES && failures.push(failure);
    const storedPurges = await this.ledger.purges();
    const purges = await checkPurges(storedPurges.map(toPurgeDocument), jwks);
    purges.checks.forEach((check, index) => {
      const purge = storedPurges[index]!;
      if (!check.ok) fail({ what: 'purge', purge_id: purge.id, ledger_seq: purge.fromLedgerSeq, reason: `purge of ledger seqs ${purge.fromLedgerSeq} to ${purge.toLedgerSeq}: ${check.detail}` });
    });
    const range = CompactRange.empty();
    let checkpointsChecked = 0;
    let checkpoints: StoredCheckpoint[] = await this.ledger.checkpointsAfter(-1, 1000);

    const checkCheckpoints = async () => {
      while (checkpoints.length > 0 && checkpoints[0]!.treeSize <= range.size) {
        const checkpoint = checkpoints.shift()!;
        checkpointsChecked += 1;
        if (checkpoint.treeSize < range.size) {
          fail({ what: 'checkpoint', tree_size: checkpoint.treeSize, reason: 'the checkpoint was not met on the way (a gap in the ledger)' });
        } else {
          const signature = await verifyCheckpoint(toCheckpointDocument(checkpoint), jwks);
          if (!signature.ok) fail({ what: 'checkpoint', tree_size: checkpoint.treeSize, reason: signature.detail });
          else if (!checkpoint.rootHash.equals(range.size === 0 ? EMPTY_ROOT : range.root())) {
            fail({ what: 'checkpoint', tree_size: checkpoint.treeSize, reason: 'the signed root differs from the root recomputed from the records' });
          }
        }
        if (checkpoints.length === 0) checkpoints = await this.ledger.checkpointsAfter(checkpoint.treeSize, 1000);
      }
    };

    await checkCheckpoints();
    for (let after = -1; ; ) {
      const page = await this.ledger.entriesAfter(after, VERIFY_PAGE);
      for (const entry of page) {
        if (entry.seq !== range.size) {
          fail({ what: 'record', ledger_seq: range.size, reason: `ledger seq ${range.size} is missing (the next is ${entry.seq})` });
          return this.report(range.size, checkpointsChecked, failures);
        }
        const problem = this.recheck(entry, purges.valid);
        if (problem) fail({ what: 'record', ledger_seq: entry.seq, event_id: entry.fields?.eventId, record_kind: entry.kind, record_seq: entry.recordSeq, reason: problem });
        range.append(entry.fields ? leafHashOf(leafInputOf(entry.seq, entry.fields, entry.payloadHash)) : entry.leafHash);
        await checkCheckpoints();
      }
      if (page.length < VERIFY_PAGE) break;
      after = page.at(-1)!.seq;
    }
    for (const checkpoint of checkpoints) fail({ what: 'checkpoint', tree_size: checkpoint.treeSize, reason: `signed for ${checkpoint.treeSize} records, but the ledger holds ${range.size}` });
    return this.report(range.size, checkpointsChecked, failures);
  }

  /** The ledger side of each of these records (events, or kept conflicts), by their seq, for the chain document. */
  async recordViews(records: readonly { seq: string; purged: boolean }[], kind: RecordKind = 'event'): Promise<Map<string, RecordLedgerView>> {
    const [entries, latest] = await Promise.all([this.ledger.ledgerSeqsOfRecords(kind, records.map((record) => record.seq)), this.ledger.latestCheckpoint()]);
    const bySeq = new Map(entries.map((entry) => [entry.recordSeq, entry.seq]));
    return this.recordViewsAt(
      records.map((record) => ({ ...record, ledgerSeq: bySeq.get(record.seq) ?? null })),
      latest,
    );
  }

  /**
   * The same, for records whose ledger seqs were read with them (the chain document reads them in its one
   * statement), against the latest checkpoint read in that statement too. Only purged records cost a further read.
   */
  async recordViewsAt(
    records: readonly { seq: string; purged: boolean; ledgerSeq: number | null }[],
    latest: Pick<StoredCheckpoint, 'treeSize' | 'rootHash' | 'issuedAt'> | undefined,
  ): Promise<Map<string, RecordLedgerView>> {
    const byLedgerSeq = await this.ledger.purgesOf(records.filter((record) => record.purged && record.ledgerSeq !== null).map((record) => record.ledgerSeq!));
    return new Map(
      records.map(({ seq, ledgerSeq }) => {
        const purge = ledgerSeq === null ? undefined : byLedgerSeq.get(ledgerSeq);
        return [
          seq,
          {
            seq: ledgerSeq,
            checkpoint:
              ledgerSeq !== null && latest && latest.treeSize > ledgerSeq
                ? { tree_size: latest.treeSize, root_hash: latest.rootHash.toString('base64url'), issued_at: latest.issuedAt }
                : null,
            payload_purged: purge ? { policy: purge.policy, purged_at: purge.purgedAt.toISOString(), note: `payload purged under policy ${purge.policy}` } : null,
          },
        ];
      }),
    );
  }

  /**
   * A chain's records, and the conflicting bodies kept against them, with their inclusion proofs in the latest
   * signed tree: what `jartrail verify` checks offline. `members` are the chain's event seqs as its membership rows
   * name them, so a record deleted around the service still shows, as missing.
   */
  async evidenceBundle(
    chain: string,
    members: readonly { seq: string; eventId: string | null }[],
    conflicts: readonly { seq: string; eventId: string }[] = [],
  ): Promise<EvidenceBundle> {
    const checkpoint = await this.requireLatest();
    const inTree = (entries: StoredEntry[]) => entries.filter((entry) => entry.seq < checkpoint.treeSize);
    const [events, kept] = await Promise.all([
      this.ledger.entriesOfRecords('event', members.map((member) => member.seq)).then(inTree),
      this.ledger.entriesOfRecords('conflict', conflicts.map((conflict) => conflict.seq)).then(inTree),
    ]);
    const proofRanges = new Map([...events, ...kept].map((entry) => [entry.seq, inclusionProofRanges(entry.seq, checkpoint.treeSize)]));
    const nodes = await this.ledger.nodes(nodesFor([...proofRanges.values()].flat()));
    const lookup = (node: { level: number; index: number }) => nodes.get(`${node.level}/${node.index}`);
    const bundleRecord = (entry: StoredEntry) => ({
      ledger_seq: entry.seq,
      leaf: entry.fields ? (leafInputOf(entry.seq, entry.fields, entry.payloadHash) as LeafInput) : null,
      payload: entry.payload,
      salt: entry.salt.toString('base64url'),
      inclusion_proof: proofRanges.get(entry.seq)!.map((range) => rangeHash(range, lookup).toString('base64url')),
    });
    const coveredEvents = new Set(events.map((entry) => entry.recordSeq));
    const coveredConflicts = new Set(kept.map((entry) => entry.recordSeq));
    const purges = await this.ledger.purgesCovering([...events, ...kept].filter((entry) => entry.payload === null).map((entry) => entry.seq));
    return {
      kind: 'evidence_bundle',
      format: 'jartrail-evidence-bundle/v2',
      chain,
      exported_at: new Date().toISOString(),
      checkpoint: toCheckpointDocument(checkpoint),
      records: events.map(bundleRecord),
      conflicts: kept.map(bundleRecord),
      purges: purges.map(toPurgeDocument),
      pending: [
        ...members.filter((member) => !coveredEvents.has(member.seq)).map((member) => member.eventId ?? `events.seq ${member.seq}`),
        ...conflicts.filter((conflict) => !coveredConflicts.has(conflict.seq)).map((conflict) => `${conflict.eventId} (conflict, event_conflicts.seq ${conflict.seq})`),
      ],
      jwks: await this.keys.jwks(),
    };
  }

  /**
   * Each of these events' leaf input, salt and inclusion proof in the tree of `treeSize` records (a signed
   * checkpoint's), keyed by ledger seq: what an export with proofs carries per record. Events not in that tree are
   * absent. Two reads whatever the number: the entries, and the nodes of every path.
   */
  async eventProofsAt(recordSeqs: readonly string[], treeSize: number): Promise<Map<number, { leaf: LeafInput | null; salt: string; inclusion_proof: string[] }>> {
    return this.proofsAt('event', recordSeqs, treeSize);
  }

  /** The same for records of any kind (an unfiltered export also holds kept conflicts and triage). */
  async proofsAt(kind: RecordKind, recordSeqs: readonly string[], treeSize: number): Promise<Map<number, { leaf: LeafInput | null; salt: string; inclusion_proof: string[] }>> {
    const entries = (await this.ledger.entriesOfRecords(kind, recordSeqs)).filter((entry) => entry.seq < treeSize);
    const proofRanges = new Map(entries.map((entry) => [entry.seq, inclusionProofRanges(entry.seq, treeSize)]));
    const nodes = await this.ledger.nodes(nodesFor([...proofRanges.values()].flat()));
    const lookup = (node: { level: number; index: number }) => nodes.get(`${node.level}/${node.index}`);
    return new Map(
      entries.map((entry) => [
        entry.seq,
        {
          leaf: entry.fields ? leafInputOf(entry.seq, entry.fields, entry.payloadHash) : null,
          salt: entry.salt.toString('base64url'),
          inclusion_proof: proofRanges.get(entry.seq)!.map((range) => rangeHash(range, lookup).toString('base64url')),
        },
      ]),
    );
  }

  /** Every recorded purge, as the verifiers read them (an export's manifest carries those covering its purged records). */
  async purgeDocuments(): Promise<(PurgeDocument & { readonly purge_id: string })[]> {
    return (await this.ledger.purges()).map((purge) => ({ purge_id: purge.id, ...toPurgeDocument(purge) }));
  }

  /** Why a stored record no longer matches its ledger entry, or undefined when it does. */
  private recheck(entry: StoredEntry, purges: readonly PurgeClaims[]): string | undefined {
    if (!entry.fields) return `the ${entry.kind} record ${entry.recordSeq} is missing (deleted)`;
    if (entry.payload === null) {
      const problem = blankedPayloadProblem(purges, entry.seq, entry.fields.recordedAt);
      if (problem) return problem;
    } else if (!payloadHashOf(entry.salt, entry.payload).equals(entry.payloadHash)) return 'the payload differs from the one committed';
    const leafHash = leafHashOf(leafInputOf(entry.seq, entry.fields, entry.payloadHash));
    if (!leafHash.equals(entry.leafHash)) return 'the record fields differ from the ones committed';
    return undefined;
  }

  private async report(treeSize: number, checkpointsChecked: number, failures: VerifyFailure[]): Promise<VerifyReport> {
    const [pending, unledgered] = await Promise.all([this.ledger.pendingCount(), this.ledger.unledgeredCount()]);
    return {
      ok: failures.length === 0 && unledgered === 0,
      tree_size: treeSize,
      checkpoints_checked: checkpointsChecked,
      pending,
      unledgered,
      first_failure: failures[0] ?? null,
      failures,
    };
  }

  private async requireLatest(): Promise<StoredCheckpoint> {
    const latest = await this.ledger.latestCheckpoint();
    if (!latest) throw new ProblemException('no-checkpoint', { detail: 'no checkpoint has been signed yet: POST /v1/ledger/checkpoints makes one' });
    return latest;
  }

  private async hashesOf(ranges: readonly LeafRange[]): Promise<Hash[]> {
    const nodes = await this.ledger.nodes(nodesFor(ranges));
    return ranges.map((range) => rangeHash(range, (node) => nodes.get(`${node.level}/${node.index}`)));
  }
}
