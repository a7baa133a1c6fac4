import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createJartrailClient } from '../../src/client/jartrail-client';
import { startTestApp, type TestApp } from '../support/app';
import { randomDigest } from '../support/events';
import { REPOSITORY_ROOT } from '../support/process';

describe('the typed client generated from the OpenAPI document', () => {
  it('is what openapi-typescript makes of the committed docs/openapi.json (run `npm run openapi` after an API change)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jartrail-types-'));
    try {
      const generated = join(dir, 'api-types.ts');
      const cli = join(REPOSITORY_ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
      await promisify(execFile)(process.execPath, [cli, join(REPOSITORY_ROOT, 'docs', 'openapi.json'), '-o', generated], { cwd: REPOSITORY_ROOT });
      const committed = await readFile(join(REPOSITORY_ROOT, 'src', 'client', 'api-types.ts'), 'utf8');
      expect(committed === (await readFile(generated, 'utf8'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('against the service', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('creates and reads a source, and answers a missing chain with typed problem details', async () => {
      const client = createJartrailClient({ baseUrl: app.url, apiKey: app.adminKey });
      const created = await client.POST('/v1/sources', { body: { name: 'typed-as', kind: 'authorization_server' } });
      expect(created.response.status).toBe(201);
      expect(created.data?.secret).toMatch(/^whsec_/);
      const read = await client.GET('/v1/sources/{id}', { params: { path: { id: created.data!.id } } });
      expect(read.data).toMatchObject({ id: created.data!.id, name: 'typed-as', kind: 'authorization_server' });

      const missing = await client.GET('/v1/chains/{digest}', { params: { path: { digest: randomDigest() } } });
      expect(missing.response.status).toBe(404);
      expect(missing.error).toMatchObject({ type: 'urn:jartrail:problem:not-found', status: 404 });
    });

    it('sends no key unless given one, and the service refuses', async () => {
      const anonymous = createJartrailClient({ baseUrl: app.url });
      const answer = await anonymous.GET('/v1/findings', { params: { query: {} } });
      expect(answer.response.status).toBe(401);
      expect(answer.error).toMatchObject({ status: 401 });
    });
  });
});
