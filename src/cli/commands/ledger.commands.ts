import type { components } from '../../client/jartrail-client';
import { type CommandSpec, wholeNumber } from '../command-spec';
import { service, show } from '../service';

const LEDGER = 'The ledger, with an API key holding audit:admin (verify) or audit:export (export-chain)';
const MASTER = 'Master keys, with an API key holding audit:admin';

export const LEDGER_COMMANDS: readonly CommandSpec[] = [
  {
    words: ['ledger', 'verify'],
    section: LEDGER,
    summary: 'the service recomputes every leaf and the tree from the stored records and checks every checkpoint',
    service: { key: 'admin', scope: 'audit:admin' },
    details: 'GET /v1/ledger/verify. Exit 1 when anything differs, naming the first record.',
    run: (input, io) => show(io, service(input, io).api.GET('/v1/ledger/verify'), { failUnlessOk: true }),
  },
  {
    words: ['ledger', 'export-chain'],
    section: LEDGER,
    summary: "a chain's records, the conflicting bodies kept against them, their inclusion proofs, signed checkpoint and JWKS as one evidence bundle, for `jartrail verify`",
    operands: [{ name: 'DIGEST', description: "the chain's digest" }],
    service: { key: 'admin', scope: 'audit:export' },
    run: (input, io) => show(io, service(input, io).api.GET('/v1/chains/{digest}/evidence', { params: { path: { digest: input.operand(0, 'chain digest') } } })),
  },
  {
    words: ['keys', 'status'],
    section: MASTER,
    summary: 'the master keys the answering replica holds, and how many sealed values each key seals',
    service: { key: 'admin', scope: 'audit:admin' },
    run: (input, io) => show(io, service(input, io).api.GET('/v1/master-keys')),
  },
  {
    words: ['keys', 'rotate-master'],
    section: MASTER,
    summary: 're-seal every value sealed under a previous master key under the current one, online',
    options: [{ flags: '--batch-size <N>', description: 'values per transaction (default 100)', parse: wholeNumber(1) }],
    service: { key: 'admin', scope: 'audit:admin' },
    details: [
      'Exit 1 unless nothing is left under another key. Every replica must run with the new JARTRAIL_MASTER_KEY and the',
      'old one in JARTRAIL_PREVIOUS_MASTER_KEYS first (docs/operations.md, "Rotating the master key").',
    ].join('\n'),
    run: (input, io) => {
      const batchSize = input.parsed<number>('batch-size');
      // Without --batch-size the service applies its default; sending none keeps that default in one place.
      const body = (batchSize === undefined ? {} : { batch_size: batchSize }) as components['schemas']['RotateMasterKeyRequest'];
      return show(io, service(input, io).api.POST('/v1/master-keys/rotate', { body }), { failUnlessOk: true });
    },
  },
];
