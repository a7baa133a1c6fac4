import { z } from 'zod';
import { EVENT_TYPE_NAMES } from '../../evidence/event-types';
import { RULES, SEVERITIES } from '../../findings/rule';
import { EXPORT_FORMATS } from '../export-formats';

export const EXPORT_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

const MAX_SEQ = 2 ** 53 - 1;

/** What to export: every filter narrows; none at all is the whole ledger (of events) up to the checkpoint. */
export const exportScope = z
  .strictObject({
    from: z.iso.datetime({ offset: true }).optional().describe('Records that happened (occurred_at) at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Records that happened before this time'),
    from_seq: z.int().min(0).max(MAX_SEQ).optional().describe('Records at this ledger seq or later'),
    to_seq: z.int().min(1).max(MAX_SEQ).optional().describe('Records before this ledger seq'),
    source: z.string().min(1).max(256).optional().describe('Records sent by the source of this name'),
    types: z.array(z.enum(EVENT_TYPE_NAMES as [string, ...string[]])).min(1).max(16).optional().describe('Records of these event types'),
    client_id: z.string().min(1).max(256).optional().describe('Records of chains of this client'),
    issuer: z.string().min(1).max(2048).optional().describe('Records of chains of this authorization server'),
    subject: z.string().min(1).max(512).optional().describe('Records of chains of this subject (kept, and matched, as its pseudonym when subjects are pseudonymised)'),
    tool: z.string().min(1).max(256).optional().describe('Records of chains in which this tool was called'),
    independent_verdict: z.enum(['verified', 'rejected', 'unverifiable', 'not_verifiable']).optional().describe("Records of chains that jartrail's own verification judged so"),
    verdict_mismatch: z.literal(true).optional().describe('Records of chains where the AS and independent verification disagree'),
    finding_rule: z.enum(RULES).optional().describe('Records of chains with a finding (open or resolved) of this rule'),
    finding_severity: z.enum(SEVERITIES).optional().describe('Records of chains with a finding of this severity (with finding_rule: of both)'),
  })
  .meta({ id: 'ExportScope' });

export type ExportScope = z.infer<typeof exportScope>;

export const createExportRequest = z
  .strictObject({
    format: z
      .enum(EXPORT_FORMATS)
      .describe(
        'ndjson: one ledger record a line; ndjson-chains: one chain document (as GET /v1/chains/{digest}) a line; csv: RFC 4180, one row a record, formula-safe; pdf: the compliance report; ocsf: OCSF 1.3.0 NDJSON for SIEMs (docs/exports.md, docs/ocsf.md)',
      ),
    scope: exportScope.default({}),
    proofs: z.boolean().default(false).describe("NDJSON only: each record carries its leaf, salt and inclusion proof in the checkpoint's tree, which `jartrail verify` checks"),
  })
  .superRefine((request, context) => {
    if (request.proofs && request.format !== 'ndjson') {
      context.addIssue({ code: 'custom', path: ['proofs'], message: 'proofs are carried by NDJSON exports only', params: { code: 'ndjson_only' } });
    }
    const { from, to, from_seq: fromSeq, to_seq: toSeq } = request.scope;
    if (from && to && Date.parse(from) >= Date.parse(to)) {
      context.addIssue({ code: 'custom', path: ['scope', 'to'], message: 'from must be before to', params: { code: 'empty_range' } });
    }
    if (fromSeq !== undefined && toSeq !== undefined && fromSeq >= toSeq) {
      context.addIssue({ code: 'custom', path: ['scope', 'to_seq'], message: 'from_seq must be smaller than to_seq', params: { code: 'empty_range' } });
    }
  })
  .meta({ id: 'CreateExportRequest' });

export type CreateExportRequest = z.infer<typeof createExportRequest>;

export const exportIdParam = z.uuid({ message: 'an export id (a UUID)' }).describe('The id of an export job');

export const exportView = z
  .object({
    id: z.uuid(),
    format: z.enum(EXPORT_FORMATS),
    scope: exportScope.describe('The scope as requested (a subject as its pseudonym when subjects are pseudonymised)'),
    proofs: z.boolean(),
    status: z.enum(EXPORT_STATUSES).describe('queued, running, then completed, failed or cancelled; expired once its file is removed'),
    progress: z.object({
      records_done: z.int(),
      records_total: z.int().nullable().describe('Known once the job has started'),
      bytes: z.int().describe('Bytes written so far (the file size once completed)'),
      percent: z.number().nullable(),
      eta_seconds: z.number().nullable().describe('Estimated from the rate so far; null until there is one'),
    }),
    checkpoint_tree_size: z.int().nullable().describe('The signed checkpoint the export was cut at: it holds the records of ledger seqs below this'),
    sha256: z.string().nullable().describe('Hex SHA-256 of the file, once completed'),
    error: z.string().nullable().describe('Why the job failed'),
    attempts: z.int().describe('How many times a worker has started it (a job whose worker died is started again)'),
    created_at: z.iso.datetime(),
    started_at: z.iso.datetime().nullable(),
    finished_at: z.iso.datetime().nullable(),
    expires_at: z.iso.datetime().nullable().describe('When the file is removed'),
    download: z.string().nullable().describe('Where to download the file, once completed'),
  })
  .meta({ id: 'Export' });

export type ExportView = z.infer<typeof exportView>;

export const exportsQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
  })
  .meta({ id: 'ExportsQuery' });

export type ExportsQuery = z.infer<typeof exportsQuery>;

export const exportsPage = z
  .object({ items: z.array(exportView).describe('Newest first'), next_cursor: z.string().nullable() })
  .meta({ id: 'ExportsPage' });

export const manifestDocument = z
  .object({
    kind: z.literal('export_manifest'),
    jws: z.string().describe('Compact JWS (typ jartrail-export-manifest+json) over the RFC 8785 JSON of `manifest`, under the ledger key'),
    manifest: z
      .object({
        log: z.literal('jartrail'),
        kind: z.literal('export_manifest'),
        format: z.literal('jartrail-export-manifest/v1'),
        export_id: z.uuid(),
        file_format: z.enum(EXPORT_FORMATS),
        query: exportScope,
        proofs: z.boolean().describe("Each record carries its inclusion proof in the checkpoint's tree"),
        records: z.int().describe('The ledger records the file holds (ndjson-chains: in its documents; pdf: that it counts)'),
        chains: z.int().optional().describe('ndjson-chains: the chain documents of the file'),
        bytes: z.int(),
        sha256: z.string().describe('Hex SHA-256 of the file'),
        ledger_seqs: z.array(z.tuple([z.int(), z.int()])).describe('The ledger seqs of the records, as runs [first, last], ascending'),
        completeness: z
          .object({ from_seq: z.int(), to_seq: z.int(), records: z.int(), kinds: z.array(z.string()) })
          .nullable()
          .optional()
          .describe('Unfiltered exports of ndjson, csv or ocsf: every ledger record of seqs [from_seq, to_seq) is in the file, of every kind (events, conflicts, triage)'),
        purges: z
          .array(
            z.object({
              kind: z.literal('purge'),
              purge_id: z.string(),
              policy: z.string(),
              from_ledger_seq: z.int(),
              to_ledger_seq: z.int(),
              recorded_before: z.string(),
              purged_at: z.string(),
              kid: z.string().nullable(),
              jws: z.string().nullable(),
            }),
          )
          .optional()
          .describe('The signed retention purges that blanked payloads of records in the file'),
        checkpoint: z.object({ kind: z.literal('checkpoint'), tree_size: z.int(), root_hash: z.string(), issued_at: z.string(), kid: z.string(), jws: z.string() }).describe('The signed checkpoint the export was cut at'),
        created_at: z.iso.datetime(),
      })
      .describe('What the signature covers, in the clear'),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).describe("The ledger's public keys (verify against the ones you pinned, with --jwks)"),
  })
  .meta({ id: 'ExportManifest' });
