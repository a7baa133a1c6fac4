import type { operations } from '../../client/jartrail-client';
import { SCOPES } from '../../access/scopes';
import { type CommandSpec, UsageError } from '../command-spec';
import { service, show } from '../service';

const ADMIN = { key: 'admin', scope: 'audit:admin' } as const;
const API_KEYS = 'Auditor API keys, with an API key holding audit:admin';
const ACCESS_LOG = 'The access log (who looked at what, when; refused attempts too), with an API key holding audit:admin';

type AccessRecordsQuery = NonNullable<operations['AccessRecordsController_list']['parameters']['query']>;

/** Each filter option is the query parameter of its name (dashes as underscores); the service validates them. */
const ACCESS_RECORD_FILTERS = [
  ['api-key-id', 'ID', 'records of this API key (the actor)'],
  ['credential', 'KIND', 'api_key, revoked_key, unknown_key, no_key or malformed'],
  ['route', 'ROUTE', 'the route pattern, e.g. /v1/chains/:digest'],
  ['method', 'METHOD', 'GET, POST, ...'],
  ['status', 'STATUS', 'the status answered, e.g. 401'],
  ['outcome', 'OUTCOME', 'refused (401 or 403) or answered'],
  ['from', 'TIME', 'at or after this time (RFC 3339)'],
  ['to', 'TIME', 'before this time'],
  ['limit', 'N', 'records per page (1-500, default 100)'],
  ['cursor', 'NEXT_CURSOR', 'next_cursor of the previous page'],
] as const;

export const ACCESS_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['api-keys', 'create'],
    section: API_KEYS,
    summary: 'issue an auditor API key; the answer shows the key, once',
    options: [
      { flags: '--name <NAME>', description: 'what the key is for, e.g. incident-7', required: true },
      { flags: '--scope <SCOPE...>', description: 'a scope it holds (repeat for several)', choices: SCOPES, required: true },
    ],
    service: ADMIN,
    run: (input, io) => {
      const scopes = [...new Set(input.list('scope'))] as (typeof SCOPES)[number][];
      if (scopes.length === 0) throw new UsageError('api-keys create needs at least one --scope');
      return show(io, service(input, io).api.POST('/v1/api-keys', { body: { name: input.required('name'), scopes } }));
    },
  },
  {
    words: ['api-keys', 'list'],
    section: API_KEYS,
    summary: 'the API keys (never the keys themselves), revoked ones included',
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/api-keys')),
  },
  {
    words: ['api-keys', 'revoke'],
    section: API_KEYS,
    summary: 'revoke a key at once (kept, with its history in the access log)',
    operands: [{ name: 'ID', description: 'the API key id' }],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/api-keys/{id}/revoke', { params: { path: { id: input.operand(0, 'API key id') } } })),
  },
  {
    words: ['access-records'],
    section: ACCESS_LOG,
    summary: 'one page of the access log, newest first (GET /v1/access-records); pass its next_cursor as --cursor for the next',
    options: ACCESS_RECORD_FILTERS.map(([option, value, description]) => ({ flags: `--${option} <${value}>`, description })),
    service: ADMIN,
    run: (input, io) => {
      const query: Record<string, string> = {};
      for (const [option] of ACCESS_RECORD_FILTERS) {
        const value = input.string(option);
        if (value !== undefined) query[option.replaceAll('-', '_')] = value;
      }
      // Passed as written: the service validates every filter and names a bad one in its 400.
      return show(io, service(input, io).api.GET('/v1/access-records', { params: { query: query as AccessRecordsQuery } }));
    },
  },
];
