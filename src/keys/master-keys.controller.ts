import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import type { AuditorRequest } from '../access/access.guard';
import {
  DEFAULT_ROTATION_BATCH_SIZE,
  masterKeyStatusResponse,
  rotateMasterKeyRequest,
  type RotateMasterKeyRequest,
  rotationReportResponse,
  toMasterKeyStatusResponse,
  toRotationReportResponse,
} from './dto/master-keys.dto';
import { MasterKeysService } from './master-keys.service';

const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

@ApiTags('master-keys')
@Controller('v1/master-keys')
export class MasterKeysController {
  constructor(private readonly keys: MasterKeysService) {}

  @Get()
  @Access(ADMIN)
  @ApiOperation({ summary: 'The master keys this replica holds, and how many sealed values each key seals' })
  @ApiResponse({ status: 200, standardSchema: masterKeyStatusResponse })
  async status() {
    return toMasterKeyStatusResponse(await this.keys.status());
  }

  @Post('rotate')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: "Re-seal every value sealed under a previous master key under this replica's current one, in batches, online; recorded in the access log with the key ids" })
  @ApiResponse({ status: 200, standardSchema: rotationReportResponse })
  async rotate(@Req() request: AuditorRequest, @Body({ schema: rotateMasterKeyRequest.optional() }) body: RotateMasterKeyRequest | undefined) {
    const status = await this.keys.status();
    // Recorded before the work starts, so that a rotation that fails half way is in the access log with its keys.
    request.accessDetail = {
      action: 'master_key_rotation',
      from_key_ids: status.sealed.filter((count) => count.keyId !== status.currentKeyId).map((count) => count.keyId),
      to_key_id: status.currentKeyId,
    };
    const report = toRotationReportResponse(await this.keys.rotate(body?.batch_size ?? DEFAULT_ROTATION_BATCH_SIZE));
    request.accessDetail = { ...request.accessDetail, ok: report.ok, resealed: report.resealed };
    return report;
  }
}
