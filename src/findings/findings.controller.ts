import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import type { Principal } from '../access/auditor';
import { CurrentPrincipal } from '../access/current-auditor.decorator';
import { findingDetail, findingIdParam, findingsPage, findingsQuery, type FindingsQuery, triageRequest, type TriageRequest, triageView } from './dto/finding.dto';
import { FindingsService } from './findings.service';

const READ = { kind: 'auditor', scope: 'audit:read' } as const;
/** Issue 9: "scope audit:admin or a dedicated audit:triage"; a key issued with audit:admin alone triages too. */
const TRIAGE = { kind: 'auditor', scope: ['audit:triage', 'audit:admin'] } as const;

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

  @Post(':id/triage')
  @HttpCode(201)
  @Access(TRIAGE)
  @ApiOperation({
    summary: "Triage a finding: acknowledged, false positive or resolved, with a note. Append-only and ledgered; the finding's triage_status follows the latest",
    description:
      'Needs audit:triage or audit:admin, with an API key (recorded by its id and name) or an access token of the identity provider (recorded by its sub and iss).',
  })
  @ApiResponse({ status: 201, standardSchema: triageView })
  @ApiResponse({ status: 404, description: 'No finding has this id' })
  triage(@Param('id', { schema: findingIdParam }) id: string, @Body({ schema: triageRequest }) body: TriageRequest, @CurrentPrincipal() reviewer: Principal) {
    return this.findings.triage(id, body, reviewer);
  }
}
