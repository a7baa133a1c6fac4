import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Keyring } from '../common/crypto/keyring';
import { isDigest } from '../common/crypto/digest';
import { fieldError, ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { FindingView } from '../findings/dto/finding.dto';
import { FindingsService } from '../findings/findings.service';
import type { Severity } from '../findings/rule';
import { LedgerService } from '../ledger/ledger.service';
import type { EvidenceBundle } from '../ledger/verification/documents';
import { tokenKeysOf } from '../evidence/record-links';
import type { ChainSection } from '../evidence/event-type-definition';
import { EVENT_TYPES } from '../evidence/event-types';
import { toChainDocument, toRecordView, type ChainDocument, type RecordView } from './chain-document';
import type { FacetName } from './chain-facet.entity';
import { ChainsRepository, type LookupKey } from './chains.repository';
import type { LookupQuery, SearchQuery, SearchResponse } from './dto/chain.dto';
import { type LinkingView, ReadYourWrites } from './read-your-writes';

/** The chain document as the API answers it: with how far linking had got, and what of the chain still waits for it. */
export type LinkedChainDocument = ChainDocument & {
  readonly linking: LinkingView & { readonly chain_complete: boolean };
  readonly unlinked_records: readonly RecordView[];
  readonly findings: readonly FindingView[];
  readonly findings_evaluation: { readonly up_to_date: boolean };
};

/** The chain document as an export holds it (ChainsService.exportDocument). */
export type ExportedChainDocument = ChainDocument & { readonly findings: readonly FindingView[] };

/**
 * The cursor's time as the repository writes it, to the microsecond in UTC: a real calendar date (no February 30),
 * from year 1 (PostgreSQL has no year 0).
 */
const EXACT_UTC = z.iso.datetime({ precision: 6 }).refine((time) => !time.startsWith('0000-'));

/** Cursors are opaque to clients: the position after which the next page starts. */
export function encodeCursor(createdAtExact: string, digest: string): string {
  return Buffer.from(JSON.stringify([createdAtExact, digest]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; digest: string } {
  try {
    const [createdAt, digest] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && EXACT_UTC.safeParse(createdAt).success && typeof digest === 'string' && isDigest(digest)) {
      return { createdAt, digest };
    }
  } catch {
    // Falls through to the problem below: whatever was sent, it is not one of our cursors.
  }
  throw new ProblemException('invalid-request', {
    detail: 'the cursor is not one this API returned',
    errors: [fieldError(['cursor'], 'invalid_cursor', 'pass next_cursor of the previous page unchanged')],
  });
}

/** A chain's record counts by type, summed by the chain section each type is shown in. */
function recordCountsBySection(countsByType: Readonly<Record<string, number>>): Record<ChainSection, number> {
  const counts: Record<ChainSection, number> = { verifications: 0, consents: 0, tokens: 0, revocations: 0, tool_calls: 0 };
  for (const [type, count] of Object.entries(countsByType)) {
    const section = EVENT_TYPES.get(type)?.chainSection;
    if (section) counts[section] += count;
  }
  return counts;
}

@Injectable()
export class ChainsService {
  constructor(
    private readonly chains: ChainsRepository,
    private readonly keyring: Keyring,
    private readonly ledger: LedgerService,
    private readonly readYourWrites: ReadYourWrites,
    private readonly findings: FindingsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The watermark and the waiting records are read before the chain: a record linked in between shows in both
   * (and is dropped from the waiting list), never in neither.
   */
  async getChain(digest: string, minPosition?: string): Promise<LinkedChainDocument> {
    const { somethingWaits, ...linking } = await this.readYourWrites.settle(minPosition);
    // Only when something waits is the queue worth reading for one chain.
    const waiting = somethingWaits ? await this.chains.unlinkedRecords(digest) : [];
    const read = await this.chains.loadChainDocument(digest);
    if (!read.chain) throw notOneChain(digest, read.targets, linking, waiting.length);
    const { chain } = read;
    const [ledger, conflictLedger, findings] = await Promise.all([
      this.ledger.recordViewsAt(chain.records.map((record) => ({ seq: record.seq, purged: record.data === null, ledgerSeq: read.ledgerSeqs?.get(record.seq) ?? null })), read.latestCheckpoint),
      this.ledger.recordViewsAt(
        chain.conflicts.map((conflict) => ({ seq: conflict.seq, purged: conflict.data === null, ledgerSeq: read.conflictLedgerSeqs?.get(conflict.seq) ?? null })),
        read.latestCheckpoint,
      ),
      this.findings.views(read.findings ?? []),
    ]);
    const linked = new Set(chain.records.map((record) => record.seq));
    const unlinked = waiting.filter((record) => !linked.has(record.seq));
    return {
      ...toChainDocument(chain, ledger, conflictLedger),
      linking: { ...linking, chain_complete: unlinked.length === 0 },
      unlinked_records: unlinked.map((record) => toRecordView(record)),
      findings,
      // Findings follow linking: records still waiting for the linker are in neither the chain nor its findings.
      findings_evaluation: { up_to_date: read.findingsDue !== true && unlinked.length === 0 },
    };
  }

  /**
   * A chain document for an export cut at a signed checkpoint: the document GET /v1/chains/{digest} answers, built by
   * the same code, holding only the records (and kept conflicts) of ledger seqs below the checkpoint's tree size, with
   * their ledger views against that checkpoint, and the chain's findings as they stand. Without `linking`: an export
   * is read after the cut, so a record waiting for the linker then is not in it. undefined when no chain has the digest.
   */
  async exportDocument(digest: string, checkpoint: { readonly treeSize: number; readonly rootHash: Buffer; readonly issuedAt: string }): Promise<ExportedChainDocument | undefined> {
    const read = await this.chains.loadChainDocument(digest);
    if (!read.chain || read.targets.length !== 1 || read.targets[0] !== digest) return undefined;
    const inCut = (ledgerSeq: number | null | undefined): ledgerSeq is number => ledgerSeq !== null && ledgerSeq !== undefined && ledgerSeq < checkpoint.treeSize;
    const records = read.chain.records.filter((record) => inCut(read.ledgerSeqs?.get(record.seq)));
    const conflicts = read.chain.conflicts.filter((conflict) => inCut(read.conflictLedgerSeqs?.get(conflict.seq)));
    const [ledger, conflictLedger, findings] = await Promise.all([
      this.ledger.recordViewsAt(records.map((record) => ({ seq: record.seq, purged: record.data === null, ledgerSeq: read.ledgerSeqs!.get(record.seq)! })), checkpoint),
      this.ledger.recordViewsAt(conflicts.map((conflict) => ({ seq: conflict.seq, purged: conflict.data === null, ledgerSeq: read.conflictLedgerSeqs!.get(conflict.seq)! })), checkpoint),
      this.findings.views(read.findings ?? []),
    ]);
    return { ...toChainDocument({ ...read.chain, records, conflicts }, ledger, conflictLedger), findings };
  }

  /** The chain's records with their inclusion proofs in the latest signed tree, for `jartrail verify`. */
  async getEvidence(digest: string): Promise<EvidenceBundle> {
    const { chain, targets } = await this.chains.loadChainDocument(digest);
    if (!chain) throw notOneChain(digest, targets);
    return this.ledger.evidenceBundle(chain.digest, await this.chains.memberSeqs(chain.digest), chain.conflicts);
  }

  async lookup(query: LookupQuery) {
    const { somethingWaits: _, ...linking } = await this.readYourWrites.settle(query.min_position);
    const hits = await this.chains.lookup(lookupKeyOf(query));
    if (hits.length === 0) throw new ProblemException('not-found', { detail: 'no record matches', extensions: { linking } });
    return { records: hits.map(({ record, chains, linked }) => ({ ...toRecordView(record), chains, linked })), linking };
  }

  async search(query: SearchQuery): Promise<SearchResponse> {
    const { somethingWaits: _, ...linking } = await this.readYourWrites.settle(query.min_position);
    const facets: { name: FacetName; value: string }[] = [];
    if (query.client_id !== undefined) facets.push({ name: 'client_id', value: query.client_id });
    if (query.issuer !== undefined) facets.push({ name: 'issuer', value: query.issuer });
    if (query.subject !== undefined) facets.push({ name: 'subject', value: this.storedSubject(query.subject) });
    if (query.tool !== undefined) facets.push({ name: 'tool', value: query.tool });
    // A final verdict is a facet, written with the verdict; pending is the absence of one, read from the queue.
    if (query.independent_verdict !== undefined && query.independent_verdict !== 'pending') facets.push({ name: 'independent_verdict', value: query.independent_verdict });
    if (query.verdict_mismatch === 'true') facets.push({ name: 'verdict_mismatch', value: 'true' });
    // One row more than asked tells whether another page exists.
    const rows = await this.chains.search({
      facets,
      pendingVerification: query.independent_verdict === 'pending',
      finding: query.finding === undefined && query.severity === undefined ? undefined : { rule: query.finding, severity: query.severity },
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => ({
        digest: row.digest,
        first_recorded_at: new Date(row.createdAtExact).toISOString(),
        client_ids: row.facets.client_id ?? [],
        issuers: row.facets.issuer ?? [],
        subjects: row.facets.subject ?? [],
        tools: row.facets.tool ?? [],
        open_findings: row.openFindings as Partial<Record<Severity, number>>,
        records: recordCountsBySection(row.counts),
      })),
      next_cursor: rows.length > query.limit && last ? encodeCursor(last.createdAtExact, last.digest) : null,
      linking,
    };
  }

  private storedSubject(subject: string): string {
    return this.config.privacy.pseudonymizeSubjects ? this.keyring.pseudonymOf(subject) : subject;
  }
}

/** Why a digest gives no chain document: no chain has it (yet), or it is the inner digest of several. */
function notOneChain(digest: string, targets: readonly string[], linking?: LinkingView, waiting = 0): ProblemException {
  if (targets.length > 1) {
    // One inner JWS encrypted into several JWEs: each JWE is its own chain; the auditor chooses.
    return new ProblemException('ambiguous-digest', { detail: `${digest} is the inner digest of ${targets.length} chains`, extensions: { chains: targets } });
  }
  if (waiting > 0) {
    return new ProblemException('not-found', {
      detail: `no chain has digest ${digest} yet: ${waiting} committed record(s) naming it wait for the linker; ask again with min_position (the position the ingest answer gave, or latest)`,
      extensions: { linking, unlinked_records: waiting },
    });
  }
  return new ProblemException('not-found', { detail: `no chain has digest ${digest}`, ...(linking && { extensions: { linking } }) });
}

function lookupKeyOf(query: LookupQuery): LookupKey {
  if (query.token_jti !== undefined) return { by: 'token_key', value: tokenKeysOf({ jti: query.token_jti })[0]! };
  if (query.token_hash !== undefined) return { by: 'token_key', value: tokenKeysOf({ token_hash: query.token_hash })[0]! };
  if (query.call_id !== undefined) return { by: 'call_id', value: query.call_id };
  if (query.side_effect_reference !== undefined) return { by: 'side_effect_reference', value: query.side_effect_reference };
  return { by: 'request_uri', value: query.request_uri! };
}
