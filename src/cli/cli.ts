import { type CliIo, CliFailure, EXIT, type ExitCode } from './cli-io';
import { parseLine, usageHint } from './command-line';
import { UsageError } from './command-spec';
import { EnvelopeFileError } from './envelope-files';
import { ServiceUnreachableError } from './service-client';

/**
 * The whole CLI as a function of its arguments and its io, returning the exit code. A usage error prints itself and
 * where the usage is (exit 2); expected failures (a refusal, an unreachable service, an unreadable file) one line or
 * a problem document (exit 1); anything else is a bug and propagates with its stack.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const line = parseLine(argv, io);
  if (line.kind === 'printed') return EXIT.ok;
  if (line.kind === 'usage') {
    io.err(usageHint(line.message, line.command));
    return EXIT.usage;
  }
  try {
    return await line.spec.run(line.input, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(usageHint(error.message, line.input.name));
      return EXIT.usage;
    }
    if (error instanceof CliFailure || error instanceof ServiceUnreachableError || error instanceof EnvelopeFileError) {
      io.err(`jartrail: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}
