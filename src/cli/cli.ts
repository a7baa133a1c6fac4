import { readFile } from 'node:fs/promises';
import { type CliCommand, parseCommandLine, USAGE, UsageError } from './cli-arguments';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson, reportRefusal } from './cli-io';
import { EnvelopeFileError } from './envelope-files';
import { send } from './send.command';
import { callService, ServiceUnreachableError } from './service-client';

type CallCommand = Extract<CliCommand, { command: 'call' }>;

/** An admin command: one request with the API key, the answer on stdout, a refusal's problem on stderr. */
/** The JSON of a --file (or --jwks) operand; `-` reads stdin. */
async function readJsonFile(path: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${path} is not JSON: ${(error as Error).message}`);
  }
}

async function bodyOf(request: CallCommand['request'], io: CliIo): Promise<unknown> {
  if (!request.bodyFile) return request.body;
  const content = await readJsonFile(request.bodyFile.path, io);
  return request.bodyFile.into === undefined ? content : { ...request.body, [request.bodyFile.into]: content };
}

async function call(command: CallCommand, io: CliIo): Promise<ExitCode> {
  const { method, path } = command.request;
  const body = await bodyOf(command.request, io);
  const answer = await callService(command.url, {
    method,
    path,
    headers: {
      authorization: `Bearer ${command.apiKey.reveal()}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) {
    reportRefusal(io, answer.status, answer.body);
    return EXIT.failed;
  }
  if (answer.body !== undefined) io.out(formatJson(answer.body));
  if (command.failUnlessOk && (answer.body as { ok?: unknown } | undefined)?.ok !== true) return EXIT.failed;
  return EXIT.ok;
}

async function run(command: CliCommand, io: CliIo): Promise<ExitCode> {
  switch (command.command) {
    case 'help':
      io.out(command.text);
      return EXIT.ok;
    case 'call':
      return call(command, io);
    case 'send':
      return send(command, io);
    // Loaded on demand: NestJS, TypeORM and the embedded PostgreSQL take a second to load, which the HTTP
    // commands should not pay.
    case 'verify':
      return (await import('./verify.command.js')).verify(command, io);
    case 'migrate':
      return (await import('./migrate.command.js')).migrate(io);
    case 'openapi':
      return (await import('./openapi.command.js')).writeOpenApi(command, io);
  }
}

/**
 * The whole CLI as a function of its arguments and its io, returning the exit code. Expected failures (usage,
 * a refusal, an unreachable service, an unreadable file) are reported in one line or a problem document; anything
 * else is a bug and propagates with its stack.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let command: CliCommand;
  try {
    command = parseCommandLine(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`jartrail: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await run(command, io);
  } catch (error) {
    if (error instanceof CliFailure || error instanceof ServiceUnreachableError || error instanceof EnvelopeFileError) {
      io.err(`jartrail: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}
