import { parseArgs } from 'node:util';
import { SCOPES } from '../access/scopes';
import { SOURCE_KINDS } from '../sources/source-kind';
import { Secret } from './secret';
import { isUsableSourceSecret } from './webhook-signer';

/** Where the service listens: a base URL without a trailing slash (it may carry a path prefix). */
export type ServiceUrl = string & { readonly __brand: 'ServiceUrl' };

/** One call of the service's admin API, fully decided before anything goes on the wire. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Path below the service URL, starting with `/`; ids already percent-encoded. */
  readonly path: string;
  readonly body?: Readonly<Record<string, unknown>>;
  /**
   * A JSON file (`-` for stdin) read when the command runs: the whole body (`into` absent), or placed in the body
   * under the member `into`.
   */
  readonly bodyFile?: { readonly path: string; readonly into?: string };
}

export type CliCommand =
  | { readonly command: 'help'; readonly text: string }
  | {
      readonly command: 'call';
      readonly url: ServiceUrl;
      readonly apiKey: Secret;
      readonly request: ApiRequest;
      /** The answer is a report with `ok`: exit 1 when it is false. */
      readonly failUnlessOk?: boolean;
    }
  | {
      readonly command: 'send';
      readonly url: ServiceUrl;
      readonly sourceId: string;
      readonly sourceSecret: Secret;
      /** Paths, `-` for stdin. */
      readonly files: readonly string[];
      readonly batchSize: number;
    }
  | { readonly command: 'migrate' }
  | { readonly command: 'verify'; readonly file: string; readonly jwksFile: string | undefined; readonly manifestFile: string | undefined }
  | { readonly command: 'openapi'; readonly file: string };

/** The command line asks for something the CLI cannot do; the message says what, the usage says how. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_SERVICE_URL = 'http://localhost:3000';
/** The service's default INGEST_MAX_BATCH_EVENTS: one request per 1000 events unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 1000;

export const USAGE = `Usage: jartrail <command> [options]

Sources (webhook senders), with an API key holding audit:admin:
  jartrail sources create --name NAME --kind ${SOURCE_KINDS.join('|')}
  jartrail sources list
  jartrail sources show ID
  jartrail sources rotate-secret ID [--grace-period SECONDS]
  jartrail sources disable ID
  jartrail sources enable ID

Clients (for independent verification of request objects), with an API key holding audit:admin:
  jartrail clients create --file REGISTRATION.json     {"client_id", "jwks" or "jwks_uri", "request_object_signing_alg_values", ...}
  jartrail clients list
  jartrail clients show CLIENT_ID
  jartrail clients update CLIENT_ID --file REGISTRATION.json   replaces the registration (without client_id)
  jartrail clients disable CLIENT_ID     kept, but its request objects are no longer verified (client_disabled)
  jartrail clients enable CLIENT_ID
  jartrail decryption-keys add --issuer AS --alg RSA-OAEP-256|ECDH-ES+A256KW|... --file PRIVATE_JWK.json
  jartrail decryption-keys list
  jartrail decryption-keys disable ID    for good: kept, never used to decrypt again (decryption_key_disabled)
  jartrail sources set-keys ID (--jwks JWKS.json | --jwks-uri URL)   keys for Security Event Tokens

Master keys, with an API key holding audit:admin:
  jartrail keys status      the master keys the answering replica holds, and how many sealed values each key seals
  jartrail keys rotate-master [--batch-size N]
                            re-seal every value sealed under a previous master key under the current one, online,
                            N values per transaction (default 100); exit 1 unless nothing is left under another key.
                            Every replica must run with the new JARTRAIL_MASTER_KEY and the old one in
                            JARTRAIL_PREVIOUS_MASTER_KEYS first (docs/operations.md, "Rotating the master key")

Auditor API keys, with an API key holding audit:admin:
  jartrail api-keys create --name NAME --scope ${SCOPES.join('|')} [--scope ...]
  jartrail api-keys list
  jartrail api-keys revoke ID

The access log (who looked at what, when; refused attempts too), with an API key holding audit:admin:
  jartrail access-records [--api-key-id ID] [--credential api_key|revoked_key|unknown_key|no_key|malformed]
                          [--route /v1/chains/:digest] [--method GET] [--status 401] [--outcome refused|answered]
                          [--from TIME] [--to TIME] [--limit N] [--cursor NEXT_CURSOR]
      one page, newest first (GET /v1/access-records); pass its next_cursor as --cursor for the next

Sending events, as a source:
  jartrail send --source ID --source-secret whsec_... FILE...
      A FILE holding a JSON object is one event (POST /v1/events); a JSON array, or NDJSON (.ndjson, .jsonl,
      or one envelope per line), is a batch (POST /v1/events/batch). - reads stdin. An envelope without "id"
      gets one derived from its content, so sending a file again records nothing twice.

Ledger, with an API key holding audit:admin (verify) or audit:export (export-chain):
  jartrail ledger verify    recompute every leaf and the tree from the stored records and check every checkpoint
                            (GET /v1/ledger/verify); exit 1 when anything differs, naming the first record
  jartrail ledger export-chain DIGEST
                            the chain's records and the conflicting bodies kept against them, their inclusion
                            proofs, signed checkpoint and JWKS as one JSON evidence bundle, for \`jartrail verify\`

Offline verification (no service, no network):
  jartrail verify FILE [--jwks JWKS_FILE]
  jartrail verify EXPORT_FILE --manifest MANIFEST_FILE [--jwks JWKS_FILE]
      FILE holds a checkpoint, an inclusion or consistency proof (as the API returns them) or an evidence
      bundle; - reads stdin. With --manifest, FILE is a downloaded export and MANIFEST_FILE its manifest
      (GET /v1/exports/ID/manifest): the manifest's and the checkpoint's signatures, the file's SHA-256, and its
      records' count and ledger seqs are checked. Signatures are checked against --jwks (fetch /.well-known/jwks.json from a source
      you trust); without it, against the JWKS inside the file, with a WARNING, since that proves nothing
      against whoever made the file. A proof verifies only against a signed checkpoint.
      Exit 0 when everything verifies, 1 otherwise.

Operations (no running service needed):
  jartrail migrate          apply the migrations to DATABASE_URL, or to the embedded PostgreSQL
  jartrail openapi FILE     write the OpenAPI document to FILE

Options:
  --url URL                 the service (env JARTRAIL_URL, default ${DEFAULT_SERVICE_URL})
  --api-key KEY             an auditor API key (env JARTRAIL_API_KEY)
  --source ID               the sending source (env JARTRAIL_SOURCE_ID)
  --source-secret SECRET    its signing secret (env JARTRAIL_SOURCE_SECRET)
  --batch-size N            at most N events per batch request (default ${DEFAULT_BATCH_SIZE})
  -h, --help                this text

Keys and secrets are better passed in the environment: command-line arguments show in ps and shell history.
Exit status: 0 done; 1 refused by the service, unreachable, or an unreadable file (details on stderr);
2 a usage error. A batch with rejected or conflicting events exits 1 too.
`;

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'grace-period': { type: 'string' },
  source: { type: 'string' },
  'source-secret': { type: 'string' },
  'batch-size': { type: 'string' },
  file: { type: 'string' },
  jwks: { type: 'string' },
  manifest: { type: 'string' },
  'jwks-uri': { type: 'string' },
  issuer: { type: 'string' },
  alg: { type: 'string' },
  'api-key-id': { type: 'string' },
  credential: { type: 'string' },
  route: { type: 'string' },
  method: { type: 'string' },
  status: { type: 'string' },
  outcome: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

type Environment = Readonly<Record<string, string | undefined>>;

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** `origin` names where the URL came from (--url or JARTRAIL_URL), so that the error points at the right place. */
function serviceUrlOf(given: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`${origin} must be an http:// or https:// URL, not "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${origin} must be an http:// or https:// URL`);
  // Credentials in a URL end up in logs and error messages; keys go in --api-key or the environment.
  if (url.username || url.password) throw new UsageError(`${origin} must not carry credentials`);
  return url;
}

function baseOf(url: URL): ServiceUrl {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}` as ServiceUrl;
}

function identifier(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`give the ${what}`);
  return encodeURIComponent(value);
}

function wholeNumber(value: string, option: string, minimum: 0 | 1): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < minimum) throw new UsageError(`--${option} must be a whole number of at least ${minimum}, not "${value}"`);
  return Number(value);
}

/** The pieces of a command line that each command reads, checked for what that command accepts. */
class Invocation {
  constructor(
    readonly words: readonly string[],
    private readonly values: Values,
    private readonly env: Environment,
  ) {}

  /** Refuses options the command does not take, and extra operands, instead of silently ignoring them. */
  accept(options: readonly OptionName[], operands: number): void {
    const unexpected = (Object.keys(this.values) as OptionName[]).filter((name) => name !== 'help' && !options.includes(name));
    if (unexpected.length > 0) throw new UsageError(`${this.name} does not take --${unexpected.join(', --')}`);
    if (this.operands.length > operands) throw new UsageError(`unexpected argument "${this.operands[operands]}"`);
  }

  /** `sources` and `api-keys` take an action after them; the other commands are one word. */
  private get nameLength(): number {
    return ['sources', 'api-keys', 'clients', 'decryption-keys', 'ledger', 'keys'].includes(this.words[0]!) ? 2 : 1;
  }

  /** The command's words, e.g. `sources create`. */
  get name(): string {
    return this.words.slice(0, this.nameLength).join(' ');
  }

  /** What follows the command's words: ids, files. */
  get operands(): readonly string[] {
    return this.words.slice(this.nameLength);
  }

  string(name: Exclude<OptionName, 'scope' | 'help'>): string | undefined {
    return nonEmpty(this.values[name]);
  }

  required(name: Exclude<OptionName, 'scope' | 'help'>): string {
    const value = this.string(name);
    if (value === undefined) throw new UsageError(`${this.name} needs --${name}`);
    return value;
  }

  scopes(): string[] {
    return this.values.scope ?? [];
  }

  url(): URL {
    const flag = this.string('url');
    if (flag !== undefined) return serviceUrlOf(flag, '--url');
    const fromEnv = nonEmpty(this.env.JARTRAIL_URL);
    return fromEnv === undefined ? new URL(DEFAULT_SERVICE_URL) : serviceUrlOf(fromEnv, 'JARTRAIL_URL');
  }

  apiKey(): Secret {
    const key = this.string('api-key') ?? nonEmpty(this.env.JARTRAIL_API_KEY);
    if (key === undefined) throw new UsageError('an admin command needs an API key: --api-key or JARTRAIL_API_KEY');
    return new Secret(key);
  }
}

const ADMIN_OPTIONS: readonly OptionName[] = ['url', 'api-key'];

function adminCall(invocation: Invocation, request: ApiRequest, options: readonly OptionName[] = [], operands = 0, failUnlessOk = false): CliCommand {
  invocation.accept([...ADMIN_OPTIONS, ...options], operands);
  return { command: 'call', url: baseOf(invocation.url()), apiKey: invocation.apiKey(), request, ...(failUnlessOk && { failUnlessOk }) };
}

/** Each filter option becomes the query parameter of its name (dashes as underscores); the service validates them. */
const ACCESS_RECORD_FILTERS = ['api-key-id', 'credential', 'route', 'method', 'status', 'outcome', 'from', 'to', 'limit', 'cursor'] as const;

function accessRecordsCommand(invocation: Invocation): CliCommand {
  const query = new URLSearchParams();
  for (const option of ACCESS_RECORD_FILTERS) {
    const value = invocation.string(option);
    if (value !== undefined) query.set(option.replaceAll('-', '_'), value);
  }
  const search = query.size > 0 ? `?${query.toString()}` : '';
  return adminCall(invocation, { method: 'GET', path: `/v1/access-records${search}` }, ACCESS_RECORD_FILTERS);
}

function ledgerCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  switch (action) {
    case 'verify':
      return adminCall(invocation, { method: 'GET', path: '/v1/ledger/verify' }, [], 0, true);
    case 'export-chain':
      return adminCall(invocation, { method: 'GET', path: `/v1/chains/${identifier(invocation.operands[0], 'chain digest')}/evidence` }, [], 1);
    default:
      throw new UsageError(action === undefined ? 'ledger needs an action' : `unknown action "ledger ${action}"`);
  }
}

function keysCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  switch (action) {
    case 'status':
      return adminCall(invocation, { method: 'GET', path: '/v1/master-keys' });
    case 'rotate-master': {
      const batchSize = invocation.string('batch-size');
      // Without --batch-size the service applies its default; sending none keeps that default in one place.
      const body = batchSize === undefined ? {} : { batch_size: wholeNumber(batchSize, 'batch-size', 1) };
      return adminCall(invocation, { method: 'POST', path: '/v1/master-keys/rotate', body }, ['batch-size'], 0, true);
    }
    default:
      throw new UsageError(action === undefined ? 'keys needs an action' : `unknown action "keys ${action}"`);
  }
}

function sourcesCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  const id = () => identifier(invocation.operands[0], 'source id');
  switch (action) {
    case 'create': {
      const kind = invocation.required('kind');
      if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--kind must be one of ${SOURCE_KINDS.join(', ')}`);
      return adminCall(invocation, { method: 'POST', path: '/v1/sources', body: { name: invocation.required('name'), kind } }, ['name', 'kind']);
    }
    case 'list':
      return adminCall(invocation, { method: 'GET', path: '/v1/sources' });
    case 'show':
      return adminCall(invocation, { method: 'GET', path: `/v1/sources/${id()}` }, [], 1);
    case 'rotate-secret': {
      const grace = invocation.string('grace-period');
      // Without --grace-period the service applies its default; sending none keeps that default in one place.
      const body = grace === undefined ? undefined : { grace_period_seconds: wholeNumber(grace, 'grace-period', 0) };
      return adminCall(invocation, { method: 'POST', path: `/v1/sources/${id()}/rotate-secret`, ...(body && { body }) }, ['grace-period'], 1);
    }
    case 'disable':
    case 'enable':
      return adminCall(invocation, { method: 'POST', path: `/v1/sources/${id()}/${action}` }, [], 1);
    case 'set-keys': {
      const jwks = invocation.string('jwks');
      const jwksUri = invocation.string('jwks-uri');
      if (jwks !== undefined && jwksUri !== undefined) throw new UsageError('sources set-keys takes --jwks or --jwks-uri, not both');
      const path = `/v1/sources/${id()}/set-keys`;
      if (jwks !== undefined) return adminCall(invocation, { method: 'PUT', path, body: {}, bodyFile: { path: jwks, into: 'set_jwks' } }, ['jwks'], 1);
      // Neither removes the keys: the source then sends webhooks only.
      return adminCall(invocation, { method: 'PUT', path, body: jwksUri === undefined ? {} : { set_jwks_uri: jwksUri } }, ['jwks-uri'], 1);
    }
    default:
      throw new UsageError(action === undefined ? 'sources needs an action' : `unknown action "sources ${action}"`);
  }
}

function apiKeysCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  switch (action) {
    case 'create': {
      const scopes = invocation.scopes();
      if (scopes.length === 0) throw new UsageError('api-keys create needs at least one --scope');
      const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
      if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}; the scopes are ${SCOPES.join(', ')}`);
      return adminCall(invocation, { method: 'POST', path: '/v1/api-keys', body: { name: invocation.required('name'), scopes: [...new Set(scopes)] } }, ['name', 'scope']);
    }
    case 'list':
      return adminCall(invocation, { method: 'GET', path: '/v1/api-keys' });
    case 'revoke':
      return adminCall(invocation, { method: 'POST', path: `/v1/api-keys/${identifier(invocation.operands[0], 'API key id')}/revoke` }, [], 1);
    default:
      throw new UsageError(action === undefined ? 'api-keys needs an action' : `unknown action "api-keys ${action}"`);
  }
}

function clientsCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  const id = () => identifier(invocation.operands[0], 'client id');
  switch (action) {
    case 'create':
      return adminCall(invocation, { method: 'POST', path: '/v1/clients', bodyFile: { path: invocation.required('file') } }, ['file']);
    case 'list':
      return adminCall(invocation, { method: 'GET', path: '/v1/clients' });
    case 'show':
      return adminCall(invocation, { method: 'GET', path: `/v1/clients/${id()}` }, [], 1);
    case 'update':
      return adminCall(invocation, { method: 'PUT', path: `/v1/clients/${id()}`, bodyFile: { path: invocation.required('file') } }, ['file'], 1);
    case 'disable':
    case 'enable':
      return adminCall(invocation, { method: 'POST', path: `/v1/clients/${id()}/${action}` }, [], 1);
    default:
      throw new UsageError(action === undefined ? 'clients needs an action' : `unknown action "clients ${action}"`);
  }
}

function decryptionKeysCommand(invocation: Invocation): CliCommand {
  const [, action] = invocation.words;
  switch (action) {
    case 'add':
      return adminCall(
        invocation,
        { method: 'POST', path: '/v1/decryption-keys', body: { issuer: invocation.required('issuer'), alg: invocation.required('alg') }, bodyFile: { path: invocation.required('file'), into: 'jwk' } },
        ['issuer', 'alg', 'file'],
      );
    case 'list':
      return adminCall(invocation, { method: 'GET', path: '/v1/decryption-keys' });
    case 'disable':
      return adminCall(invocation, { method: 'POST', path: `/v1/decryption-keys/${identifier(invocation.operands[0], 'decryption key id')}/disable` }, [], 1);
    default:
      throw new UsageError(action === undefined ? 'decryption-keys needs an action' : `unknown action "decryption-keys ${action}"`);
  }
}

/**
 * `send` takes the service URL like every command, and also the ingest URL itself with its `?source=` (as a
 * sender's webhook configuration holds it), so that either can be pasted.
 */
function sendCommand(invocation: Invocation, env: Environment): CliCommand {
  invocation.accept(['url', 'source', 'source-secret', 'batch-size'], Number.POSITIVE_INFINITY);
  const url = invocation.url();
  const fromUrl = nonEmpty(url.searchParams.get('source') ?? undefined);
  const flag = invocation.string('source');
  if (flag !== undefined && fromUrl !== undefined && flag !== fromUrl) throw new UsageError('--source and the source in --url differ');
  const sourceId = flag ?? fromUrl ?? nonEmpty(env.JARTRAIL_SOURCE_ID);
  if (sourceId === undefined) throw new UsageError('send needs the source id: --source or JARTRAIL_SOURCE_ID');
  const secret = invocation.string('source-secret') ?? nonEmpty(env.JARTRAIL_SOURCE_SECRET);
  if (secret === undefined) throw new UsageError('send needs the source secret: --source-secret or JARTRAIL_SOURCE_SECRET');
  if (!isUsableSourceSecret(secret)) throw new UsageError('the source secret must be the whsec_... value the service returned');
  const files = invocation.operands;
  if (files.length === 0) throw new UsageError('send needs at least one FILE (- for stdin)');
  if (files.filter((file) => file === '-').length > 1) throw new UsageError('stdin (-) can be read once');
  const batchSize = invocation.string('batch-size');

  url.search = '';
  url.pathname = url.pathname.replace(/\/v1\/events(\/batch)?\/?$/, '');
  return {
    command: 'send',
    url: baseOf(url),
    sourceId,
    sourceSecret: new Secret(secret),
    files,
    batchSize: batchSize === undefined ? DEFAULT_BATCH_SIZE : wholeNumber(batchSize, 'batch-size', 1),
  };
}

/**
 * Turns a command line into one command, or a UsageError. Pure: the environment comes in as a value, and nothing
 * is read or sent here.
 */
export function parseCommandLine(argv: readonly string[], env: Environment): CliCommand {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const words = parsed.positionals;
  if (parsed.values.help || words.length === 0 || words[0] === 'help') return { command: 'help', text: USAGE };

  const invocation = new Invocation(words, parsed.values, env);
  switch (words[0]) {
    case 'sources':
      return sourcesCommand(invocation);
    case 'api-keys':
      return apiKeysCommand(invocation);
    case 'clients':
      return clientsCommand(invocation);
    case 'decryption-keys':
      return decryptionKeysCommand(invocation);
    case 'send':
      return sendCommand(invocation, env);
    case 'ledger':
      return ledgerCommand(invocation);
    case 'access-records':
      return accessRecordsCommand(invocation);
    case 'keys':
      return keysCommand(invocation);
    case 'verify': {
      invocation.accept(['jwks', 'manifest'], 1);
      const [file] = invocation.operands;
      if (file === undefined) throw new UsageError('verify needs the FILE to check (- for stdin)');
      return { command: 'verify', file, jwksFile: invocation.string('jwks'), manifestFile: invocation.string('manifest') };
    }
    case 'migrate':
      invocation.accept([], 0);
      return { command: 'migrate' };
    case 'openapi': {
      invocation.accept([], 1);
      const [file] = invocation.operands;
      if (file === undefined) throw new UsageError('openapi needs the FILE to write');
      return { command: 'openapi', file };
    }
    default:
      throw new UsageError(`unknown command "${words[0]}"`);
  }
}
