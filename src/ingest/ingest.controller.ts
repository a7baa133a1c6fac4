import { applyDecorators, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../access/access.decorator';
import { BATCH_SCHEMA } from './dto/event-contract.dto';
import { batchExamples, singleEventExamples } from './dto/event-examples';
import { batchResult, eventResult } from './dto/ingest.dto';
import { IngestService } from './ingest.service';
import type { Delivery } from './sender-authentication';
import { OpaqueBody } from './opaque-body';

/** OpenAPI for the sender's credentials: the source in the URL, the Standard Webhooks signature headers. */
const SignedDelivery = () =>
  applyDecorators(
    ApiQuery({ name: 'source', required: true, description: 'The id of the sending source' }),
    ApiHeader({ name: 'webhook-id', required: true, description: 'The event id (single event) or the delivery id (batch)' }),
    ApiHeader({ name: 'webhook-timestamp', required: true, description: 'Unix seconds; at most 5 minutes off' }),
    // webhook-signature is the operation's security scheme (openapi-document.ts), not a parameter.
    ApiResponse({ status: 401, description: 'Unknown source, missing or invalid signature, timestamp out of tolerance' }),
    ApiResponse({ status: 413, description: 'The body is over the size limit' }),
    ApiResponse({ status: 415, description: 'Not application/json (or NDJSON for a batch)' }),
  );

function deliveryOf(request: FastifyRequest): Delivery {
  const query = request.query as Record<string, string | undefined>;
  return {
    sourceId: query.source,
    contentType: request.headers['content-type'],
    headers: request.headers,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  };
}

@ApiTags('ingest')
@Controller('v1/events')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @HttpCode(202)
  @Access({ kind: 'sender' })
  @OpaqueBody('event')
  @ApiOperation({ summary: 'Record one event (Standard Webhooks envelope, signed with the source secret)' })
  @ApiBody({
    description: 'One envelope: {"type", "timestamp", "data"}; the type selects the schema of data',
    required: true,
    schema: { $ref: '#/components/schemas/Event' },
    examples: singleEventExamples,
  })
  @ApiResponse({ status: 202, description: 'Recorded and committed', standardSchema: eventResult })
  @ApiResponse({ status: 200, description: 'Recorded earlier with the same body: nothing changed', standardSchema: eventResult })
  @ApiResponse({ status: 409, description: 'Recorded earlier with another body; this one is kept as evidence of the conflict' })
  @ApiResponse({ status: 422, description: 'Not a valid envelope, an unknown type, or data that does not match the type (problem details naming each field)' })
  @ApiResponse({ status: 403, description: "The source's kind may not send this type, or the source is disabled" })
  @SignedDelivery()
  async recordOne(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const result = await this.ingest.ingestOne(deliveryOf(request));
    if (result.status === 'duplicate') void reply.status(200);
    return { event_id: result.event_id, status: result.status, position: result.position };
  }

  @Post('batch')
  @HttpCode(200)
  @Access({ kind: 'sender' })
  @OpaqueBody('batch')
  @ApiOperation({ summary: 'Record a batch of events (JSON array or NDJSON), with a result for each' })
  @ApiBody({
    description: 'Envelopes, each with its own "id": a JSON array, or NDJSON (application/x-ndjson, also application/jsonl) with one envelope a line',
    required: true,
    schema: BATCH_SCHEMA,
    examples: batchExamples,
  })
  @ApiResponse({ status: 200, description: 'Every valid event was committed; see each result', standardSchema: batchResult })
  @SignedDelivery()
  recordBatch(@Req() request: FastifyRequest) {
    return this.ingest.ingestBatch(deliveryOf(request));
  }
}
