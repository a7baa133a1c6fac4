import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { Access } from '../access/access.decorator';
import {
  createSourceRequest,
  type CreateSourceRequest,
  DEFAULT_GRACE_PERIOD_SECONDS,
  rotateSecretRequest,
  setKeysRequest,
  type SetKeysRequest,
  type PublicKeySet,
  sourceIdParam,
  sourceListResponse,
  sourceResponse,
  sourceWithSecretResponse,
  toSourceResponse,
} from './dto/source.dto';
import { SourcesService } from './sources.service';

const setKeysOf = (body: { set_jwks?: unknown; set_jwks_uri?: string }) => ({
  ...(body.set_jwks !== undefined && { jwks: body.set_jwks as PublicKeySet }),
  ...(body.set_jwks_uri !== undefined && { jwksUri: body.set_jwks_uri }),
});

const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

@ApiTags('sources')
@Controller('v1/sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Post()
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Register a webhook source; its signing secret is shown in this answer only' })
  @ApiResponse({ status: 201, standardSchema: sourceWithSecretResponse })
  async create(@Body({ schema: createSourceRequest }) body: CreateSourceRequest) {
    const created = await this.sources.create(body.name, body.kind, setKeysOf(body));
    return { ...toSourceResponse(created.source), secret: created.secret };
  }

  @Get()
  @Access(ADMIN)
  @ApiOperation({ summary: 'List sources with the metadata of their valid secrets' })
  @ApiResponse({ status: 200, standardSchema: sourceListResponse })
  async list() {
    return { items: (await this.sources.list()).map(toSourceResponse) };
  }

  @Get(':id')
  @Access(ADMIN)
  @ApiOperation({ summary: 'Show one source' })
  @ApiResponse({ status: 200, standardSchema: sourceResponse })
  async get(@Param('id', { schema: sourceIdParam }) id: string) {
    return toSourceResponse(await this.sources.get(id));
  }

  @Put(':id/set-keys')
  @Access(ADMIN)
  @ApiOperation({ summary: 'Register the keys the source signs Security Event Tokens with (a JWKS or a jwks_uri; neither removes them)' })
  @ApiResponse({ status: 200, standardSchema: sourceResponse })
  async setSetKeys(@Param('id', { schema: sourceIdParam }) id: string, @Body({ schema: setKeysRequest }) body: SetKeysRequest) {
    return toSourceResponse(await this.sources.setSetKeys(id, setKeysOf(body)));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Disable a source: its events are refused (403) until it is enabled again' })
  @ApiResponse({ status: 200, standardSchema: sourceResponse })
  async disable(@Param('id', { schema: sourceIdParam }) id: string) {
    return toSourceResponse(await this.sources.setEnabled(id, false));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Enable a disabled source' })
  @ApiResponse({ status: 200, standardSchema: sourceResponse })
  async enable(@Param('id', { schema: sourceIdParam }) id: string) {
    return toSourceResponse(await this.sources.setEnabled(id, true));
  }

  @Post(':id/rotate-secret')
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Issue a new signing secret; the previous ones stay valid for the grace period' })
  @ApiResponse({ status: 201, standardSchema: sourceWithSecretResponse })
  async rotateSecret(
    @Param('id', { schema: sourceIdParam }) id: string,
    @Body({ schema: rotateSecretRequest.optional() }) body: z.infer<typeof rotateSecretRequest> | undefined,
  ) {
    const rotated = await this.sources.rotateSecret(id, body?.grace_period_seconds ?? DEFAULT_GRACE_PERIOD_SECONDS);
    return { ...toSourceResponse(rotated.source), secret: rotated.secret };
  }
}
