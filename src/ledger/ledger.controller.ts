import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../access/access.decorator';
import {
  checkpointList,
  checkpointListQuery,
  type CheckpointListQuery,
  checkpointView,
  consistencyProof,
  consistencyQuery,
  type ConsistencyQuery,
  inclusionProof,
  inclusionQuery,
  type InclusionQuery,
  jwks,
  rotatedKey,
  verifyReport,
} from './dto/ledger.dto';
import { LedgerService } from './ledger.service';

const READ = { kind: 'auditor', scope: 'audit:read' } as const;
const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

@ApiTags('ledger')
@Controller('v1/ledger')
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @Get('checkpoints/latest')
  @Access(READ)
  @ApiOperation({ summary: 'The latest signed checkpoint (tree size, root hash, time) as a JWS' })
  @ApiResponse({ status: 200, standardSchema: checkpointView })
  @ApiResponse({ status: 409, description: 'No checkpoint has been signed yet' })
  latest() {
    return this.ledger.latestCheckpoint();
  }

  @Get('checkpoints')
  @Access(READ)
  @ApiOperation({ summary: 'Signed checkpoints, newest first, with keyset pagination' })
  @ApiResponse({ status: 200, standardSchema: checkpointList })
  list(@Query({ schema: checkpointListQuery }) query: CheckpointListQuery) {
    return this.ledger.listCheckpoints(query);
  }

  @Post('checkpoints')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Sequence every record committed before this request and sign a checkpoint of them (the latest one if nothing is new)' })
  @ApiResponse({ status: 200, standardSchema: checkpointView })
  checkpointNow() {
    return this.ledger.checkpointNow();
  }

  @Get('proofs/inclusion')
  @Access(READ)
  @ApiOperation({ summary: 'Inclusion proof (RFC 9162 2.1.3) of a ledger record in a signed tree, by default the latest checkpoint' })
  @ApiResponse({ status: 200, standardSchema: inclusionProof })
  @ApiResponse({
    status: 422,
    description:
      'seq not sequenced yet (not_sequenced) or not in the tree (not_in_tree), tree_size beyond the ledger (beyond_tree), or no signed checkpoint covers it (no_checkpoint: tree_size is not a signed size, or seq is newer than the latest checkpoint); the problem names the field',
  })
  inclusion(@Query({ schema: inclusionQuery }) query: InclusionQuery) {
    return this.ledger.inclusionProof(query);
  }

  @Get('proofs/consistency')
  @Access(READ)
  @ApiOperation({ summary: 'Consistency proof (RFC 9162 2.1.4) between two signed tree sizes (from may be 0); `to` defaults to the latest checkpoint' })
  @ApiResponse({ status: 200, standardSchema: consistencyProof })
  @ApiResponse({ status: 422, description: 'A tree size beyond the ledger (beyond_tree) or one no checkpoint was signed at (no_checkpoint); the problem names the field' })
  consistency(@Query({ schema: consistencyQuery }) query: ConsistencyQuery) {
    return this.ledger.consistencyProof(query);
  }

  @Get('verify')
  @Access(ADMIN)
  @ApiOperation({ summary: 'Recompute every leaf and the tree from the stored records and compare with the node store and every checkpoint' })
  @ApiResponse({ status: 200, standardSchema: verifyReport })
  verify() {
    return this.ledger.verify();
  }

  @Post('signing-keys')
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Rotate the checkpoint signing key: a new key (new kid) signs from now on; old keys stay in the JWKS' })
  @ApiResponse({ status: 201, standardSchema: rotatedKey })
  @ApiResponse({ status: 409, description: 'The key is given as a file (LEDGER_SIGNING_KEY_FILE)' })
  rotate() {
    return this.ledger.rotateKey();
  }
}

@ApiTags('ledger')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly ledger: LedgerService) {}

  @Get('jwks.json')
  @Access({ kind: 'public' })
  @ApiOperation({ summary: 'Public keys of every checkpoint signing key, current and retired (no authentication)' })
  @ApiResponse({ status: 200, standardSchema: jwks })
  jwks() {
    return this.ledger.jwks();
  }
}
