import type { components } from '../../client/jartrail-client';
import { SOURCE_KINDS } from '../../sources/source-kind';
import { type CommandSpec, UsageError, wholeNumber } from '../command-spec';
import { readJsonFile, service, show } from '../service';

const SECTION = 'Sources (webhook senders), with an API key holding audit:admin';
const SETS = 'Keys for Security Event Tokens (RFC 8417), with an API key holding audit:admin';
const ADMIN = { key: 'admin', scope: 'audit:admin' } as const;
const ID = { name: 'ID', description: 'the source id (from sources create or sources list)' };

export const SOURCES_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['sources', 'create'],
    section: SECTION,
    summary: 'register a source; the answer shows its whsec_ signing secret, once',
    options: [
      { flags: '--name <NAME>', description: 'a unique name, e.g. as-1', required: true },
      { flags: '--kind <KIND>', description: 'which event types it may send', choices: SOURCE_KINDS, required: true },
    ],
    service: ADMIN,
    details: 'Keep the answer: it is the only time the secret is shown (sources rotate-secret issues a new one).',
    run: (input, io) =>
      show(io, service(input, io).api.POST('/v1/sources', { body: { name: input.required('name'), kind: input.required('kind') as (typeof SOURCE_KINDS)[number] } })),
  },
  {
    words: ['sources', 'list'],
    section: SECTION,
    summary: 'the sources, without their secrets',
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/sources')),
  },
  {
    words: ['sources', 'show'],
    section: SECTION,
    summary: "one source, with its secrets' ids and expiry (never the secrets)",
    operands: [ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/sources/{id}', { params: { path: { id: input.operand(0, 'source id') } } })),
  },
  {
    words: ['sources', 'rotate-secret'],
    section: SECTION,
    summary: 'issue a new secret; the previous ones keep signing for the grace period',
    operands: [ID],
    options: [{ flags: '--grace-period <SECONDS>', description: "how long the previous secrets stay valid (default: the service's, 86400)", parse: wholeNumber(0) }],
    service: ADMIN,
    run: (input, io) => {
      const grace = input.parsed<number>('grace-period');
      // Without --grace-period the service applies its default; sending none keeps that default in one place.
      const body = (grace === undefined ? {} : { grace_period_seconds: grace }) as components['schemas']['RotateSecretRequest'];
      return show(io, service(input, io).api.POST('/v1/sources/{id}/rotate-secret', { params: { path: { id: input.operand(0, 'source id') } }, body }));
    },
  },
  {
    words: ['sources', 'disable'],
    section: SECTION,
    summary: 'refuse its events from now on (kept, with its history)',
    operands: [ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/sources/{id}/disable', { params: { path: { id: input.operand(0, 'source id') } } })),
  },
  {
    words: ['sources', 'enable'],
    section: SECTION,
    summary: 'accept its events again',
    operands: [ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/sources/{id}/enable', { params: { path: { id: input.operand(0, 'source id') } } })),
  },
  {
    words: ['sources', 'set-keys'],
    section: SETS,
    summary: 'the public keys a source signs Security Event Tokens with: a JWKS file, or a jwks_uri',
    operands: [ID],
    options: [
      { flags: '--jwks <FILE>', description: 'a JWKS ({"keys": [...]}) in a file; - reads stdin' },
      { flags: '--jwks-uri <URL>', description: 'or where the service fetches them (https)' },
    ],
    service: ADMIN,
    details: 'With neither, the keys are removed and the source sends webhooks only (POST /v1/sets refuses it).',
    run: async (input, io) => {
      const jwks = input.string('jwks');
      const jwksUri = input.string('jwks-uri');
      if (jwks !== undefined && jwksUri !== undefined) throw new UsageError('sources set-keys takes --jwks or --jwks-uri, not both');
      const id = input.operand(0, 'source id');
      const body: components['schemas']['SetKeysRequest'] =
        jwks !== undefined ? { set_jwks: await readJsonFile(jwks, io) } : jwksUri !== undefined ? { set_jwks_uri: jwksUri } : {};
      return show(io, service(input, io).api.PUT('/v1/sources/{id}/set-keys', { params: { path: { id } }, body }));
    },
  },
];
