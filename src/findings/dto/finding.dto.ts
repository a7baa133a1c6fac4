import { z } from 'zod';
import { linkingView } from '../../evidence/dto/linking.dto';
import { FINDING_CHANGES } from '../finding-change.entity';
import { FINDING_STATUSES, TRIAGE_STATUSES } from '../finding.entity';
import { RULES, SEVERITIES } from '../rule';

const POSITIVE_ID = /^[1-9][0-9]{0,18}$/;

export const findingIdParam = z
  .string()
  .refine((value) => POSITIVE_ID.test(value) && BigInt(value) <= 9223372036854775807n, { message: 'a finding id', params: { code: 'invalid_id' } })
  .describe('The id of a finding');

export const evaluationView = z
  .object({
    pending_subjects: z.int().describe('Chains (or loose records) queued and due for evaluation: their findings may change'),
    oldest_due_seconds: z.number().describe('How long the oldest of them has been due (0 when none)'),
  })
  .meta({ id: 'FindingsEvaluation' });

const evidenceView = z
  .object({
    kind: z.enum(['event', 'conflict']).describe('An accepted record, or a body refused with 409 and kept as evidence'),
    event_id: z.string().nullable(),
    type: z.string().nullable(),
    ledger_seq: z.int().nullable().describe('Its place in the ledger (prove it with GET /v1/ledger/proofs/inclusion?seq=); null while it waits for the sequencer'),
  })
  .meta({ id: 'FindingEvidence' });

export const findingView = z
  .object({
    id: z.string(),
    rule: z.enum(RULES),
    severity: z.enum(SEVERITIES),
    status: z.enum(FINDING_STATUSES).describe('open while the evidence shows it; resolved when a later evaluation no longer finds it (never deleted)'),
    chain_digest: z.string().nullable().describe('null for a record that joined no chain (an orphan)'),
    summary: z.string().describe('Plain text naming the values involved: evidence is attacker-controlled, render it as text'),
    facts: z.record(z.string(), z.unknown()).describe("The rule's specifics (docs/findings.md)"),
    evidence: z.array(evidenceView).describe('The records that prove it, the breaking record first'),
    client_id: z.string().nullable(),
    issuer: z.string().nullable(),
    occurred_at: z.iso.datetime().describe('When the earliest of its evidence happened'),
    first_seen_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    resolved_at: z.iso.datetime().nullable(),
    resolution: z.string().nullable().describe('Why it was resolved'),
    triage_status: z.enum(TRIAGE_STATUSES).nullable().describe('The latest triage, null until someone triages it'),
  })
  .meta({ id: 'Finding' });

export type FindingView = z.infer<typeof findingView>;

export const triageRequest = z
  .strictObject({
    status: z.enum(TRIAGE_STATUSES).describe('acknowledged: seen and being handled; false_positive: the rule fired where nothing went wrong; resolved: handled'),
    note: z.string().trim().min(1).max(4096).describe('Why: what the reviewer found or did (kept as written, ledgered)'),
  })
  .meta({ id: 'TriageRequest' });

export type TriageRequest = z.infer<typeof triageRequest>;

export const triageView = z
  .object({
    id: z.string().describe('The triage record\'s id (its event_id in the ledger)'),
    status: z.enum(TRIAGE_STATUSES),
    note: z.string(),
    triaged_by: z
      .union([
        z.object({ api_key_id: z.uuid(), name: z.string().describe("The key's name when it triaged") }).describe('A reviewer with an API key'),
        z
          .object({ subject: z.string().describe("The access token's sub"), issuer: z.string().describe("The access token's iss: the identity provider") })
          .describe('A reviewer signed in with the identity provider (an access token)'),
      ])
      .describe('Who triaged, as the ledgered record names them'),
    recorded_at: z.iso.datetime(),
    ledger_seq: z.int().nullable().describe('Its place in the ledger (record kind triage); null while it waits for the sequencer'),
  })
  .meta({ id: 'Triage' });

export type TriageView = z.infer<typeof triageView>;

export const findingDetail = findingView
  .extend({
    triage: z.array(triageView).describe('Every triage, oldest first (append-only, ledgered)'),
    history: z
      .array(z.object({ change: z.enum(FINDING_CHANGES), severity: z.enum(SEVERITIES), reason: z.string(), at: z.iso.datetime() }))
      .describe('Every change the evaluator made, oldest first (append-only)'),
  })
  .meta({ id: 'FindingDetail' });

export const MAX_FINDINGS_PAGE = 100;

export const findingsQuery = z
  .strictObject({
    rule: z.enum(RULES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(FINDING_STATUSES).optional(),
    client_id: z.string().min(1).max(256).optional(),
    issuer: z.string().min(1).max(2048).optional(),
    chain: z.string().min(1).max(64).optional().describe('Only the findings of this chain digest'),
    from: z.iso.datetime({ offset: true }).optional().describe('Findings whose evidence first happened at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Findings whose evidence first happened before this time'),
    limit: z.coerce.number().int().min(1).max(MAX_FINDINGS_PAGE).default(25),
    cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
  })
  .refine((query) => !query.from || !query.to || Date.parse(query.from) < Date.parse(query.to), {
    message: 'from must be before to',
    path: ['to'],
    params: { code: 'empty_range' },
  });

export type FindingsQuery = z.infer<typeof findingsQuery>;

export const findingsPage = z
  .object({
    items: z.array(findingView).describe('Newest first'),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
    linking: linkingView.describe('Findings are evaluated over linked records: records committed at or above linked_below are not in them yet'),
    evaluation: evaluationView,
  })
  .meta({ id: 'FindingsPage' });

export type FindingsPage = z.infer<typeof findingsPage>;
