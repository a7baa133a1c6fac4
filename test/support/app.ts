import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApp } from '../../src/app';
import { LinkerWorker } from '../../src/chains/linker.worker';
import { FindingsWorker } from '../../src/findings/findings.worker';
import { Keyring } from '../../src/common/crypto/keyring';
import type { ProblemDocument } from '../../src/common/problem/problem';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly config: AppConfig;
  readonly keyring: Keyring;
  readonly db: TestDatabase;
  /** BOOTSTRAP_ADMIN_KEY of this app: every scope. */
  readonly adminKey: string;
  /** A supertest client against the listening server: real HTTP over a real socket. */
  http(): ReturnType<typeof request>;
  /**
   * GET as the admin, for short read assertions. It reads its own writes: the JarTrail-Min-Position header asks the
   * chain routes to wait until everything committed before the request is linked (other routes ignore it).
   */
  get(path: string, key?: string): request.Test;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Share a database (and its master key) with another app: two replicas. Default: a new database. */
  readonly db?: TestDatabase;
  readonly masterKey?: string;
  /** JARTRAIL_PREVIOUS_MASTER_KEYS: keys that still open values sealed before a rotation. */
  readonly previousMasterKeys?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** A whole jartrail on its own database, listening on a free loopback port. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase());
  const adminKey = `test-admin-${randomBytes(24).toString('base64url')}`;
  const masterKey = options.masterKey ?? TEST_MASTER_KEY;
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '10',
    BOOTSTRAP_ADMIN_KEY: adminKey,
    JARTRAIL_MASTER_KEY: masterKey,
    JARTRAIL_PREVIOUS_MASTER_KEYS: (options.previousMasterKeys ?? []).join(','),
    JARTRAIL_DATA_DIR: tmpdir(),
    LOG_LEVEL: process.env.JARTRAIL_TEST_LOG_LEVEL ?? 'silent',
    // Tests run the verification worker when they want it (drainVerifications), so that a chain read twice does
    // not change between the reads; test/verification shows the worker running on its own.
    VERIFY_WORKER_ENABLED: 'false',
    // Likewise the findings evaluator (evaluateNow); test/findings shows it running on its own.
    FINDINGS_ENABLED: 'false',
    // Chains are due for evaluation as soon as they are linked, so that evaluateNow sees them (the delay is tested alone).
    FINDINGS_DELAY_MS: '0',
    ...options.env,
  });
  const keyring = new Keyring(
    Buffer.from(masterKey, 'base64url'),
    config.previousMasterKeys.map((key) => Buffer.from(key, 'base64url')),
  );
  const app = await createApp({ config, keyring, databaseUrl: db.url });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const ownsDatabase = options.db === undefined;
  return {
    app,
    url,
    config,
    keyring,
    db,
    adminKey,
    http: () => request(url),
    get: (path, key = adminKey) => request(url).get(path).set('authorization', `Bearer ${key}`).set('jartrail-min-position', 'latest'),
    close: async () => {
      await app.close();
      if (ownsDatabase) await db.drop();
    },
  };
}

/** A fixed master key for tests; replicas of one test share it, as production replicas must. */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64url');

export interface IssuedTestKey {
  readonly id: string;
  readonly key: string;
}

/** An auditor API key with these scopes, issued through the API by the bootstrap admin. */
export async function issueApiKey(app: TestApp, scopes: readonly string[], name = `auditor-${randomBytes(4).toString('hex')}`): Promise<IssuedTestKey> {
  const response = await app.http().post('/v1/api-keys').set('authorization', `Bearer ${app.adminKey}`).send({ name, scopes }).expect(201);
  return { id: response.body.id, key: response.body.key };
}

/** An RFC 9457 problem document as the service writes it. */
export type ProblemBody = ProblemDocument;

/**
 * Checks that a response is problem details (`application/problem+json`) with this status and problem type (the
 * part after `urn:jartrail:problem:`), and returns the document.
 */
export function problemOf(response: request.Response, status: number, type: string): ProblemBody {
  expect({ status: response.status, contentType: response.headers['content-type'] }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
  });
  const body = response.body as ProblemBody;
  expect(body).toMatchObject({ type: `urn:jartrail:problem:${type}`, status });
  return body;
}

/** The fields a problem names, with the code of each: `[['cursor', 'invalid_cursor']]`. */
export function fieldsOf(problem: ProblemBody): [string, string][] {
  return (problem.errors ?? []).map((error) => [error.field, error.code]);
}

/** Links everything committed so far (the linker of this app, in this test's time rather than its own). */
export async function linkNow(app: TestApp): Promise<void> {
  await app.app.get(LinkerWorker).drain();
}

/** Links everything committed so far, then evaluates the finding rules over everything due. */
export async function evaluateNow(app: TestApp): Promise<void> {
  await linkNow(app);
  await app.app.get(FindingsWorker).drain();
}

/** A response body as bytes, whatever its content type (supertest parses only the types it knows). */
export const binaryBody = (test: request.Test) =>
  test.buffer(true).parse((response, callback) => {
    const parts: Buffer[] = [];
    response.on('data', (part: Buffer) => parts.push(part));
    response.on('end', () => callback(null, Buffer.concat(parts)));
  });
