import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import { ApiKeysService } from './api-keys.service';
import {
  apiKeyIdParam,
  apiKeyListResponse,
  apiKeyResponse,
  createApiKeyRequest,
  type CreateApiKeyRequest,
  issuedApiKeyResponse,
  toApiKeyResponse,
} from './dto/api-key.dto';

const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

@ApiTags('access')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Make an auditor API key; the key is shown in this answer only' })
  @ApiResponse({ status: 201, standardSchema: issuedApiKeyResponse })
  async create(@Body({ schema: createApiKeyRequest }) body: CreateApiKeyRequest) {
    const issued = await this.apiKeys.issue(body.name, body.scopes);
    return { ...toApiKeyResponse(issued.apiKey), key: issued.key };
  }

  @Get()
  @Access(ADMIN)
  @ApiOperation({ summary: 'List API keys (never the keys themselves)' })
  @ApiResponse({ status: 200, standardSchema: apiKeyListResponse })
  async list() {
    return { items: (await this.apiKeys.list()).map(toApiKeyResponse) };
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiResponse({ status: 200, standardSchema: apiKeyResponse })
  async revoke(@Param('id', { schema: apiKeyIdParam }) id: string) {
    return toApiKeyResponse(await this.apiKeys.revoke(id));
  }
}
