import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import { AccessRecordsService } from './access-records.service';
import { accessRecordsQuery, type AccessRecordsQuery, accessRecordsResponse } from './dto/access-record.dto';

@ApiTags('access')
@Controller('v1/access-records')
export class AccessRecordsController {
  constructor(private readonly accessRecords: AccessRecordsService) {}

  @Get()
  @Access({ kind: 'auditor', scope: 'audit:admin' })
  @ApiOperation({ summary: 'The access log: every auditor request, answered or refused (401/403), newest first, with keyset pagination' })
  @ApiResponse({ status: 200, standardSchema: accessRecordsResponse })
  list(@Query({ schema: accessRecordsQuery }) query: AccessRecordsQuery) {
    return this.accessRecords.list(query);
  }
}
