import { constants } from 'node:fs';
import { access, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JartrailClient, components } from '../client/jartrail-client';
import { canonicalJson } from '../common/canonical-json';
import { type ManifestDocument, verifyExport } from '../exports/export-manifest';
import type { PublicJwks } from '../ledger/verification/documents';
import { CliFailure, type CliIo, EXIT, type ExitCode, reportRefusal } from './cli-io';
import { Progress } from './progress';
import { readJsonFile, type ServiceUrl } from './service';
import { ServiceUnreachableError } from './service-client';
import { asJwks, printReport } from './verify.command';

export type ExportRequest = components['schemas']['CreateExportRequest'];
type ExportJob = components['schemas']['Export'];

/** What `jartrail export` was asked for, checked. */
export interface ExportOrder {
  readonly url: ServiceUrl;
  readonly api: JartrailClient;
  readonly request: ExportRequest;
  /** Where the verified file goes; beside it FILE.part (the download so far), FILE.part.json (the job), FILE.manifest.json. */
  readonly output: string;
  /** A pinned JWKS: a file, or an http(s) URL; undefined: the service's own. */
  readonly jwks: string | undefined;
  /** How often the job's progress is asked for. */
  readonly pollMs: number;
}

/**
 * What lets a later run of the same command carry on: the job it created, for which service and request. Written
 * before anything is downloaded, so that however the process ends (Ctrl-C, a kill, a lost connection), the job and
 * the bytes in FILE.part are found again. Documented in docs/exports.md ("The command line").
 */
interface ExportState {
  readonly kind: 'jartrail-export-download';
  readonly service: string;
  readonly request: ExportRequest;
  readonly export_id: string;
  readonly created_at: string;
}

/** The job stopped (failed, cancelled, expired, gone) and cannot be downloaded: a new one is needed. */
class JobGone extends Error {}

/** The user pressed Ctrl-C (or the process got SIGTERM). */
class Interrupted extends Error {}

/** A failure that may pass: the service unavailable (502, 503, 504, 429), unreachable, or a connection cut. */
class Transient extends Error {}

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
/** Tries of one step before giving up (the waits double from 1 s: about a minute in all). */
const MAX_TRIES = 7;

/**
 * Runs one step again while it fails for a reason that may pass, waiting longer each time; after MAX_TRIES it gives
 * up with what to do (run again: the state is kept). Anything else fails at once.
 */
async function patiently<T>(what: string, io: CliIo, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await step();
    } catch (error) {
      if (signal.aborted) throw error;
      const transient = error instanceof Transient || error instanceof ServiceUnreachableError;
      if (!transient) throw error;
      if (tries >= MAX_TRIES) throw new CliFailure(`${what}: ${(error as Error).message}; gave up after ${tries} tries: run the same command again to resume`);
      const waitMs = 1000 * 2 ** (tries - 1);
      io.err(`jartrail: ${what}: ${(error as Error).message}; trying again in ${waitMs / 1000} s\n`);
      await sleep(waitMs, undefined, { signal });
    }
  }
}

const statePathOf = (output: string) => `${output}.part.json`;
const partPathOf = (output: string) => `${output}.part`;
const manifestPathOf = (output: string) => `${output}.manifest.json`;

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readState(path: string): Promise<ExportState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliFailure(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const state = JSON.parse(text) as Partial<ExportState>;
    return state.kind === 'jartrail-export-download' && typeof state.export_id === 'string' ? (state as ExportState) : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so that a process killed while writing leaves the old state or the new. */
async function writeState(path: string, state: ExportState): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

function refused(answer: { error?: unknown; response: Response }, io: CliIo, what: string): never {
  reportRefusal(io, answer.response.status, answer.error);
  throw new CliFailure(`${what}: the service answered ${answer.response.status}`);
}

/**
 * `jartrail export`: creates the export job (or finds the one a previous run of the same command created), follows
 * its progress, downloads the file with Range into FILE.part (resuming what a previous run got), fetches the signed
 * manifest and verifies the file against it with the code `jartrail verify --manifest` uses; only a verified file
 * is renamed to FILE. Ctrl-C leaves FILE.part and FILE.part.json for the next run.
 */
export async function runExport(order: ExportOrder, io: CliIo): Promise<ExitCode> {
  const abort = new AbortController();
  const stopListening = io.onInterrupt(() => abort.abort(new Interrupted()));
  const progress = new Progress(io);
  // Whatever else goes to stderr starts on a line of its own, not after a bar drawn in place.
  const said: CliIo = {
    ...io,
    err: (text) => {
      progress.done();
      io.err(text);
    },
  };
  try {
    return await exportAndVerify(order, said, abort.signal, progress);
  } catch (error) {
    if (abort.signal.aborted) {
      progress.done();
      const part = await sizeOf(partPathOf(order.output));
      io.err(
        `jartrail: interrupted${part === undefined ? '' : ` with ${part} bytes in ${partPathOf(order.output)}`}; the job goes on in the service: run the same command again to resume\n`,
      );
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    progress.done();
    stopListening();
  }
}

async function exportAndVerify(order: ExportOrder, io: CliIo, signal: AbortSignal, progress: Progress): Promise<ExitCode> {
  const statePath = statePathOf(order.output);
  const partPath = partPathOf(order.output);
  // Checked before a job is created for nothing: FILE.part.json and FILE.part go beside FILE.
  const folder = dirname(order.output);
  try {
    await access(folder, constants.W_OK);
  } catch (error) {
    throw new CliFailure(`cannot write into ${folder}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let state = await readState(statePath);
  if (state && (state.service !== order.url || canonicalJson(state.request) !== canonicalJson(order.request))) {
    io.err(`jartrail: ${statePath} is of another export (another scope, format or service); starting a new one\n`);
    state = undefined;
    await rm(partPath, { force: true });
  }

  let job: ExportJob | undefined;
  if (state) {
    io.err(`jartrail: resuming export ${state.export_id}${(await sizeOf(partPath)) ? `, ${await sizeOf(partPath)} bytes already in ${partPath}` : ''}\n`);
    try {
      job = await completed(order, state.export_id, io, signal, progress);
    } catch (error) {
      if (!(error instanceof JobGone)) throw error;
      io.err(`jartrail: ${error.message}; starting a new export\n`);
      await rm(partPath, { force: true });
    }
  }
  if (!job) {
    const created = await order.api.POST('/v1/exports', { body: order.request, signal });
    if (!created.data) refused(created, io, 'the export was not created');
    state = { kind: 'jartrail-export-download', service: order.url, request: order.request, export_id: created.data.id, created_at: created.data.created_at };
    await rm(partPath, { force: true });
    await writeState(statePath, state);
    io.err(`jartrail: export ${created.data.id} created (${order.request.format}); ${statePath} keeps it for a rerun\n`);
    try {
      job = await completed(order, created.data.id, io, signal, progress);
    } catch (error) {
      if (!(error instanceof JobGone)) throw error;
      await rm(statePath, { force: true });
      throw new CliFailure(error.message);
    }
  }

  const downloaded = job;
  await patiently(`downloading export ${job.id}`, io, signal, () => download(order, downloaded, io, signal, progress));
  const manifestAnswer = await patiently(`fetching the manifest of export ${job.id}`, io, signal, async () => {
    const answer = await order.api.GET('/v1/exports/{id}/manifest', { params: { path: { id: downloaded.id } }, signal });
    if (TRANSIENT_STATUSES.has(answer.response.status)) throw new Transient(`the service answered ${answer.response.status}`);
    return answer;
  });
  if (!manifestAnswer.data) refused(manifestAnswer, io, 'the manifest could not be fetched');
  const manifest = manifestAnswer.data as unknown as ManifestDocument;
  const jwks = await pinnedJwks(order, io, signal);

  // The same check as `jartrail verify FILE --manifest MANIFEST --jwks JWKS`, over the bytes as downloaded.
  const report = await verifyExport(await readFile(partPath), manifest, jwks);
  const exit = printReport(report, io);
  if (exit !== EXIT.ok) {
    // Kept neither as FILE nor as a part to resume from: the next run downloads the job's file again, whole.
    await rm(partPath, { force: true });
    io.err(`jartrail: the download was refused and removed; ${order.output} was not written\n`);
    return exit;
  }
  await writeFile(manifestPathOf(order.output), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(partPath, order.output);
  await rm(statePath, { force: true });
  io.err(
    `jartrail: wrote ${order.output} (${job.progress.records_done} records, ${job.progress.bytes} bytes, verified) and ${manifestPathOf(order.output)}; ` +
      `check it again offline with: jartrail verify ${order.output} --manifest ${manifestPathOf(order.output)} --jwks JWKS\n`,
  );
  return EXIT.ok;
}

/** Polls the job until it is completed, showing its progress; JobGone when it will never be. */
async function completed(order: ExportOrder, id: string, io: CliIo, signal: AbortSignal, progress: Progress): Promise<ExportJob> {
  for (;;) {
    const answer = await patiently(`following export ${id}`, io, signal, async () => {
      const polled = await order.api.GET('/v1/exports/{id}', { params: { path: { id } }, signal });
      if (TRANSIENT_STATUSES.has(polled.response.status)) throw new Transient(`the service answered ${polled.response.status}`);
      return polled;
    });
    if (answer.response.status === 404) throw new JobGone(`export ${id} no longer exists`);
    if (!answer.data) refused(answer, io, `export ${id} could not be read`);
    const job = answer.data;
    switch (job.status) {
      case 'completed':
        progress.show(`export ${job.status}`, job.progress.records_done, job.progress.records_total ?? job.progress.records_done, 'records', 0);
        progress.done();
        return job;
      case 'failed':
        throw new JobGone(`export ${id} failed: ${job.error ?? 'no reason given'}`);
      case 'cancelled':
      case 'expired':
        throw new JobGone(`export ${id} was ${job.status}`);
      default:
        progress.show(`export ${job.status}`, job.progress.records_done, job.progress.records_total, 'records', job.progress.eta_seconds);
    }
    await sleep(order.pollMs, undefined, { signal });
  }
}

/**
 * Downloads the job's file into FILE.part, from where a previous run stopped (Range: bytes=N-). A 200 (the server
 * ignored the range) starts the part again; a 416 means the part is already whole, or longer than the file.
 */
async function download(order: ExportOrder, job: ExportJob, io: CliIo, signal: AbortSignal, progress: Progress): Promise<void> {
  const partPath = partPathOf(order.output);
  const total = job.progress.bytes;
  let have = (await sizeOf(partPath)) ?? 0;
  if (have > total) {
    await rm(partPath, { force: true });
    have = 0;
  }
  if (have === total && total > 0) return;
  const answer = await order.api.GET('/v1/exports/{id}/download', {
    params: { path: { id: job.id }, header: have > 0 ? { Range: `bytes=${have}-` } : {} },
    parseAs: 'stream',
    signal,
  });
  const { response } = answer;
  if (TRANSIENT_STATUSES.has(response.status)) throw new Transient(`the service answered ${response.status}`);
  if (response.status !== 200 && response.status !== 206) refused(answer, io, `export ${job.id} could not be downloaded`);
  // The file of a job never changes; an entity tag that is not its SHA-256 means this is not the file the job made.
  const etag = response.headers.get('etag');
  if (etag !== null && job.sha256 !== null && etag !== `"${job.sha256}"`) throw new CliFailure(`the download's entity tag ${etag} is not the export's SHA-256 ${job.sha256}`);
  if (response.status === 206) {
    const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
    if (Number(start) !== have) throw new CliFailure(`asked for the file from byte ${have}, got ${response.headers.get('content-range') ?? 'no Content-Range'}`);
  } else {
    have = 0;
  }
  const file = await open(partPath, have === 0 ? 'w' : 'a');
  try {
    progress.show('downloading', have, total, 'bytes', null);
    try {
      // An empty file (an export of no records) has no body at all.
      for await (const chunk of (answer.data ?? []) as unknown as AsyncIterable<Uint8Array>) {
        await file.write(chunk);
        have += chunk.length;
        progress.show('downloading', have, total, 'bytes', null);
      }
    } catch (error) {
      // What arrived is in the part; the next try asks for the rest.
      if (signal.aborted) throw error;
      throw new Transient(`the connection broke after ${have} of ${total} bytes (${(error as Error).message})`);
    }
  } finally {
    await file.close();
  }
  progress.done();
  if (have !== total) throw new Transient(`the download ended after ${have} of ${total} bytes`);
}

/** --jwks as a file or a URL; without it, the service's /.well-known/jwks.json, and a note of what that proves. */
async function pinnedJwks(order: ExportOrder, io: CliIo, signal: AbortSignal): Promise<PublicJwks> {
  const given = order.jwks;
  if (given !== undefined && /^https?:\/\//i.test(given)) {
    let response: Response;
    try {
      response = await io.fetch(given, { signal });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new CliFailure(`cannot fetch the JWKS ${given}: ${(error as Error).message}`);
    }
    if (!response.ok) throw new CliFailure(`cannot fetch the JWKS ${given}: ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new CliFailure(`the JWKS ${given} is not JSON`);
    }
    return asJwks(body, given);
  }
  if (given !== undefined) return asJwks(await readJsonFile(given, io, 'the JWKS'), given);
  const answer = await order.api.GET('/.well-known/jwks.json', { signal });
  if (!answer.data) refused(answer, io, "the service's JWKS could not be fetched");
  io.err(
    `jartrail: the signatures are checked against the service's own keys (${order.url}/.well-known/jwks.json); ` +
      'pin the keys you keep from a channel the operator does not control with --jwks\n',
  );
  return asJwks(answer.data, `${order.url}/.well-known/jwks.json`);
}
