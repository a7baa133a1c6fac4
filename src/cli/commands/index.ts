import type { CommandSpec } from '../command-spec';
import { ACCESS_COMMANDS } from './access.commands';
import { CLIENTS_COMMANDS } from './clients.commands';
import { EXPORT_COMMANDS } from './export.commands';
import { LEDGER_COMMANDS } from './ledger.commands';
import { OPERATIONS_COMMANDS } from './operations.commands';
import { SOURCES_COMMANDS } from './sources.commands';

/** Every command of the CLI, in the order of the overview (`jartrail --help`). */
export const COMMANDS: readonly CommandSpec[] = [
  ...SOURCES_COMMANDS,
  ...CLIENTS_COMMANDS,
  ...ACCESS_COMMANDS,
  ...LEDGER_COMMANDS,
  ...EXPORT_COMMANDS,
  ...OPERATIONS_COMMANDS,
];

/** What `jartrail GROUP --help` says about a group of commands. */
export const GROUPS: Readonly<Record<string, string>> = {
  sources: 'the sources that send events (webhook senders), with an API key holding audit:admin',
  clients: 'the clients whose request objects jartrail verifies itself, with an API key holding audit:admin',
  'decryption-keys': 'keys to open encrypted request objects, with an API key holding audit:admin',
  'api-keys': 'auditor API keys, with an API key holding audit:admin',
  keys: 'master keys, with an API key holding audit:admin',
  ledger: 'the ledger: a full verification, evidence bundles',
  exports: 'export jobs, with an API key holding audit:export (jartrail export makes and downloads one)',
};
