import type { Pool } from 'pg';
import type { BenchDatabase } from './database';
import { chainsFor, sendBatches, sendSingles, signedSingles, waitForBackgroundWork } from './ingest-load';
import { HttpClient, rate } from './load';
import { VerifiableRequestObjects } from './request-objects';
import { registerSources, signedBatches, Signer } from './senders';
import { type ServiceProcess, startService } from './service';

export interface ModeRunSettings {
  readonly singleChains: number;
  readonly singleSenders: number;
  readonly batchChains: number;
  readonly batchSize: number;
  readonly batchSenders: number;
  readonly warmupChains: number;
}

export interface ModeRunOptions<After> {
  readonly database: BenchDatabase;
  readonly pool: Pool;
  readonly masterKey: string;
  /** The service's settings for this mode (what "off" turns off). */
  readonly env: Readonly<Record<string, string>>;
  readonly tag: string;
  /** Clients and decryption keys are registered once in the database (the first run), for every run after it. */
  readonly registered: { objects?: VerifiableRequestObjects };
  readonly settings: ModeRunSettings;
  /** Whether to wait for due findings evaluations as background work (false when the evaluator is off). */
  readonly findingsOn: boolean;
  /** After the batch phase, with the service still running: what the mode measures besides the rates. */
  readonly afterBatches: (service: ServiceProcess, alive: () => void) => Promise<After>;
}

export interface ModeRunRates {
  readonly singlesPerSecond: number;
  readonly singlesP99: number;
  readonly batchesPerSecond: number;
  readonly batchesP99: number;
}

/**
 * One run of an off/on comparison (bench:ledger, bench:findings): a service in the given mode, a warm-up, single
 * events, then batches, each phase started with the service's background work done.
 */
export async function ingestModeRun<After>(options: ModeRunOptions<After>): Promise<ModeRunRates & { after: After }> {
  const { settings, pool, tag } = options;
  const service = await startService({ databaseUrl: options.database.url, masterKey: options.masterKey, env: { ...options.env } });
  const http = new HttpClient(service.url, Math.max(settings.singleSenders, settings.batchSenders));
  const alive = () => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}):\n${service.warnings().slice(-20).join('\n')}`);
    }
  };
  try {
    const sources = await registerSources(http, service.adminKey, tag);
    if (options.registered.objects) options.registered.objects.useService(http, service.adminKey);
    else options.registered.objects = new VerifiableRequestObjects(http, service.adminKey);
    const objects = options.registered.objects;
    const signer = new Signer();
    const warmup = await chainsFor(`${tag}w`, settings.warmupChains, objects);
    const singleChains = await chainsFor(`${tag}s`, settings.singleChains, objects);
    const batchChains = await chainsFor(`${tag}b`, settings.batchChains, objects);
    await sendSingles(http, signedSingles(warmup, settings.singleSenders, sources, signer), 60);
    await waitForBackgroundWork(pool, 600, alive, true, options.findingsOn);
    const singles = await sendSingles(http, signedSingles(singleChains, settings.singleSenders, sources, signer), 240);
    await waitForBackgroundWork(pool, 600, alive, true, options.findingsOn);
    const batches = await sendBatches(http, signedBatches(`${tag}b`, batchChains, settings.batchSize, sources, signer), settings.batchSenders, 240);
    if (singles.failed + batches.failed > 0) throw new Error(`ingest failed: ${[...singles.firstErrors, ...batches.firstErrors].join('\n')}`);
    const after = await options.afterBatches(service, alive);
    return {
      singlesPerSecond: rate(singles.completed, singles.seconds),
      singlesP99: singles.latency.p99,
      batchesPerSecond: rate(batches.events, batches.seconds),
      batchesP99: batches.latency.p99,
      after,
    };
  } finally {
    await http.close();
    await service.stop();
  }
}
