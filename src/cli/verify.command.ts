import { readFile } from 'node:fs/promises';
import { type ManifestDocument, verifyExport } from '../exports/export-manifest';
import { verifyDocument } from '../ledger/verification/evidence-verifier';
import type { PublicJwks } from '../ledger/verification/documents';
import type { VerificationReport } from '../ledger/verification/evidence-verifier';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson } from './cli-io';
import { readJsonFile } from './service';

export interface VerifyCommand {
  /** The document, or the downloaded export; `-` for stdin. */
  readonly file: string;
  readonly jwksFile: string | undefined;
  readonly manifestFile: string | undefined;
}

/** An export file as downloaded, byte for byte: its hash is checked. */
async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliFailure(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** A JWKS as read from a file or a URL, or a CliFailure naming where it came from. */
export function asJwks(value: unknown, from: string): PublicJwks {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) throw new CliFailure(`${from} is not a JWKS ({"keys": [...]})`);
  return value as PublicJwks;
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
  const jwks = command.jwksFile === undefined ? undefined : asJwks(await readJsonFile(command.jwksFile, io, 'the JWKS'), command.jwksFile);
  const report =
    command.manifestFile === undefined
      ? await verifyDocument(await readJsonFile(command.file, io, 'the document'), jwks)
      : await verifyExport(await readBytes(command.file, 'the export'), (await readJsonFile(command.manifestFile, io, 'the manifest')) as ManifestDocument, jwks);
  return printReport(report, io);
}

/** The report on stdout, the warning and the first failure on stderr; exit 0 only when everything verified. */
export function printReport(report: VerificationReport, io: CliIo): ExitCode {
  io.out(formatJson(report));
  if (report.keys === 'document') io.err(TRUSTED_THE_FILE_WARNING);
  if (!report.ok) io.err(`jartrail: NOT VERIFIED: ${report.first_failure?.subject}: ${report.first_failure?.detail}\n`);
  return report.ok ? EXIT.ok : EXIT.failed;
}
