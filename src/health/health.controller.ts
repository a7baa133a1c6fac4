import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Access } from '../access/access.decorator';
import { LinkQueueRepository } from '../chains/link-queue.repository';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { FindingsRepository } from '../findings/findings.repository';
import { NotificationOutboxRepository } from '../findings/notifications/notification-outbox.repository';

/** A database that does not answer within this is as good as down for a readiness probe. */
const DATABASE_PING_TIMEOUT_MS = 1500;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly linkQueue: LinkQueueRepository,
    private readonly findings: FindingsRepository,
    private readonly notifications: NotificationOutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('live')
  @Access({ kind: 'public' })
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @Access({ kind: 'public' })
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: the database answers a ping within 1.5 s; `linker` gauges linking lag (pending_records, oldest_pending_seconds, linked_below), degraded past LINKER_LAG_WARNING_SECONDS; `findings` gauges the evaluation queue (pending_subjects, oldest_due_seconds), degraded past the same threshold; `notifications` gauges the delivery backlog (pending_deliveries, oldest_due_seconds), never degraded by it',
  })
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      () => this.linkerLag(),
      () => this.findingsLag(),
      () => this.notificationBacklog(),
    ]);
  }

  /**
   * Linking lag as a gauge: a lagging linker degrades readiness without failing it (the evidence is committed and
   * the service answers; only derived chains are late), so a load balancer keeps the replica while alerts fire.
   */
  private async linkerLag() {
    const linker = this.indicators.check('linker');
    const progress = await this.linkQueue.progress().catch(() => undefined);
    if (!progress) return linker.down({ message: 'the link queue cannot be read' });
    const gauge = { pending_records: progress.pendingRecords, oldest_pending_seconds: progress.oldestPendingSeconds, linked_below: progress.linkedBelow };
    return progress.oldestPendingSeconds > this.config.linker.lagWarningSeconds ? linker.degraded(gauge) : linker.up(gauge);
  }

  /**
   * The delivery backlog as a gauge only: it grows while a receiver is down, which says nothing about this replica's
   * readiness, so it never degrades it (alert on oldest_due_seconds instead).
   */
  private async notificationBacklog() {
    const notifications = this.indicators.check('notifications');
    const backlog = await this.notifications.backlog().catch(() => undefined);
    if (!backlog) return notifications.down({ message: 'the notification outbox cannot be read' });
    return notifications.up({ pending_deliveries: backlog.pendingDeliveries, oldest_due_seconds: backlog.oldestDueSeconds });
  }

  /** Findings lag behind linking the same way: derived data, late but not lost. */
  private async findingsLag() {
    const findings = this.indicators.check('findings');
    const progress = await this.findings.progress().catch(() => undefined);
    if (!progress) return findings.down({ message: 'the findings queue cannot be read' });
    const gauge = { pending_subjects: progress.pendingSubjects, oldest_due_seconds: progress.oldestDueSeconds };
    return progress.oldestDueSeconds > this.config.linker.lagWarningSeconds ? findings.degraded(gauge) : findings.up(gauge);
  }
}
