import { resolve } from 'node:path';
import type { components } from '../../client/jartrail-client';
import { EXPORT_FORMATS } from '../../exports/export-formats';
import { RULES, SEVERITIES } from '../../findings/rule';
import { type CommandInput, type CommandSpec, UsageError, wholeNumber } from '../command-spec';
import { type ExportRequest, runExport } from '../export.command';
import { service, show } from '../service';

const SECTION = 'Exports (compliance reports), with an API key holding audit:export';
const EXPORT = { key: 'admin', scope: 'audit:export' } as const;

/**
 * The formats the service takes: its own list, from which its request schema, docs/openapi.json and
 * src/client/api-types.ts are made, so that a format the service adds is offered here with no second list to keep.
 * The annotation fails to compile if that list and the generated API types ever disagree.
 */
const FORMATS: readonly components['schemas']['CreateExportRequest']['format'][] = EXPORT_FORMATS;

/** Each scope option and the member of the request's scope it sets. */
const SCOPE_OPTIONS = [
  ['from', 'TIME', 'from', 'records that happened at or after this time (RFC 3339, e.g. 2026-07-01T00:00:00Z)'],
  ['to', 'TIME', 'to', 'records that happened before this time'],
  ['from-seq', 'SEQ', 'from_seq', 'records at this ledger seq or later'],
  ['to-seq', 'SEQ', 'to_seq', 'records before this ledger seq'],
  ['client', 'CLIENT_ID', 'client_id', 'records of chains of this client'],
  ['issuer', 'AS', 'issuer', 'records of chains of this authorization server'],
  ['source', 'NAME', 'source', 'records sent by the source of this name'],
  ['subject', 'SUBJECT', 'subject', 'records of chains of this subject'],
  ['tool', 'TOOL', 'tool', 'records of chains in which this tool was called'],
  ['finding', 'RULE', 'finding_rule', 'records of chains with a finding of this rule'],
  ['severity', 'SEVERITY', 'finding_severity', 'records of chains with a finding of this severity'],
  ['verdict', 'VERDICT', 'independent_verdict', "records of chains that jartrail's own verification judged so (verified, rejected, ...)"],
] as const;

const CHOICES: Partial<Record<(typeof SCOPE_OPTIONS)[number][0], readonly string[]>> = { finding: RULES, severity: SEVERITIES };
const NUMBERS = new Set(['from-seq', 'to-seq']);

/** The option that sets each member of the request, to name it in an error. */
const OPTION_OF: Readonly<Record<string, string>> = {
  ...Object.fromEntries(SCOPE_OPTIONS.map(([option, , member]) => [`scope.${member}`, `--${option}`])),
  'scope.types': '--type',
  'scope.verdict_mismatch': '--verdict-mismatch',
  format: '--format',
  proofs: '--proofs',
};

/**
 * The request as the service will read it, checked with the service's own schema before anything is sent: a bad
 * time, type or verdict, or an empty range, is a usage error naming the option, not a round trip. The schema (and the
 * event types it names) is loaded here only, so that other commands do not pay for it at start.
 */
function exportRequestOf(input: CommandInput): ExportRequest {
  // require, not import(): a lazy import() of our own module resolves as ESM (by file name with .js), which jest's
  // resolver of TypeScript sources cannot follow; require resolves the same in tests and in dist/.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createExportRequest } = require('../../exports/dto/export.dto') as typeof import('../../exports/dto/export.dto');
  const scope: Record<string, unknown> = {};
  for (const [option, , member] of SCOPE_OPTIONS) {
    const value = NUMBERS.has(option) ? input.parsed<number>(option) : input.string(option);
    if (value !== undefined) scope[member] = value;
  }
  const types = input.list('type');
  if (types.length > 0) scope.types = [...new Set(types)];
  if (input.switch('verdict-mismatch')) scope.verdict_mismatch = true;
  const checked = createExportRequest.safeParse({ format: input.required('format'), scope, proofs: input.switch('proofs') });
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const path = issue.path.map(String);
    // scope.types.1 is --type: the option of the member, whatever the index.
    const option = OPTION_OF[path.join('.')] ?? OPTION_OF[path.slice(0, 2).join('.')] ?? path.join('.');
    throw new UsageError(`${option}: ${issue.message}`);
  }
  return checked.data as ExportRequest;
}

export const EXPORT_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['export'],
    section: SECTION,
    summary: 'export the records of a scope to FILE: create the job, show its progress, download (resuming), verify',
    options: [
      { flags: '--format <FORMAT>', description: 'the file format', choices: FORMATS, required: true },
      { flags: '-o, --output <FILE>', description: 'where the verified file goes', required: true },
      ...SCOPE_OPTIONS.map(([option, value, , description]) => ({
        flags: `--${option} <${value}>`,
        description,
        ...(CHOICES[option] && { choices: CHOICES[option] }),
        ...(NUMBERS.has(option) && { parse: wholeNumber(0) }),
      })),
      { flags: '--type <TYPE...>', description: 'records of this event type, e.g. consent.decision (repeat for several)' },
      { flags: '--verdict-mismatch', description: 'records of chains where the AS and independent verification disagree' },
      { flags: '--proofs', description: "each record carries its inclusion proof in the checkpoint's tree, checked too" },
      { flags: '--jwks <URL|FILE>', description: "the ledger's public keys you pinned; default: the service's /.well-known/jwks.json" },
    ],
    service: EXPORT,
    details: [
      'Progress goes to stderr: a bar on a terminal, plain lines otherwise. The file is downloaded into FILE.part, with',
      'FILE.part.json naming the job; if the command is interrupted (Ctrl-C, a lost connection), running the same',
      'command again finds the job and downloads only the rest (Range). The signed manifest is then fetched and the',
      "file verified against it as `jartrail verify FILE --manifest FILE.manifest.json` does (signature, SHA-256, the",
      'records and their ledger seqs, and with --proofs every inclusion proof); only a verified file becomes FILE, and',
      'the manifest is kept as FILE.manifest.json. Prints the verification report as JSON. Exit 0 when verified, 1 when',
      'refused or not verified, 130 when interrupted.',
      '',
      'Example:',
      '  jartrail export --client agent-app --from 2026-07-01T00:00:00Z --to 2026-10-01T00:00:00Z \\',
      '    --format csv -o q3.csv --jwks jwks.json',
    ].join('\n'),
    run: (input, io) => {
      const request = exportRequestOf(input);
      const { url, api } = service(input, io);
      return runExport({ url, api, request, output: resolve(input.required('output')), jwks: input.string('jwks'), pollMs: 500 }, io);
    },
  },
  {
    words: ['exports', 'list'],
    section: SECTION,
    summary: 'the export jobs, newest first',
    options: [
      { flags: '--limit <N>', description: 'jobs per page (1-100, default 25)', parse: wholeNumber(1) },
      { flags: '--cursor <NEXT_CURSOR>', description: 'next_cursor of the previous page' },
    ],
    service: EXPORT,
    run: (input, io) => {
      const query = { limit: input.parsed<number>('limit') ?? 25, ...(input.string('cursor') !== undefined && { cursor: input.string('cursor') }) };
      // The service reads limit and cursor (exports.dto.ts), but its OpenAPI document does not describe them yet, so the
      // generated type has no query: passed as the service reads them.
      return show(io, service(input, io).api.GET('/v1/exports', { params: { query: query as never } }));
    },
  },
  {
    words: ['exports', 'show'],
    section: SECTION,
    summary: 'one export job: its status and progress',
    operands: [{ name: 'ID', description: 'the export id' }],
    service: EXPORT,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/exports/{id}', { params: { path: { id: input.operand(0, 'export id') } } })),
  },
  {
    words: ['exports', 'cancel'],
    section: SECTION,
    summary: 'cancel a queued or running export; what it wrote is removed',
    operands: [{ name: 'ID', description: 'the export id' }],
    service: EXPORT,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/exports/{id}/cancel', { params: { path: { id: input.operand(0, 'export id') } } })),
  },
];
