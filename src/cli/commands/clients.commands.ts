import type { components } from '../../client/jartrail-client';
import type { CommandSpec } from '../command-spec';
import { readJsonFile, service, show } from '../service';

const CLIENTS = 'Clients (for independent verification of request objects), with an API key holding audit:admin';
const KEYS = 'Decryption keys (to open encrypted request objects), with an API key holding audit:admin';
const ADMIN = { key: 'admin', scope: 'audit:admin' } as const;
const CLIENT_ID = { name: 'CLIENT_ID', description: 'the client_id' };
const FILE = { flags: '--file <FILE>', description: 'the registration as JSON; - reads stdin', required: true };

type Registration = components['schemas']['CreateClientRequest'];
type Replacement = components['schemas']['UpdateClientRequest'];
type DecryptionAlg = components['schemas']['CreateDecryptionKeyRequest']['alg'];

export const CLIENTS_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['clients', 'create'],
    section: CLIENTS,
    summary: 'register a client from a file: {"client_id", "jwks" or "jwks_uri", "request_object_signing_alg_values", ...}',
    options: [FILE],
    service: ADMIN,
    details: 'The fields are those of POST /v1/clients (docs/verification.md); the service checks them and names each bad one.',
    // The file is the body as the user wrote it; the service validates it (a 400 names each field), so it is passed on unchecked.
    run: async (input, io) => show(io, service(input, io).api.POST('/v1/clients', { body: (await readJsonFile(input.required('file'), io)) as Registration })),
  },
  {
    words: ['clients', 'list'],
    section: CLIENTS,
    summary: 'the registered clients',
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/clients')),
  },
  {
    words: ['clients', 'show'],
    section: CLIENTS,
    summary: 'one client',
    operands: [CLIENT_ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/clients/{client_id}', { params: { path: { client_id: input.operand(0, 'client id') } } })),
  },
  {
    words: ['clients', 'update'],
    section: CLIENTS,
    summary: 'replace a registration (the file without client_id)',
    operands: [CLIENT_ID],
    options: [FILE],
    service: ADMIN,
    run: async (input, io) => {
      const client_id = input.operand(0, 'client id');
      const body = (await readJsonFile(input.required('file'), io)) as Replacement;
      return show(io, service(input, io).api.PUT('/v1/clients/{client_id}', { params: { path: { client_id } }, body }));
    },
  },
  {
    words: ['clients', 'disable'],
    section: CLIENTS,
    summary: 'kept, but its request objects are no longer verified (client_disabled)',
    operands: [CLIENT_ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/clients/{client_id}/disable', { params: { path: { client_id: input.operand(0, 'client id') } } })),
  },
  {
    words: ['clients', 'enable'],
    section: CLIENTS,
    summary: 'verify its request objects again',
    operands: [CLIENT_ID],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/clients/{client_id}/enable', { params: { path: { client_id: input.operand(0, 'client id') } } })),
  },
  {
    words: ['decryption-keys', 'add'],
    section: KEYS,
    summary: "an AS's private key, to open the encrypted request objects it reports",
    options: [
      { flags: '--issuer <AS>', description: 'the AS, as its verification events name it', required: true },
      { flags: '--alg <ALG>', description: 'RSA-OAEP-256, ECDH-ES+A256KW, ... (the service lists the allowed ones when refusing)', required: true },
      { flags: '--file <FILE>', description: 'the private JWK; - reads stdin. Stored sealed, never shown again', required: true },
    ],
    service: ADMIN,
    run: async (input, io) => {
      const jwk = (await readJsonFile(input.required('file'), io)) as Record<string, unknown>;
      // The algorithm is the service's to judge: its 400 names the allowed ones.
      const body = { issuer: input.required('issuer'), alg: input.required('alg') as DecryptionAlg, jwk };
      return show(io, service(input, io).api.POST('/v1/decryption-keys', { body }));
    },
  },
  {
    words: ['decryption-keys', 'list'],
    section: KEYS,
    summary: 'the decryption keys (public parts only)',
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.GET('/v1/decryption-keys')),
  },
  {
    words: ['decryption-keys', 'disable'],
    section: KEYS,
    summary: 'for good: kept, never used to decrypt again (decryption_key_disabled)',
    operands: [{ name: 'ID', description: 'the decryption key id' }],
    service: ADMIN,
    run: (input, io) => show(io, service(input, io).api.POST('/v1/decryption-keys/{id}/disable', { params: { path: { id: input.operand(0, 'decryption key id') } } })),
  },
];
