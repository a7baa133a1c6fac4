import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson, reportRefusal } from './cli-io';
import { chunksOf, type EnvelopeDelivery, envelopesOf } from './envelope-files';
import type { Secret } from './secret';
import type { ServiceUrl } from './service';
import { callService, type ServiceAnswer } from './service-client';
import { signDelivery } from './webhook-signer';

/** What `jartrail send` was asked to do, checked: where, as which source, which files. */
export interface SendCommand {
  readonly url: ServiceUrl;
  readonly sourceId: string;
  readonly sourceSecret: Secret;
  /** Paths, `-` for stdin. */
  readonly files: readonly string[];
  readonly batchSize: number;
}

/** The service's default INGEST_MAX_BATCH_EVENTS: one request per 1000 events unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 1000;

/** The per-item part of POST /v1/events/batch's answer that the CLI reads to merge chunks and set its exit code. */
interface BatchAnswer {
  readonly accepted: number;
  readonly duplicates: number;
  readonly conflicts: number;
  readonly rejected: number;
  readonly results: readonly ({ readonly index: number } & Record<string, unknown>)[];
}

function isBatchAnswer(body: unknown): body is BatchAnswer {
  const candidate = body as Partial<BatchAnswer> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    ['accepted', 'duplicates', 'conflicts', 'rejected'].every((key) => typeof candidate[key as keyof BatchAnswer] === 'number') &&
    Array.isArray(candidate.results)
  );
}

/** Several chunks of one file read as one answer, with each index counted from the start of the file. */
function merge(answers: readonly { offset: number; answer: BatchAnswer }[]): BatchAnswer {
  const sum = (key: 'accepted' | 'duplicates' | 'conflicts' | 'rejected') => answers.reduce((total, { answer }) => total + answer[key], 0);
  return {
    accepted: sum('accepted'),
    duplicates: sum('duplicates'),
    conflicts: sum('conflicts'),
    rejected: sum('rejected'),
    results: answers.flatMap(({ offset, answer }) => answer.results.map((result) => ({ ...result, index: result.index + offset }))),
  };
}

async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') return io.readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

function post(command: SendCommand, io: CliIo, path: string, id: string, body: string, contentType: string): Promise<ServiceAnswer> {
  return callService(io.fetch, command.url, {
    method: 'POST',
    path: `${path}?source=${encodeURIComponent(command.sourceId)}`,
    headers: { 'content-type': contentType, ...signDelivery(command.sourceSecret, id, body, io.now()) },
    body,
  });
}

async function sendEvent(command: SendCommand, io: CliIo, name: string, delivery: Extract<EnvelopeDelivery, { kind: 'event' }>): Promise<ExitCode> {
  const answer = await post(command, io, '/v1/events', delivery.eventId, delivery.body, 'application/json');
  if (!answer.ok) {
    reportRefusal(io, answer.status, answer.body);
    // With several files, say which one the problem above is about; with one, stderr stays the problem alone.
    if (command.files.length > 1) io.err(`jartrail: ${name}: not recorded\n`);
    return EXIT.failed;
  }
  io.out(formatJson(answer.body));
  return EXIT.ok;
}

/**
 * A batch goes in chunks of --batch-size events. A refused chunk stops the file: the chunks before it are
 * recorded (and are printed), and since every item has an id, sending the file again records only the rest.
 */
async function sendBatch(command: SendCommand, io: CliIo, name: string, lines: readonly string[]): Promise<ExitCode> {
  const answered: { offset: number; answer: BatchAnswer }[] = [];
  let refused: ServiceAnswer | undefined;
  for (const [position, chunk] of chunksOf(lines, command.batchSize).entries()) {
    // The webhook-id of a batch names the delivery, not an event; each event's id is inside the body.
    const answer = await post(command, io, '/v1/events/batch', `batch-${randomUUID()}`, `${chunk.join('\n')}\n`, 'application/x-ndjson');
    if (!answer.ok || !isBatchAnswer(answer.body)) {
      refused = answer;
      break;
    }
    answered.push({ offset: position * command.batchSize, answer: answer.body });
  }
  if (answered.length > 0) io.out(formatJson(answered.length === 1 ? answered[0]!.answer : merge(answered)));
  if (refused) {
    reportRefusal(io, refused.status, refused.body);
    const sent = answered.length * command.batchSize;
    if (sent > 0 || command.files.length > 1) io.err(`jartrail: ${name}: the first ${sent} events were sent; the other ${lines.length - sent} were not\n`);
    if (refused.status === 413) io.err('jartrail: the service takes fewer or smaller events per request: try a smaller --batch-size\n');
    return EXIT.failed;
  }
  const result = merge(answered);
  if (result.rejected + result.conflicts > 0) {
    io.err(`jartrail: ${name}: ${result.rejected} rejected and ${result.conflicts} conflicting of ${lines.length} events; see their results\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/**
 * `jartrail send`: every file is read and split first, so that an unreadable file stops the command before
 * anything is sent; then each file is sent, the next one even if one was refused.
 */
export async function send(command: SendCommand, io: CliIo): Promise<ExitCode> {
  const deliveries: { name: string; delivery: EnvelopeDelivery }[] = [];
  for (const file of command.files) {
    const name = file === '-' ? '(stdin)' : file;
    deliveries.push({ name, delivery: envelopesOf(name, await readInput(file, io)) });
  }
  let exit: ExitCode = EXIT.ok;
  for (const { name, delivery } of deliveries) {
    const result = delivery.kind === 'event' ? await sendEvent(command, io, name, delivery) : await sendBatch(command, io, name, delivery.lines);
    if (result !== EXIT.ok) exit = result;
  }
  return exit;
}
