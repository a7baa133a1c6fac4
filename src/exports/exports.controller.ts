import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../access/access.decorator';
import type { AuditorRequest } from '../access/access.guard';
import type { Principal } from '../access/auditor';
import { CurrentPrincipal } from '../access/current-auditor.decorator';
import { createExportRequest, type CreateExportRequest, exportIdParam, exportsPage, manifestDocument, exportsQuery, type ExportsQuery, exportView } from './dto/export.dto';
import { ExportsService } from './exports.service';

const EXPORT = { kind: 'auditor', scope: 'audit:export' } as const;

@ApiTags('exports')
@Controller('v1/exports')
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Post()
  @HttpCode(202)
  @Access(EXPORT)
  @ApiOperation({
    summary: 'Start an export of a scope as a job (ndjson, ndjson-chains, csv, pdf or ocsf); poll it, then download its file',
    description: 'An unfiltered scope (at most a seq range) exports every ledger record of the range and its manifest states it complete; docs/exports.md, docs/ocsf.md',
  })
  @ApiResponse({ status: 202, standardSchema: exportView })
  async create(@Body({ schema: createExportRequest }) body: CreateExportRequest, @CurrentPrincipal() auditor: Principal, @Req() request: AuditorRequest) {
    const job = await this.exports.create(body, auditor);
    request.accessDetail = { action: 'export_created', export_id: job.id, format: job.format, scope: job.scope };
    return job;
  }

  @Get()
  @Access(EXPORT)
  @ApiOperation({ summary: 'Export jobs, newest first, with keyset pagination' })
  @ApiResponse({ status: 200, standardSchema: exportsPage })
  list(@Query({ schema: exportsQuery }) query: ExportsQuery) {
    return this.exports.list(query);
  }

  @Get(':id')
  @Access(EXPORT)
  @ApiOperation({ summary: 'An export job: its status and progress (records done of total, bytes, ETA)' })
  @ApiResponse({ status: 200, standardSchema: exportView })
  @ApiResponse({ status: 404, description: 'No export has this id' })
  get(@Param('id', { schema: exportIdParam }) id: string) {
    return this.exports.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Access(EXPORT)
  @ApiOperation({ summary: 'Cancel a queued or running export; what it wrote is removed' })
  @ApiResponse({ status: 200, standardSchema: exportView })
  @ApiResponse({ status: 404, description: 'No export has this id' })
  @ApiResponse({ status: 409, description: 'The export has already finished' })
  cancel(@Param('id', { schema: exportIdParam }) id: string) {
    return this.exports.cancel(id);
  }

  @Delete(':id')
  @HttpCode(200)
  @Access(EXPORT)
  @ApiOperation({ summary: 'The same as POST /v1/exports/{id}/cancel' })
  @ApiResponse({ status: 200, standardSchema: exportView })
  @ApiResponse({ status: 404, description: 'No export has this id' })
  @ApiResponse({ status: 409, description: 'The export has already finished' })
  remove(@Param('id', { schema: exportIdParam }) id: string) {
    return this.exports.cancel(id);
  }

  @Get(':id/manifest')
  @Access(EXPORT)
  @ApiOperation({ summary: "The export's signed manifest (scope, format, count, SHA-256, ledger seqs, checkpoint): `jartrail verify FILE --manifest` checks the file offline" })
  @ApiResponse({ status: 200, standardSchema: manifestDocument })
  @ApiResponse({ status: 404, description: 'No export has this id' })
  @ApiResponse({ status: 409, description: 'The export is not completed' })
  manifest(@Param('id', { schema: exportIdParam }) id: string) {
    return this.exports.manifest(id);
  }

  @Get(':id/download')
  @Access(EXPORT)
  @ApiOperation({ summary: "The export's file, with Content-Length; a single bytes Range resumes an interrupted download (206)" })
  @ApiProduces('application/x-ndjson', 'text/csv', 'application/pdf')
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=START-[END] or bytes=-SUFFIX: one range; anything else is ignored and the whole file sent' })
  @ApiResponse({ status: 200, description: 'The whole file' })
  @ApiResponse({ status: 206, description: 'The range asked for (Content-Range)' })
  @ApiResponse({ status: 404, description: 'No export has this id' })
  @ApiResponse({ status: 409, description: 'The export is not completed, or has expired' })
  @ApiResponse({ status: 416, description: 'The range starts past the end of the file' })
  async download(
    @Param('id', { schema: exportIdParam }) id: string,
    @Headers('range') range: string | undefined,
    @Req() request: AuditorRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    let file;
    try {
      file = await this.exports.download(id, range);
    } catch (error) {
      if (error instanceof Error && 'status' in error && error.status === 416) {
        const bytes = (await this.exports.get(id)).progress.bytes;
        void reply.header('content-range', `bytes */${bytes}`);
      }
      throw error;
    }
    const sha256 = file.job.sha256!.toString('hex');
    // What was delivered: the whole file's hash, or the range of the file of that hash.
    request.accessDetail = {
      action: 'export_download',
      export_id: file.job.id,
      format: file.job.format,
      scope: file.job.scope,
      ...(file.range ? { file_sha256: sha256, range: `${file.range.start}-${file.range.end}`, bytes: file.length } : { sha256, bytes: file.length }),
    };
    void reply
      .header('accept-ranges', 'bytes')
      .header('etag', `"${sha256}"`)
      .header('content-disposition', `attachment; filename="${file.fileName}"`)
      .header('content-type', file.contentType);
    if (file.range) void reply.status(206).header('content-range', `bytes ${file.range.start}-${file.range.end}/${file.job.bytes}`);
    return new StreamableFile(file.body, { length: file.length, type: file.contentType });
  }
}
