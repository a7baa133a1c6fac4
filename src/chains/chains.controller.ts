import { applyDecorators, Controller, Get, Headers, Param, Query } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import { evidenceBundle } from '../ledger/dto/ledger.dto';
import { ChainsService } from './chains.service';
import { fieldError, ProblemException } from '../common/problem/problem';
import { chainDocument, chainQuery, type ChainQuery, digestParam, lookupQuery, MIN_POSITION_HEADER, minPosition, type LookupQuery, lookupResponse, searchQuery, type SearchQuery, searchResponse } from './dto/chain.dto';

const READ = { kind: 'auditor', scope: 'audit:read' } as const;

const MinPositionHeader = () =>
  applyDecorators(
    ApiHeader({
      name: 'JarTrail-Min-Position',
      required: false,
      description: 'Read-your-writes, as the min_position query parameter (which wins when both are given): wait until linking has passed this position, or `latest`',
    }),
  );

/** min_position from the query, else from the header; the header is checked as strictly as the parameter. */
function minPositionOf(fromQuery: string | undefined, fromHeader: string | undefined): string | undefined {
  if (fromQuery !== undefined || fromHeader === undefined) return fromQuery;
  if (!minPosition.safeParse(fromHeader).success) {
    throw new ProblemException('invalid-request', {
      detail: 'JarTrail-Min-Position is a position an ingest answer returned, or latest',
      errors: [fieldError(['headers', MIN_POSITION_HEADER], 'invalid_position', 'a positive integer or "latest"')],
    });
  }
  return fromHeader;
}
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
  @ApiResponse({ status: 404, description: 'No chain has this digest (the problem says when committed records naming it wait for the linker)' })
  @MinPositionHeader()
  getChain(
    @Param('digest', { schema: digestParam }) digest: string,
    @Query({ schema: chainQuery }) query: ChainQuery,
    @Headers(MIN_POSITION_HEADER) header: string | undefined,
  ) {
    return this.chains.getChain(digest, minPositionOf(query.min_position, header));
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
  @MinPositionHeader()
  lookup(@Query({ schema: lookupQuery }) query: LookupQuery, @Headers(MIN_POSITION_HEADER) header: string | undefined) {
    return this.chains.lookup({ ...query, min_position: minPositionOf(query.min_position, header) });
  }

  @Get('chains')
  @Access(READ)
  @ApiOperation({ summary: 'Search chains, newest first, with keyset pagination' })
  @ApiResponse({ status: 200, standardSchema: searchResponse })
  @MinPositionHeader()
  search(@Query({ schema: searchQuery }) query: SearchQuery, @Headers(MIN_POSITION_HEADER) header: string | undefined) {
    return this.chains.search({ ...query, min_position: minPositionOf(query.min_position, header) });
  }
}
