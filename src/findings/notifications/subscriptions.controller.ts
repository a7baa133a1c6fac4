import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../../access/access.decorator';
import {
  createSubscriptionRequest,
  type CreateSubscriptionRequest,
  deliveriesPage,
  deliveriesQuery,
  type DeliveriesQuery,
  subscriptionDetailResponse,
  subscriptionIdParam,
  subscriptionResponse,
  subscriptionsPage,
  subscriptionsQuery,
  type SubscriptionsQuery,
  subscriptionWithSecretResponse,
} from './dto/subscription.dto';
import { SubscriptionsService } from './subscriptions.service';

const ADMIN = { kind: 'auditor', scope: 'audit:admin' } as const;

@ApiTags('subscriptions')
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Subscribe a URL to finding notifications (signed Standard Webhooks); its whsec_ secret is shown in this answer only' })
  @ApiResponse({ status: 201, standardSchema: subscriptionWithSecretResponse })
  create(@Body({ schema: createSubscriptionRequest }) body: CreateSubscriptionRequest) {
    return this.subscriptions.create(body);
  }

  @Get()
  @Access(ADMIN)
  @ApiOperation({ summary: 'Subscriptions, newest first, with keyset pagination (never their secrets)' })
  @ApiResponse({ status: 200, standardSchema: subscriptionsPage })
  list(@Query({ schema: subscriptionsQuery }) query: SubscriptionsQuery) {
    return this.subscriptions.list(query);
  }

  @Get(':id')
  @Access(ADMIN)
  @ApiOperation({ summary: 'One subscription and how many deliveries it has by status' })
  @ApiResponse({ status: 200, standardSchema: subscriptionDetailResponse })
  @ApiResponse({ status: 404, description: 'No subscription has this id' })
  get(@Param('id', { schema: subscriptionIdParam }) id: string) {
    return this.subscriptions.get(id);
  }

  @Delete(':id')
  @HttpCode(200)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Disable a subscription: nothing more is delivered and its pending deliveries are cancelled; it is kept with its history' })
  @ApiResponse({ status: 200, standardSchema: subscriptionResponse })
  @ApiResponse({ status: 404, description: 'No subscription has this id' })
  disable(@Param('id', { schema: subscriptionIdParam }) id: string) {
    return this.subscriptions.disable(id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(201)
  @Access(ADMIN)
  @ApiOperation({ summary: 'Issue a new signing secret, effective at once (the next attempt is signed with it); shown in this answer only' })
  @ApiResponse({ status: 201, standardSchema: subscriptionWithSecretResponse })
  @ApiResponse({ status: 404, description: 'No subscription has this id' })
  @ApiResponse({ status: 409, description: 'The subscription is disabled' })
  rotateSecret(@Param('id', { schema: subscriptionIdParam }) id: string) {
    return this.subscriptions.rotateSecret(id);
  }

  @Get(':id/deliveries')
  @Access(ADMIN)
  @ApiOperation({ summary: "A subscription's deliveries, newest first, with every attempt and its outcome, and when the next is due" })
  @ApiResponse({ status: 200, standardSchema: deliveriesPage })
  @ApiResponse({ status: 404, description: 'No subscription has this id' })
  deliveries(@Param('id', { schema: subscriptionIdParam }) id: string, @Query({ schema: deliveriesQuery }) query: DeliveriesQuery) {
    return this.subscriptions.deliveries(id, query);
  }
}
