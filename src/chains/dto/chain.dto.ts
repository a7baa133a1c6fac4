import { z } from 'zod';
import { digest, tokenHash } from '../../common/schema/oauth-fields';
import { findingView } from '../../findings/dto/finding.dto';
import { RULES, SEVERITIES } from '../../findings/rule';
import { linkingView } from '../../evidence/dto/linking.dto';

const POSITION = /^[1-9][0-9]{0,18}$/;
const MAX_POSITION = 9223372036854775807n;

/**
 * Read-your-writes: `min_position` (or the header JarTrail-Min-Position) asks the answer to wait until linking has
 * passed that position: the `position` an ingest answer carried, or `latest` for everything committed before the
 * request. The wait is bounded (LINKER_MAX_WAIT_MS); `linking.reached` says whether it got there.
 */
export const minPosition = z
  .string()
  .refine((value) => value === 'latest' || (POSITION.test(value) && BigInt(value) <= MAX_POSITION), {
    message: 'a position (a positive integer an ingest answer returned) or "latest"',
    params: { code: 'invalid_position' },
  })
  .optional()
  .describe('Wait until linking has passed this position (an ingest answer\'s `position`, or `latest`), up to a bound; also accepted as the header JarTrail-Min-Position');

export const MIN_POSITION_HEADER = 'jartrail-min-position';

export { linkingView };

export const chainQuery = z.strictObject({ min_position: minPosition });
export type ChainQuery = z.infer<typeof chainQuery>;

export const digestParam = digest.describe('A chain digest, or the inner digest of an encrypted request object');

const ledgerView = z
  .object({
    seq: z.int().nullable().describe('The ledger sequence number (leaf index); null while the record waits for the sequencer'),
    checkpoint: z
      .object({ tree_size: z.int(), root_hash: z.string(), issued_at: z.string() })
      .nullable()
      .describe('The latest signed checkpoint, once it covers the record'),
    payload_purged: z
      .object({ policy: z.string(), purged_at: z.iso.datetime(), note: z.string().describe('"payload purged under policy X"') })
      .nullable(),
  })
  .meta({ id: 'RecordLedgerView' });

const recordView = z
  .object({
    event_id: z.string(),
    source: z.object({ id: z.uuid(), name: z.string() }),
    type: z.string(),
    occurred_at: z.iso.datetime().describe('When the recorded thing happened (iat of a token, start of a tool call, ...)'),
    emitted_at: z.iso.datetime().describe("The envelope's timestamp"),
    recorded_at: z.iso.datetime().describe('When jartrail committed the event'),
    data: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe("The event's data as stored (subjects pseudonymised unless configured otherwise); null once purged by retention"),
    ledger: ledgerView
      .optional()
      .describe("The record's place in the tamper-evident ledger (in the chain document)"),
  })
  .meta({ id: 'Record' });

const independentVerification = z
  .object({
    status: z.enum(['verified', 'rejected', 'unverifiable', 'not_verifiable', 'pending', 'not_queued']).describe(
      'jartrail\'s own verdict; pending while the verification waits (e.g. for a key fetch to succeed); not_queued for records made before independent verification existed',
    ),
    as_verdict: z.enum(['accepted', 'rejected']).nullable().describe("The AS's verdict, beside it (null only when retention purged the payload before jartrail judged it)"),
    mismatch: z.boolean().describe('The AS accepted what jartrail rejects, or rejected what jartrail verified'),
    reasons: z
      .array(
        z.object({
          code: z.string(),
          detail: z.string(),
          differences: z.array(z.object({ field: z.string(), reported: z.unknown(), actual: z.unknown().optional() })).optional(),
        }),
      )
      .describe('Every rule the object breaks, with its code (docs/verification.md)'),
    alg: z.string().nullable(),
    kid: z.string().nullable(),
    inner_digest: z.string().nullable().describe('The inner JWS digest jartrail computed after decrypting'),
    opaque: z.boolean().describe('Encrypted, and jartrail holds no key to decrypt it: the inner digest is only the AS\'s word'),
    verified_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'IndependentVerification' });

const conflictView = z
  .object({
    event_id: z.string().describe('The event id both bodies were sent under'),
    source: z.object({ id: z.uuid(), name: z.string() }),
    type: z.string(),
    emitted_at: z.iso.datetime().describe("The refused envelope's timestamp"),
    recorded_at: z.iso.datetime().describe('When jartrail kept it'),
    data: z.record(z.string(), z.unknown()).nullable().describe("The refused body's data as stored (minimised like an event's); null once purged by retention"),
    conflicts_with: z
      .object({ event_id: z.string(), ledger_seq: z.int().nullable().describe("The record's ledger seq; null while it waits for the sequencer") })
      .describe('The record it contradicts: the first body under this id, which stays the record'),
    ledger: ledgerView.describe("The kept body's own place in the ledger: GET /v1/ledger/proofs/inclusion?seq= proves it"),
  })
  .meta({ id: 'Conflict' });

export const chainDocument = z
  .object({
    digest: z.string(),
    aliases: z.array(z.string()).describe('Inner digests (of the JWS inside an encrypted request object) that find this chain too'),
    unsigned: z.boolean().describe('A plain authorization request, or a request object with alg "none"'),
    first_recorded_at: z.iso.datetime(),
    request_object: z.object({
      verifications: z
        .array(recordView.extend({ independent: independentVerification }))
        .describe("The authorization server's verification reports, each with jartrail's own verdict beside it"),
    }),
    verdict_mismatch: z.boolean().describe('Some verification of this chain has an AS verdict that independent verification contradicts'),
    consents: z.array(recordView),
    tokens: z.array(recordView),
    revocations: z.array(recordView),
    tool_calls: z.array(recordView),
    timeline: z
      .array(
        z.object({
          occurred_at: z.iso.datetime(),
          type: z.string(),
          event_id: z.string(),
          source: z.string(),
          summary: z.string(),
        }),
      )
      .describe('Every record, ordered by occurrence; records of one whole second in causal order (verification, consent, token, then tool calls and revocations)'),
    conflicts: z
      .array(conflictView)
      .describe('Bodies refused with 409 under the id of one of these records and kept as evidence, oldest first; not part of the timeline'),
    linking: linkingView.extend({
      chain_complete: z.boolean().describe('No committed record that names this chain (its digest, an alias, or one of its tokens) is waiting for the linker'),
    }),
    unlinked_records: z
      .array(recordView)
      .describe('Records committed but not yet linked that will join this chain (they name its digest, an alias, or a token in it): not in the lists above until linked'),
    findings: z.array(findingView).describe('What the finding rules found in this chain, open first (docs/findings.md)'),
    findings_evaluation: z
      .object({
        up_to_date: z
          .boolean()
          .describe('false while records of this chain wait for the linker or the chain waits for evaluation: its findings may be about to change'),
      })
      .describe('Whether the findings reflect every committed record of the chain'),
  })
  .meta({ id: 'Chain' });

const LOOKUP_KEYS = ['token_jti', 'token_hash', 'call_id', 'side_effect_reference', 'request_uri'] as const;

export const lookupQuery = z
  .strictObject({
    token_jti: z.string().min(1).max(256).optional(),
    token_hash: tokenHash.optional(),
    call_id: z.string().min(1).max(256).optional(),
    side_effect_reference: z.string().min(1).max(1024).optional(),
    request_uri: z.string().min(1).max(2048).optional(),
    min_position: minPosition,
  })
  .superRefine((query, context) => {
    // Names the offending fields: each of those given when several are, every candidate when none is.
    const given = LOOKUP_KEYS.filter((key) => query[key] !== undefined);
    if (given.length === 1) return;
    for (const key of given.length === 0 ? LOOKUP_KEYS : given) {
      context.addIssue({ code: 'custom', path: [key], message: `give exactly one of ${LOOKUP_KEYS.join(', ')}`, params: { code: 'exactly_one' } });
    }
  });

export type LookupQuery = z.infer<typeof lookupQuery>;

export const lookupResponse = z
  .object({
    records: z.array(
      recordView.extend({
        chains: z.array(z.string()).describe('The chains the record belongs to; empty while its link is not yet complete'),
        linked: z.boolean().describe('false: the record is committed but waits for the linker, so `chains` may be incomplete'),
      }),
    ),
    linking: linkingView,
  })
  .meta({ id: 'LookupResult' });

export const MAX_PAGE_SIZE = 100;

export const searchQuery = z
  .strictObject({
    client_id: z.string().min(1).max(256).optional(),
    subject: z.string().min(1).max(512).optional().describe('Searched by its pseudonym when subjects are pseudonymised'),
    issuer: z.string().min(1).max(2048).optional(),
    tool: z.string().min(1).max(256).optional(),
    independent_verdict: z
      .enum(['verified', 'rejected', 'unverifiable', 'not_verifiable', 'pending'])
      .optional()
      .describe("Chains with a verification that jartrail's own verification judged so (pending: not yet judged)"),
    verdict_mismatch: z.literal('true').optional().describe('Chains where the AS and independent verification disagree'),
    finding: z.enum(RULES).optional().describe('Chains with an open finding of this rule'),
    severity: z.enum(SEVERITIES).optional().describe('Chains with an open finding of this severity (with finding: of that rule and severity)'),
    from: z.iso.datetime({ offset: true }).optional().describe('Chains first recorded at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Chains first recorded before this time'),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(25),
    cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
    min_position: minPosition,
  })
  .refine((query) => !query.from || !query.to || Date.parse(query.from) < Date.parse(query.to), {
    message: 'from must be before to',
    path: ['to'],
    params: { code: 'empty_range' },
  });

export type SearchQuery = z.infer<typeof searchQuery>;

export const searchResponse = z
  .object({
    items: z.array(
      z.object({
        digest: z.string(),
        first_recorded_at: z.iso.datetime(),
        client_ids: z.array(z.string()),
        issuers: z.array(z.string()),
        subjects: z.array(z.string()),
        tools: z.array(z.string()),
        open_findings: z.partialRecord(z.enum(SEVERITIES), z.int()).describe('Open findings by severity'),
        records: z.object({
          verifications: z.int(),
          consents: z.int(),
          tokens: z.int(),
          revocations: z.int(),
          tool_calls: z.int(),
        }),
      }),
    ),
    next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
    linking: linkingView.describe('Chains, facets and counts reflect every record committed below linked_below'),
  })
  .meta({ id: 'ChainSearchResult' });

export type SearchResponse = z.infer<typeof searchResponse>;
