import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../access/access.decorator';
import { ProblemFilter } from '../common/problem/problem.filter';
import { IngestService } from './ingest.service';
import { OpaqueBody } from './opaque-body';
import { SET_ERROR_CODES, SetRejection } from './security-event-token';

/**
 * RFC 8935 section 2.3: a refused SET is a 400 with `{"err", "description"}`, not a problem document. Anything
 * else (a body over the limit, the database unavailable) keeps the service's problem details.
 */
@Catch()
class SetErrorFilter implements ExceptionFilter {
  private readonly problems = new ProblemFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof SetRejection)) return this.problems.catch(exception, host);
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(400)
      .header('content-type', 'application/json')
      .send(JSON.stringify({ err: exception.err, description: exception.description }));
  }
}

@ApiTags('ingest')
@Controller('v1/sets')
@UseFilters(SetErrorFilter)
export class SetsController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @HttpCode(202)
  @Access({ kind: 'sender' })
  @OpaqueBody('event')
  @ApiOperation({ summary: 'Record one event pushed as a Security Event Token (RFC 8417, delivered per RFC 8935)' })
  @ApiConsumes('application/secevent+jwt')
  @ApiBody({
    description: "A SET signed by the source's registered key: iss the source id, aud this service, jti the event id, one event keyed by its URN",
    required: true,
    schema: {
      type: 'string',
      // A compact JWS: three base64url parts. Its payload is described by the component it names.
      pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
      description: 'A compact JWS (typ secevent+jwt) whose payload is a SecurityEventTokenClaims (#/components/schemas/SecurityEventTokenClaims)',
    },
  })
  @ApiResponse({ status: 202, description: 'Recorded and committed (also for a retransmission of a SET recorded before); empty body' })
  @ApiResponse({
    status: 400,
    description: `Refused; nothing written (a changed SET under a known jti is kept as evidence). {"err": one of ${SET_ERROR_CODES.join(', ')}, "description"}`,
    schema: { type: 'object', properties: { err: { type: 'string', enum: [...SET_ERROR_CODES] }, description: { type: 'string' } }, required: ['err', 'description'] },
  })
  async record(@Req() request: FastifyRequest): Promise<void> {
    await this.ingest.ingestSecurityEventToken({
      contentType: request.headers['content-type'],
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    });
  }
}
