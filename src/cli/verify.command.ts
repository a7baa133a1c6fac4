import { readFile } from 'node:fs/promises';
import { type ManifestDocument, verifyExport } from '../exports/export-manifest';
import { verifyDocument } from '../ledger/verification/evidence-verifier';
import type { PublicJwks } from '../ledger/verification/documents';
import type { CliCommand } from './cli-arguments';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson } from './cli-io';

export type VerifyCommand = Extract<CliCommand, { command: 'verify' }>;

async function readJson(path: string, io: CliIo, what: string): Promise<unknown> {
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${what} ${path} is not JSON: ${(error as Error).message}`);
  }
}

/** An export file as downloaded, byte for byte: its hash is checked. */
async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliFailure(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Printed on stderr whenever the signatures were checked with the keys the document itself carries. */
export const TRUSTED_THE_FILE_WARNING = [
  '',
  '!!! WARNING: no --jwks given: the signatures were checked with the keys INSIDE THE FILE.',
  '!!! Whoever made the file chose those keys, so this proves nothing against them: a forger signs with a key of',
  '!!! their own and ships it in the file. Verify again with --jwks JWKS, the public keys you keep from a channel',
  '!!! the operator does not control (the report says "keys": "document").',
  '',
].join('\n');

/**
 * `jartrail verify FILE [--jwks JWKS]` (or `EXPORT --manifest MANIFEST [--jwks JWKS]`): the offline verifier. Reads the document and the keys from files only; no
 * network, no database. Prints the report (every check, the first that failed, and whose keys it trusted) on stdout;
 * exit 1 unless all hold. Without --jwks it uses the keys inside the document, and says so loudly on stderr.
 */
export async function verify(command: VerifyCommand, io: CliIo): Promise<ExitCode> {
  const jwks = command.jwksFile === undefined ? undefined : ((await readJson(command.jwksFile, io, 'the JWKS')) as PublicJwks);
  if (jwks !== undefined && !Array.isArray(jwks.keys)) throw new CliFailure(`${command.jwksFile} is not a JWKS ({"keys": [...]})`);
  const report =
    command.manifestFile === undefined
      ? await verifyDocument(await readJson(command.file, io, 'the document'), jwks)
      : await verifyExport(await readBytes(command.file, 'the export'), (await readJson(command.manifestFile, io, 'the manifest')) as ManifestDocument, jwks);
  io.out(formatJson(report));
  if (report.keys === 'document') io.err(TRUSTED_THE_FILE_WARNING);
  if (!report.ok) io.err(`jartrail: NOT VERIFIED: ${report.first_failure?.subject}: ${report.first_failure?.detail}\n`);
  return report.ok ? EXIT.ok : EXIT.failed;
}
