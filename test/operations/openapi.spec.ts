import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { REPOSITORY_ROOT } from '../support/process';

/** The OpenAPI document is an artifact: generated (`npm run openapi`), committed, and checked for drift here. */
/** Routes that are public on purpose: health checks, and the ledger's public keys (auditors fetch them without an account). */
const PUBLIC_PATHS = ['/health', '/.well-known/jwks.json'];

describe('the OpenAPI document', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('served at /openapi.json is the committed docs/openapi.json (run `npm run openapi` after an API change)', async () => {
    const served = (await app.http().get('/openapi.json').expect(200)).body;
    const committed = JSON.parse(await readFile(join(REPOSITORY_ROOT, 'docs', 'openapi.json'), 'utf8'));
    expect(served).toEqual(committed);
  });

  it('gives every operation a summary and declares how it is authenticated', async () => {
    const document = (await app.http().get('/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { summary?: string; security?: unknown[]; parameters?: { name: string; in: string }[] }>>;
    };
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const signedWebhook = path.startsWith('/v1/events');
        // A Security Event Token carries its own signature: the body is the credential.
        const signedSet = path === '/v1/sets' && Object.keys((operation as { requestBody?: { content?: object } }).requestBody?.content ?? {}).includes('application/secevent+jwt');
        const auth = signedWebhook
          ? (operation.parameters ?? []).some((parameter) => parameter.name === 'webhook-signature')
          : signedSet || PUBLIC_PATHS.some((prefix) => path.startsWith(prefix)) || (operation.security ?? []).length > 0;
        expect({ route: `${method} ${path}`, summary: typeof operation.summary, auth }).toEqual({ route: `${method} ${path}`, summary: 'string', auth: true });
      }
    }
  });

  it('is browsable at /docs without credentials', async () => {
    const page = await app.http().get('/docs').redirects(1).expect(200);
    expect(page.text).toContain('swagger');
  });
});
