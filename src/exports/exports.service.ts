import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../access/auditor';
import { Keyring } from '../common/crypto/keyring';
import { fieldError, ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { CreateExportRequest, ExportsQuery, ExportView } from './dto/export.dto';
import { CONTENT_TYPES, FILE_EXTENSIONS } from './export-formats';
import { type ExportJob, ExportsRepository } from './exports.repository';
import { ExportsWorker } from './exports.worker';
import type { ManifestClaims, ManifestDocument } from './export-manifest';
import { SigningKeysService } from '../ledger/signing-keys.service';

/** A byte range of a file, both ends included (RFC 9110 14.1.2). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ExportDownload {
  readonly job: ExportJob;
  readonly contentType: string;
  readonly fileName: string;
  /** null: the whole file. */
  readonly range: ByteRange | null;
  readonly length: number;
  readonly body: Readable;
}

/**
 * The one range of a `Range` header, resolved against the file size; null to send the whole file (no header, a
 * header that is not a single bytes range, which RFC 9110 lets a server ignore); 'unsatisfiable' for a range that
 * starts past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Chunks a download reads ahead of the one it sends (each holds a pool connection while it is read). */
const CHUNKS_READ_AHEAD = 3;

const notFound = (id: string) => new ProblemException('not-found', { detail: `no export has the id ${id}` });

@Injectable()
export class ExportsService {
  constructor(
    private readonly exports: ExportsRepository,
    private readonly worker: ExportsWorker,
    private readonly keyring: Keyring,
    private readonly signingKeys: SigningKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(request: CreateExportRequest, auditor: Principal): Promise<ExportView> {
    const scope = { ...request.scope };
    // The subject is kept (and matched) as the chain facets hold it: its pseudonym, unless configured otherwise.
    if (scope.subject !== undefined && this.config.privacy.pseudonymizeSubjects) scope.subject = this.keyring.pseudonymOf(scope.subject);
    const requestedBy = auditor.kind === 'api_key' ? { apiKeyId: auditor.apiKeyId } : { subject: auditor.subject, issuer: auditor.issuer };
    const job = await this.exports.create({ requestedBy, format: request.format, scope, proofs: request.proofs, chunkBytes: this.config.exports.chunkBytes });
    this.worker.wake();
    return toView(job);
  }

  async get(id: string): Promise<ExportView> {
    return toView(await this.require(id));
  }

  async list(query: ExportsQuery) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const jobs = await this.exports.list(query.limit + 1, after);
    const page = jobs.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(toView), next_cursor: jobs.length > query.limit && last ? encodeCursor(last) : null };
  }

  async cancel(id: string): Promise<ExportView> {
    const cancelled = await this.exports.cancel(id, this.config.exports.ttlHours);
    if (cancelled) return toView(cancelled);
    const job = await this.require(id);
    throw new ProblemException('conflict', { detail: `the export is ${job.status}: only a queued or running export can be cancelled` });
  }

  /** The signed manifest of a completed export, its claims in the clear, and the ledger's public keys. */
  async manifest(id: string): Promise<ManifestDocument> {
    const jws = await this.exports.manifest(id);
    if (jws === undefined) {
      const job = await this.require(id);
      throw new ProblemException('conflict', { detail: `the export is ${job.status}: its manifest is signed when it completes` });
    }
    const claims = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as ManifestClaims;
    return { kind: 'export_manifest', jws, manifest: claims, jwks: await this.signingKeys.jwks() };
  }

  /** The file, or the range of it asked for, read chunk by chunk from PostgreSQL. */
  async download(id: string, rangeHeader: string | undefined): Promise<ExportDownload> {
    const job = await this.require(id);
    if (job.status !== 'completed') {
      throw new ProblemException('conflict', {
        detail: job.status === 'expired' ? 'the export has expired and its file was removed: create it again' : `the export is ${job.status}: its file is ready once it is completed`,
      });
    }
    const range = parseRange(rangeHeader, job.bytes);
    if (range === 'unsatisfiable') {
      throw new ProblemException('range-not-satisfiable', {
        detail: `the file has ${job.bytes} bytes`,
        errors: [fieldError(['headers', 'range'], 'unsatisfiable', `a range within the file's ${job.bytes} bytes`)],
      });
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? job.bytes - 1;
    return {
      job,
      contentType: CONTENT_TYPES[job.format],
      fileName: `jartrail-export-${job.id}.${FILE_EXTENSIONS[job.format]}`,
      range,
      length: end - start + 1,
      body: Readable.from(this.chunks(job, start, end)),
    };
  }

  private async *chunks(job: ExportJob, start: number, end: number): AsyncGenerator<Buffer> {
    if (end < start) return;
    const { id, chunkBytes } = job;
    const first = Math.floor(start / chunkBytes);
    const last = Math.floor(end / chunkBytes);
    // Every chunk is whole but the file's last.
    const read = (no: number) => this.exports.chunk(id, no, Math.min(chunkBytes, job.bytes - no * chunkBytes));
    // The next chunks are read from PostgreSQL and decoded (on libuv's pool) while this one is sent: with one read
    // ahead, a download waited on each read and decode in turn (docs/PERFORMANCE.md, exports).
    const ahead: Promise<Buffer[] | undefined>[] = [];
    let requested = first;
    const readAhead = () => {
      while (requested <= last && ahead.length < CHUNKS_READ_AHEAD) {
        const next = read(requested++);
        // A read ahead that is never awaited (the client went away) must not become an unhandled rejection.
        next.catch(() => undefined);
        ahead.push(next);
      }
    };
    readAhead();
    for (let no = first; no <= last; no++) {
      const chunk = await ahead.shift()!;
      readAhead();
      // Removed meanwhile (expired): the answer ends short of its Content-Length, which a client sees as cut off.
      if (!chunk) throw new Error(`chunk ${no} of export ${id} is gone`);
      let offset = no * chunkBytes;
      for (const piece of chunk) {
        const from = Math.max(0, start - offset);
        const to = Math.min(piece.length, end - offset + 1);
        if (from < to) yield piece.subarray(from, to);
        offset += piece.length;
      }
    }
  }

  private async require(id: string): Promise<ExportJob> {
    const job = await this.exports.get(id);
    if (!job) throw notFound(id);
    return job;
  }
}

export function toView(job: ExportJob): ExportView {
  const total = job.recordsTotal;
  const elapsedSeconds = job.startedAt ? (Date.now() - job.startedAt.getTime()) / 1000 : 0;
  const eta =
    job.status === 'running' && total !== null && job.recordsDone > 0 ? Math.round(((total - job.recordsDone) * elapsedSeconds) / job.recordsDone) : job.status === 'completed' ? 0 : null;
  return {
    id: job.id,
    format: job.format,
    scope: job.scope,
    proofs: job.proofs,
    status: job.status,
    progress: {
      records_done: job.recordsDone,
      records_total: total,
      bytes: job.bytes,
      percent: total === null ? null : total === 0 ? 100 : Math.floor((job.recordsDone * 1000) / total) / 10,
      eta_seconds: eta,
    },
    checkpoint_tree_size: job.treeSize,
    sha256: job.sha256?.toString('hex') ?? null,
    error: job.error,
    attempts: job.attempts,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    expires_at: job.expiresAt?.toISOString() ?? null,
    download: job.status === 'completed' ? `/v1/exports/${job.id}/download` : null,
  };
}

function encodeCursor(job: ExportJob): string {
  return Buffer.from(JSON.stringify([job.createdAtExact, job.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      !Number.isNaN(Date.parse(parsed[0])) &&
      typeof parsed[1] === 'string' &&
      /^[0-9a-f-]{36}$/.test(parsed[1])
    ) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // Falls through: whatever was sent, it is not one of our cursors.
  }
  throw new ProblemException('invalid-request', {
    detail: 'the cursor is not one this API returned',
    errors: [fieldError(['cursor'], 'invalid_cursor', 'pass next_cursor of the previous page unchanged')],
  });
}
