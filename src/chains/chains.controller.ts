import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import { evidenceBundle } from '../ledger/dto/ledger.dto';
import { ChainsService } from './chains.service';
import { chainDocument, digestParam, lookupQuery, type LookupQuery, lookupResponse, searchQuery, type SearchQuery, searchResponse } from './dto/chain.dto';

const READ = { kind: 'auditor', scope: 'audit:read' } as const;
const EXPORT = { kind: 'auditor', scope: 'audit:export' } as const;

@ApiTags('chains')
@Controller('v1')
export class ChainsController {
  constructor(private readonly chains: ChainsService) {}

  @Get('chains/:digest')
  @Access(READ)
  @ApiOperation({ summary: 'The whole chain of a request object as one document' })
  @ApiResponse({ status: 200, standardSchema: chainDocument })
  @ApiResponse({ status: 300, description: 'The digest is the inner digest of several chains; the problem lists them' })
  @ApiResponse({ status: 404, description: 'No chain has this digest' })
  getChain(@Param('digest', { schema: digestParam }) digest: string) {
    return this.chains.getChain(digest);
  }

  @Get('chains/:digest/evidence')
  @Access(EXPORT)
  @ApiOperation({ summary: "The chain's records with their inclusion proofs in the latest signed checkpoint and the JWKS: verifiable offline with `jartrail verify`" })
  @ApiResponse({ status: 200, standardSchema: evidenceBundle })
  @ApiResponse({ status: 404, description: 'No chain has this digest' })
  @ApiResponse({ status: 409, description: 'No checkpoint has been signed yet' })
  getEvidence(@Param('digest', { schema: digestParam }) digest: string) {
    return this.chains.getEvidence(digest);
  }

  @Get('lookup')
  @Access(READ)
  @ApiOperation({ summary: 'From any record (token, tool call, side effect, request_uri) back to its chain' })
  @ApiResponse({ status: 200, standardSchema: lookupResponse })
  @ApiResponse({ status: 404, description: 'No record matches' })
  lookup(@Query({ schema: lookupQuery }) query: LookupQuery) {
    return this.chains.lookup(query);
  }

  @Get('chains')
  @Access(READ)
  @ApiOperation({ summary: 'Search chains, newest first, with keyset pagination' })
  @ApiResponse({ status: 200, standardSchema: searchResponse })
  search(@Query({ schema: searchQuery }) query: SearchQuery) {
    return this.chains.search(query);
  }
}
