import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { SCOPES } from '../../src/access/scopes';
import { OPERATION_EXAMPLES } from '../../src/openapi/operation-examples';
import { EVENT_EXAMPLES } from '../../src/ingest/dto/event-examples';
import { startTestApp, type TestApp } from '../support/app';
import { aConsent, aRevocation, aToken, aToolCall, aVerification, hashOf, randomDigest } from '../support/events';
import { REPOSITORY_ROOT } from '../support/process';

/** The OpenAPI document is an artifact: generated (`npm run openapi`), committed, and checked for drift here. */

type Json = Record<string, unknown>;
interface MediaType {
  schema?: Json;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  operationId: string;
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface Document {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

/**
 * Routes that are public on purpose: health checks, the ledger's public keys (auditors fetch them without an account),
 * and how the console signs in (it has no credential yet).
 */
const PUBLIC_PATHS = ['/health/live', '/health/ready', '/.well-known/jwks.json', '/v1/access/sign-in-options'];

function operationsOf(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, operations]) => Object.entries(operations).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]));
}

/** The examples a media type carries: its own, or else those of the component its schema names. */
function examplesOf(document: Document, media: MediaType): unknown[] {
  if (media.example !== undefined) return [media.example];
  if (media.examples) return Object.values(media.examples).map((example) => example.value);
  const ref = media.schema?.$ref;
  const component = typeof ref === 'string' ? document.components.schemas[ref.replace('#/components/schemas/', '')] : undefined;
  return (component?.examples as unknown[] | undefined) ?? [];
}

describe('the OpenAPI document', () => {
  let app: TestApp;
  let document: Document;
  let ajv: Ajv2020;
  /** A validator for a schema of the document, its references resolved within it. */
  const validatorOf = (schema: Json) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as Json);

  beforeAll(async () => {
    app = await startTestApp();
    document = (await app.http().get('/openapi.json').expect(200)).body as Document;
    // JSON Schema 2020-12 is the dialect of OpenAPI 3.1; OpenAPI's own keywords (discriminator, example) are annotations.
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi.json', components: document.components });
  });
  afterAll(() => app.close());

  const schemaNamed = (name: string) => ajv.getSchema(`openapi.json#/components/schemas/${name}`)!;

  it('served at /openapi.json is the committed docs/openapi.json (run `npm run openapi` after an API change)', async () => {
    const committed = JSON.parse(await readFile(join(REPOSITORY_ROOT, 'docs', 'openapi.json'), 'utf8')) as Document;
    expect(document).toEqual(committed);
  });

  it('is a valid OpenAPI 3.1 document with a server', async () => {
    expect(document.openapi).toBe('3.1.0');
    // The validator dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
    expect(document.servers?.length).toBeGreaterThan(0);
  });

  it("describes API keys as opaque bearer keys, and the identity provider's access tokens as bearer JWTs", () => {
    expect(document.components.securitySchemes['api-key']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components.securitySchemes['api-key']).not.toHaveProperty('bearerFormat');
    expect(document.components.securitySchemes['access-token']).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('gives every operation a summary and the security requirement its access rule enforces', () => {
    for (const [route, operation] of operationsOf(document)) {
      const path = route.split(' ')[1]!;
      const requirement = operation.security;
      let expected: string;
      if (path.startsWith('/v1/events')) expected = 'webhook-signature';
      else if (path === '/v1/sets') expected = 'none: the SET is signed';
      else if (PUBLIC_PATHS.includes(path)) expected = 'none: public';
      // Who the credential is: any valid credential, whatever its scopes.
      else if (path === '/v1/access/me') expected = 'access-token or api-key, any scope';
      // Issue 9: the dedicated scope, or admin.
      else if (route === 'POST /v1/findings/{id}/triage') expected = 'access-token or api-key, with audit:triage or with audit:admin';
      else expected = 'access-token or api-key, with one scope';
      let actual = 'missing';
      const scopeOf = (scheme: string) => (requirement?.length === 2 ? requirement.find((alternative) => scheme in alternative)?.[scheme] : undefined);
      const [tokenScopes, keyScopes] = [scopeOf('access-token'), scopeOf('api-key')];
      if (requirement?.length === 0) actual = expected.startsWith('none') ? expected : 'none';
      else if (requirement?.length === 1 && requirement[0]!['webhook-signature']?.length === 0) actual = 'webhook-signature';
      else if (
        requirement?.every((alternative) => Object.keys(alternative).length === 1) &&
        keyScopes?.length === 1 &&
        (SCOPES as readonly string[]).includes(keyScopes[0]!) &&
        JSON.stringify(tokenScopes) === JSON.stringify(keyScopes)
      ) {
        actual = 'access-token or api-key, with one scope';
      } else if (requirement?.length === 2 && keyScopes?.length === 0 && tokenScopes?.length === 0) {
        actual = 'access-token or api-key, any scope';
      } else if (
        JSON.stringify(requirement) ===
        JSON.stringify([{ 'access-token': ['audit:triage'] }, { 'api-key': ['audit:triage'] }, { 'access-token': ['audit:admin'] }, { 'api-key': ['audit:admin'] }])
      ) {
        actual = 'access-token or api-key, with audit:triage or with audit:admin';
      }
      expect({ route, summary: typeof operation.summary, security: actual }).toEqual({ route, summary: 'string', security: expected });
    }
  });

  it('names the scope the access guard demands', async () => {
    // A key with audit:read only: refused where the document asks for another scope, let through where it asks for audit:read.
    const created = await app.http().post('/v1/api-keys').set('authorization', `Bearer ${app.adminKey}`).send({ name: 'reader', scopes: ['audit:read'] }).expect(201);
    const reader = (created.body as { key: string }).key;
    const scopeOf = (path: string) => document.paths[path]!.get!.security!.find((alternative) => 'api-key' in alternative)!['api-key']![0];
    expect([scopeOf('/v1/chains'), scopeOf('/v1/access-records')]).toEqual(['audit:read', 'audit:admin']);
    await app.http().get('/v1/chains').set('authorization', `Bearer ${reader}`).expect(200);
    await app.http().get('/v1/access-records').set('authorization', `Bearer ${reader}`).expect(403);
  });

  it('documents every property of every query DTO as a query parameter, whether or not the DTO has an id (.meta({ id }))', () => {
    // Found from the controllers themselves (@Query({ schema }) without a property name), not from the generator.
    const found: { operation: string; properties: string[] }[] = [];
    for (const module of app.app.get(ModulesContainer, { strict: false }).values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as Type;
        for (const name of Object.getOwnPropertyNames(controller.prototype).filter((method) => method !== 'constructor')) {
          const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, { data?: unknown; schema?: unknown }>;
          for (const [key, argument] of Object.entries(args)) {
            if (!key.startsWith(`${RouteParamtypes.QUERY}:`) || argument.data !== undefined || argument.schema === undefined) continue;
            expect({ handler: `${controller.name}.${name}`, zodObject: argument.schema instanceof z.ZodObject }).toEqual({ handler: `${controller.name}.${name}`, zodObject: true });
            found.push({ operation: `${controller.name}_${name}`, properties: Object.keys((argument.schema as z.ZodObject).shape).sort() });
          }
        }
      }
    }
    // The list routes with a DTO that has an id among them: the ones whose parameters the document once lost.
    expect(found.map((entry) => entry.operation)).toEqual(expect.arrayContaining(['ExportsController_list', 'SubscriptionsController_list', 'SubscriptionsController_deliveries', 'FindingsController_list']));
    const operations = new Map(operationsOf(document).map(([route, operation]) => [operation.operationId, { route, operation }]));
    for (const { operation: operationId, properties } of found) {
      const { route, operation } = operations.get(operationId)!;
      const documented = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
      expect({ route, missing: properties.filter((property) => !documented.includes(property)) }).toEqual({ route, missing: [] });
    }
  });

  it('answers every error of every operation with the RFC 9457 problem schema', () => {
    for (const [route, operation] of operationsOf(document)) {
      const errors = Object.entries(operation.responses).filter(([status]) => status === 'default' || Number(status) >= 400);
      // RFC 8935 fixes the body of a refused SET ({"err", "description"}), and a failed readiness check answers
      // with the state of each check, for load balancers and operators.
      const problems = errors.filter(([status]) => !(route === 'POST /v1/sets' && status === '400') && !(route.startsWith('GET /health/') && status === '503'));
      expect({ route, default: Boolean(operation.responses.default) }).toEqual({ route, default: true });
      for (const [status, response] of problems) {
        expect({ route, status, schema: response.content?.['application/problem+json']?.schema }).toEqual({ route, status, schema: { $ref: '#/components/schemas/Problem' } });
      }
    }
  });

  it('gives every operation an example of its request body and of its answer, each valid against its schema', () => {
    const failures: unknown[] = [];
    for (const [route, operation] of operationsOf(document)) {
      const bodies = [
        ...Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => ({ where: `request ${type}`, media })),
        ...Object.entries(operation.responses)
          .filter(([status]) => status.startsWith('2'))
          .flatMap(([status, response]) => Object.entries(response.content ?? {}).map(([type, media]) => ({ where: `${status} ${type}`, media }))),
      ];
      for (const { where, media } of bodies) {
        const examples = examplesOf(document, media);
        if (examples.length === 0) failures.push({ route, where, problem: 'no example' });
        if (!media.schema) continue;
        const validate = validatorOf(media.schema);
        for (const example of examples) if (!validate(example)) failures.push({ route, where, errors: validate.errors });
      }
    }
    expect(failures).toEqual([]);
  });

  it('has no recorded example for an operation it does not have', () => {
    const operationIds = new Set(operationsOf(document).map(([, operation]) => operation.operationId));
    expect(Object.keys(OPERATION_EXAMPLES).filter((id) => !operationIds.has(id))).toEqual([]);
  });

  describe('the ingest body schemas', () => {
    const filled = (envelope: { type: string; timestamp: string; data: Json }, extra: Json) => ({ ...envelope, data: { ...envelope.data, ...extra } });

    it('accept the example events, and events as the test factories make them', async () => {
      const exampleFiles = (await readdir(join(REPOSITORY_ROOT, 'examples'))).filter((name) => /^\d+-.*\.json$/.test(name));
      const fromFiles = await Promise.all(exampleFiles.map(async (name) => JSON.parse(await readFile(join(REPOSITORY_ROOT, 'examples', name), 'utf8')) as Json));
      const digest = randomDigest();
      const fromFactories = [
        aVerification({ digest }),
        aConsent({ digest }),
        aToken({ digest, token_hash: hashOf('at-1') }),
        aRevocation({ token_hash: hashOf('at-1') }),
        filled(aToolCall(), { token: { token_hash: hashOf('at-1') } }),
      ];
      const events = [...fromFiles, ...Object.values(EVENT_EXAMPLES), ...fromFactories];
      expect(fromFiles).toHaveLength(8);
      expect(new Set(events.map((event) => event.type))).toEqual(new Set(Object.keys(EVENT_EXAMPLES)));
      const validate = schemaNamed('Event');
      for (const event of events) expect({ event, errors: validate(event) ? null : validate.errors }).toEqual({ event, errors: null });
    });

    it('refuse a bad event: a short digest, an unknown member, an unknown type, data of another type', () => {
      const validate = schemaNamed('Event');
      const consent = aConsent();
      expect(validate(consent)).toBe(true);
      expect(validate({ ...consent, data: { ...consent.data, digest: 'short' } })).toBe(false);
      expect(validate({ ...consent, data: { ...consent.data, digest: `${randomDigest().slice(0, 42)}B` } })).toBe(false);
      expect(validate({ ...consent, data: { ...consent.data, verdict: 'accepted' } })).toBe(false);
      expect(validate({ ...consent, type: 'consent.withdrawn' })).toBe(false);
      expect(validate({ ...consent, type: 'token.revoked' })).toBe(false);
      expect(validate({ ...aToolCall(), data: { ...aToolCall().data, token: {} } })).toBe(false);
      expect(validate({ type: consent.type, data: consent.data })).toBe(false);
    });

    it('take a batch of events that carry their ids, and refuse one without', () => {
      const batch = document.paths['/v1/events/batch']!.post!.requestBody!.content['application/json']!.schema!;
      const validate = validatorOf(batch);
      expect(validate([{ id: 'evt-1', ...aConsent() }, { id: 'evt-2', ...aToken({ digest: randomDigest() }) }])).toBe(true);
      expect(validate([{ id: 'evt-1', ...aConsent() }, aConsent()])).toBe(false);
    });

    it('describe the claims of a Security Event Token', () => {
      const validate = schemaNamed('SecurityEventTokenClaims');
      const claims = { iss: 'source-1', aud: 'http://localhost:3000', jti: 'evt-set-1', iat: 1795860000, events: { 'urn:jartrail:event:consent.decision': aConsent().data } };
      expect(validate(claims)).toBe(true);
      expect(validate({ ...claims, events: { 'urn:jartrail:event:consent.decision': { digest: 'short' } } })).toBe(false);
      expect(validate({ ...claims, events: { 'urn:example:other': {} } })).toBe(false);
    });
  });

  it('is browsable at /docs and at /docs/ without credentials, each page with its scripts and styles', async () => {
    for (const path of ['/docs', '/docs/']) {
      const page = await app.http().get(path).expect(200);
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => new URL(match[1]!, `http://localhost${path}`).pathname);
      expect(assets.filter((asset) => asset.endsWith('swagger-ui-bundle.js') || asset.endsWith('swagger-ui-init.js'))).toHaveLength(2);
      for (const asset of assets) expect([path, asset, (await app.http().get(asset)).status]).toEqual([path, asset, 200]);
    }
  });
});
