import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import { findingDetail, findingIdParam, findingsPage, findingsQuery, type FindingsQuery } from './dto/finding.dto';
import { FindingsService } from './findings.service';

const READ = { kind: 'auditor', scope: 'audit:read' } as const;

@ApiTags('findings')
@Controller('v1/findings')
export class FindingsController {
  constructor(private readonly findings: FindingsService) {}

  @Get()
  @Access(READ)
  @ApiOperation({ summary: 'Findings, newest first, with keyset pagination: what the rules found in the chains' })
  @ApiResponse({ status: 200, standardSchema: findingsPage })
  list(@Query({ schema: findingsQuery }) query: FindingsQuery) {
    return this.findings.list(query);
  }

  @Get(':id')
  @Access(READ)
  @ApiOperation({ summary: 'One finding, its evidence and its history' })
  @ApiResponse({ status: 200, standardSchema: findingDetail })
  @ApiResponse({ status: 404, description: 'No finding has this id' })
  get(@Param('id', { schema: findingIdParam }) id: string) {
    return this.findings.get(id);
  }
}
