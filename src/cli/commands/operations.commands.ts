import { type CommandSpec, UsageError, wholeNumber } from '../command-spec';
import { Secret } from '../secret';
import { DEFAULT_BATCH_SIZE, send } from '../send.command';
import { baseOf, serviceUrl, URL_OPTION } from '../service';
import { isUsableSourceSecret } from '../webhook-signer';

const SENDING = 'Sending events, as a source';
const OFFLINE = 'Offline verification (no service, no network)';
const OPERATIONS = 'Operations (no running service needed)';

export const OPERATIONS_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['send'],
    section: SENDING,
    summary: 'sign files of envelopes with the source secret (Standard Webhooks) and post them',
    operands: [{ name: 'FILE', description: 'a JSON envelope, a JSON array or NDJSON of envelopes; - reads stdin', variadic: true }],
    options: [
      { ...URL_OPTION, description: `${URL_OPTION.description}; the ingest URL with its ?source= works too` },
      { flags: '--source <ID>', description: 'the sending source (env JARTRAIL_SOURCE_ID)' },
      { flags: '--source-secret <SECRET>', description: 'its whsec_ signing secret (env JARTRAIL_SOURCE_SECRET; better there)' },
      { flags: '--batch-size <N>', description: `at most N events per batch request (default ${DEFAULT_BATCH_SIZE})`, parse: wholeNumber(1) },
    ],
    details: [
      'A FILE holding a JSON object is one event (POST /v1/events); a JSON array, or NDJSON (.ndjson, .jsonl, or one',
      'envelope per line), is a batch (POST /v1/events/batch). An envelope without "id" gets one derived from its',
      'content, so sending a file again records nothing twice. Exit 1 when the service refuses a file, or a batch has',
      'rejected or conflicting events (each result says which).',
    ].join('\n'),
    run: (input, io) => {
      // The service URL like every command, or the ingest URL itself with its ?source= (as a sender's webhook
      // configuration holds it), so that either can be pasted.
      const url = serviceUrl(input);
      const fromUrl = url.searchParams.get('source') || undefined;
      const flag = input.string('source');
      if (flag !== undefined && fromUrl !== undefined && flag !== fromUrl) throw new UsageError('--source and the source in --url differ');
      const sourceId = flag ?? fromUrl ?? input.fromEnv('JARTRAIL_SOURCE_ID');
      if (sourceId === undefined) throw new UsageError('send needs the source id: --source or JARTRAIL_SOURCE_ID');
      const secret = input.string('source-secret') ?? input.fromEnv('JARTRAIL_SOURCE_SECRET');
      if (secret === undefined) throw new UsageError('send needs the source secret: --source-secret or JARTRAIL_SOURCE_SECRET');
      if (!isUsableSourceSecret(secret)) throw new UsageError('the source secret must be the whsec_... value the service returned');
      const files = input.rest(0);
      if (files.length === 0) throw new UsageError('send needs at least one FILE (- for stdin)');
      if (files.filter((file) => file === '-').length > 1) throw new UsageError('stdin (-) can be read once');
      url.search = '';
      url.pathname = url.pathname.replace(/\/v1\/events(\/batch)?\/?$/, '');
      return send({ url: baseOf(url), sourceId, sourceSecret: new Secret(secret), files, batchSize: input.parsed<number>('batch-size') ?? DEFAULT_BATCH_SIZE }, io);
    },
  },
  {
    words: ['verify'],
    section: OFFLINE,
    summary: 'check a checkpoint, a proof, an evidence bundle, or a downloaded export against its manifest',
    operands: [{ name: 'FILE', description: 'the document (- reads stdin), or with --manifest the downloaded export' }],
    options: [
      { flags: '--jwks <FILE>', description: 'the public keys you trust (/.well-known/jwks.json, fetched from a source you trust)' },
      { flags: '--manifest <FILE>', description: "the export's manifest (GET /v1/exports/ID/manifest): FILE is then the export" },
    ],
    details: [
      'FILE holds a checkpoint, an inclusion or consistency proof (as the API returns them) or an evidence bundle. With',
      "--manifest, FILE is a downloaded export: the manifest's and the checkpoint's signatures, the file's SHA-256, its",
      "records' count and ledger seqs (and, for an export with proofs, each record's inclusion proof) are checked.",
      'Signatures are checked against --jwks; without it, against the JWKS inside the file, with a WARNING, since that',
      'proves nothing against whoever made the file. A proof verifies only against a signed checkpoint.',
      'Prints the report (every check, the first that failed) as JSON. Exit 0 when everything verifies, 1 otherwise.',
    ].join('\n'),
    // Loaded on demand, like every heavy command: the verifier pulls in the ledger code the HTTP commands do not need.
    run: async (input, io) => {
      const { verify } = await import('../verify.command.js');
      return verify({ file: input.operand(0, 'FILE to check (- for stdin)'), jwksFile: input.string('jwks'), manifestFile: input.string('manifest') }, io);
    },
  },
  {
    words: ['migrate'],
    section: OPERATIONS,
    summary: 'apply the migrations to DATABASE_URL, or to the embedded PostgreSQL',
    details: 'The same migrations and advisory lock as the service at start; for MIGRATIONS_RUN=false deployments.',
    // NestJS, TypeORM and the embedded PostgreSQL take a second to load, which the HTTP commands should not pay.
    run: async (_input, io) => (await import('../migrate.command.js')).migrate(io),
  },
  {
    words: ['openapi'],
    section: OPERATIONS,
    summary: 'write the OpenAPI document the service serves to FILE (no database needed)',
    operands: [{ name: 'FILE', description: 'where to write it, e.g. docs/openapi.json' }],
    run: async (input, io) => {
      const file = input.operand(0, 'FILE to write');
      return (await import('../openapi.command.js')).writeOpenApi({ file }, io);
    },
  },
];
