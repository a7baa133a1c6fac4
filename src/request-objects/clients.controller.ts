import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import { ClientsService } from './clients.service';
import {
  clientIdParam,
  clientListResponse,
  clientResponse,
  createClientRequest,
  type CreateClientRequest,
  createDecryptionKeyRequest,
  type CreateDecryptionKeyRequest,
  decryptionKeyIdParam,
  decryptionKeyListResponse,
  decryptionKeyResponse,
  type ClientRegistration,
  toClientResponse,
  updateClientRequest,
} from './dto/client.dto';
import type { DecryptionKeyEntity } from './decryption-key.entity';

const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

const toDecryptionKeyResponse = (key: DecryptionKeyEntity) => ({
  id: key.id,
  issuer: key.issuer,
  alg: key.alg,
  kid: key.kid,
  public_jwk: key.publicJwk,
  created_at: key.createdAt.toISOString(),
  status: key.disabledAt === null ? ('enabled' as const) : ('disabled' as const),
  disabled_at: key.disabledAt?.toISOString() ?? null,
});

@ApiTags('clients')
@Controller('v1')
export class ClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Post('clients')
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Register a client: its keys and its request-object policy, for independent verification' })
  @ApiResponse({ status: 201, standardSchema: clientResponse })
  @ApiResponse({ status: 409, description: 'The client_id is registered already' })
  async create(@Body({ schema: createClientRequest }) body: CreateClientRequest) {
    const { client_id: clientId, ...registration } = body;
    return toClientResponse(await this.clients.create(clientId, registration));
  }

  @Get('clients')
  @Access(ADMIN)
  @ApiOperation({ summary: 'List registered clients' })
  @ApiResponse({ status: 200, standardSchema: clientListResponse })
  async list() {
    return { items: (await this.clients.list()).map(toClientResponse) };
  }

  @Get('clients/:client_id')
  @Access(ADMIN)
  @ApiOperation({ summary: 'Show one registered client' })
  @ApiResponse({ status: 200, standardSchema: clientResponse })
  @ApiResponse({ status: 404, description: 'No such client' })
  async get(@Param('client_id', { schema: clientIdParam }) clientId: string) {
    return toClientResponse(await this.clients.get(clientId));
  }

  @Put('clients/:client_id')
  @Access(ADMIN)
  @ApiOperation({ summary: "Replace a client's registration; verifications still pending use the new one" })
  @ApiResponse({ status: 200, standardSchema: clientResponse })
  @ApiResponse({ status: 404, description: 'No such client' })
  async update(@Param('client_id', { schema: clientIdParam }) clientId: string, @Body({ schema: updateClientRequest }) body: ClientRegistration) {
    return toClientResponse(await this.clients.update(clientId, body));
  }

  @Post('clients/:client_id/disable')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Disable a client: kept (verdicts refer to it), but its request objects are no longer verified (unverifiable, client_disabled)' })
  @ApiResponse({ status: 200, standardSchema: clientResponse })
  @ApiResponse({ status: 404, description: 'No such client' })
  async disable(@Param('client_id', { schema: clientIdParam }) clientId: string) {
    return toClientResponse(await this.clients.setEnabled(clientId, false));
  }

  @Post('clients/:client_id/enable')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Enable a disabled client again' })
  @ApiResponse({ status: 200, standardSchema: clientResponse })
  @ApiResponse({ status: 404, description: 'No such client' })
  async enable(@Param('client_id', { schema: clientIdParam }) clientId: string) {
    return toClientResponse(await this.clients.setEnabled(clientId, true));
  }

  @Post('decryption-keys')
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: "Give jartrail an AS's private key for encrypted request objects; stored sealed, only its public part is shown" })
  @ApiResponse({ status: 201, standardSchema: decryptionKeyResponse })
  async addDecryptionKey(@Body({ schema: createDecryptionKeyRequest }) body: CreateDecryptionKeyRequest) {
    return toDecryptionKeyResponse(await this.clients.addDecryptionKey(body));
  }

  @Get('decryption-keys')
  @Access(ADMIN)
  @ApiOperation({ summary: 'List the decryption keys (public parts)' })
  @ApiResponse({ status: 200, standardSchema: decryptionKeyListResponse })
  async listDecryptionKeys() {
    return { items: (await this.clients.listDecryptionKeys()).map(toDecryptionKeyResponse) };
  }

  @Post('decryption-keys/:id/disable')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Disable a decryption key for good: kept, never opened or used to decrypt again (unverifiable, decryption_key_disabled)' })
  @ApiResponse({ status: 200, standardSchema: decryptionKeyResponse })
  @ApiResponse({ status: 404, description: 'No such decryption key' })
  async disableDecryptionKey(@Param('id', { schema: decryptionKeyIdParam }) id: string) {
    return toDecryptionKeyResponse(await this.clients.disableDecryptionKey(id));
  }
}
