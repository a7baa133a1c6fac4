import type { INestApplicationContext, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ACCESS_METADATA, acceptedScopes, type AccessRule } from '../access/access.decorator';
import { problemSchema } from '../common/problem/problem.schema';
import { componentsOf, convertStandardSchema } from './json-schema';
import { OPERATION_EXAMPLES, type OperationExample } from './operation-examples';

export const API_KEY_SCHEME = 'api-key';
export const ACCESS_TOKEN_SCHEME = 'access-token';
export const WEBHOOK_SIGNATURE_SCHEME = 'webhook-signature';

export interface OpenApiInfo {
  readonly version: string;
  readonly description: string;
  /** Standard schemas with an id that operations reference by `$ref` and that Nest cannot reach from a decorator. */
  readonly components: readonly { readonly schema: unknown; readonly io: 'input' | 'output' }[];
}

type MediaType = { schema?: unknown; example?: unknown; examples?: unknown };

type Operation = {
  operationId?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/** Nest's default operation id, `${Controller}_${method}`, with which the document names each handler. */
const operationIdOf = (controllerKey: string, methodKey: string) => `${controllerKey}_${methodKey}`;

/** Every route handler of the application: its controller, its method name and the method. */
function* handlersOf(app: INestApplicationContext): Generator<{ controller: Type; name: string; handler: object }> {
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller) continue;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name !== 'constructor' && typeof handler === 'function') yield { controller, name, handler };
      }
    }
  }
}

/** Every handler's access rule, as the access guard reads it (the handler's own, else its controller's). */
function accessRules(app: INestApplicationContext): Map<string, AccessRule> {
  const rules = new Map<string, AccessRule>();
  for (const { controller, name, handler } of handlersOf(app)) {
    const rule = (Reflect.getMetadata(ACCESS_METADATA, handler) as AccessRule | undefined) ?? (Reflect.getMetadata(ACCESS_METADATA, controller) as AccessRule | undefined);
    if (rule) rules.set(operationIdOf(controller.name, name), rule);
  }
  return rules;
}

/** A route argument as `@Query({ schema })` and its kin record it (Nest's route-args metadata, keyed `<paramtype>:<index>`). */
type RouteArgument = { readonly data?: unknown; readonly schema?: unknown };

/**
 * The schemas of whole query DTOs (`@Query({ schema })` without a property name), which the document shows as one
 * query parameter per property: see ConversionOptions.inlineRoot.
 */
function queryDtoSchemas(app: INestApplicationContext): Set<unknown> {
  const schemas = new Set<unknown>();
  for (const { controller, name } of handlersOf(app)) {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, RouteArgument>;
    for (const [key, argument] of Object.entries(args)) {
      if (key.split(':')[0] === String(RouteParamtypes.QUERY) && argument.data === undefined && argument.schema !== undefined) schemas.add(argument.schema);
    }
  }
  return schemas;
}

/**
 * Each operation's security requirement from its @Access rule, so the document cannot drift from what the guard
 * enforces: an auditor route needs an access token of the identity provider or an API key, either with its scope, or
 * with any one of its scopes (OpenAPI 3.1 lets a non-OAuth scheme name the roles it needs; alternatives are ORed), a webhook route the Standard Webhooks signature, and
 * a SET or a public route nothing beyond itself.
 */
function applyAccessRules(document: OpenAPIObject, rules: Map<string, AccessRule>): void {
  for (const [path, operation] of operationsOf(document)) {
    const rule = operation.operationId === undefined ? undefined : rules.get(operation.operationId);
    if (!rule) throw new Error(`${path} (${operation.operationId}) declares no @Access rule`);
    if (rule.kind === 'auditor') {
      // Alternatives: either credential, with the scope, or with any one of the scopes the rule accepts.
      const scopes = acceptedScopes(rule);
      const either = (required: string[]): Record<string, string[]>[] => [{ [ACCESS_TOKEN_SCHEME]: required }, { [API_KEY_SCHEME]: required }];
      operation.security = scopes.length === 0 ? either([]) : scopes.flatMap((scope) => either([scope]));
    } else if (rule.kind === 'sender' && !Object.keys(operation.requestBody?.content ?? {}).includes('application/secevent+jwt')) {
      operation.security = [{ [WEBHOOK_SIGNATURE_SCHEME]: [] }];
    } else {
      // Public, or a Security Event Token, whose credential is its own signature in the body.
      operation.security = [];
    }
  }
}

const problemContent = () => ({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });

/**
 * Every error answer is a problem document (the global filter makes it so): each documented 4xx and 5xx without a
 * body of its own gets the Problem schema, and every operation a `default` answer for the errors it shares with
 * all (a malformed request, the database unavailable).
 */
function applyProblemResponses(document: OpenAPIObject): void {
  for (const [, operation] of operationsOf(document)) {
    for (const [status, response] of Object.entries(operation.responses)) {
      if (Number(status) >= 400 && response.content === undefined) response.content = problemContent();
    }
    operation.responses.default ??= { description: 'An error, as RFC 9457 problem details naming each offending field', content: problemContent() };
  }
}

/** Each operation's recorded exchange, where its decorators give no example of their own. */
function applyExamples(document: OpenAPIObject, examples: Readonly<Record<string, OperationExample>>): void {
  const exampleOf = (media: MediaType, value: unknown) => {
    if (media.example === undefined && media.examples === undefined) media.example = value;
  };
  for (const [, operation] of operationsOf(document)) {
    const example = operation.operationId === undefined ? undefined : examples[operation.operationId];
    if (!example) continue;
    if (example.request !== undefined) for (const media of Object.values(operation.requestBody?.content ?? {})) exampleOf(media, example.request);
    for (const [status, value] of Object.entries(example.responses ?? {})) {
      for (const media of Object.values(operation.responses[status]?.content ?? {})) exampleOf(media, value);
    }
  }
}

function* operationsOf(document: OpenAPIObject): Generator<[string, Operation]> {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation) yield [`${method.toUpperCase()} ${path}`, operation];
    }
  }
}

/** The OpenAPI document of the running application (or of a preview of it: no provider needs to exist). */
export function buildOpenApiDocument(app: INestApplicationContext & Parameters<typeof SwaggerModule.createDocument>[0], info: OpenApiInfo): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('jartrail')
    .setDescription(info.description)
    .setVersion(info.version)
    .addServer('{origin}', "The service's own URL (JARTRAIL_PUBLIC_URL): scheme, host and port", { origin: { default: 'http://localhost:3000' } })
    .addSecurity(ACCESS_TOKEN_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An OAuth 2.0 access token of a configured identity provider (IDP_ISSUER or IDENTITY_PROVIDERS): a JWT with typ at+jwt (RFC 9068), ' +
        'signed with an algorithm the provider is pinned to, with iss, the configured aud, exp and sub. The scopes an operation lists come ' +
        "from the provider's scope claim (scope, scp, or mapped roles). Sign-in details for a browser: GET /v1/access/sign-in-options.",
    })
    .addSecurity(API_KEY_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description:
        'An API key: an opaque random string (not a JWT) issued by POST /v1/api-keys or BOOTSTRAP_ADMIN_KEY and stored hashed. ' +
        'The scopes an operation lists are the ones the key must hold.',
    })
    .addSecurity(WEBHOOK_SIGNATURE_SCHEME, {
      type: 'apiKey',
      in: 'header',
      name: 'webhook-signature',
      description:
        'Standard Webhooks: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"> under the source secret (whsec_...), ' +
        'several space-separated during a rotation; with the webhook-id and webhook-timestamp headers and ?source=<source id>.',
    })
    .build();
  const queryDtos = queryDtoSchemas(app);
  const document = SwaggerModule.createDocument(app, config, {
    standardSchemaConverter: (schema, { schemaType }) => convertStandardSchema(schema, schemaType, { inlineRoot: queryDtos.has(schema) }),
  });
  const schemas = (document.components ??= {}).schemas ?? {};
  for (const { schema, io } of [{ schema: problemSchema, io: 'output' as const }, ...info.components]) Object.assign(schemas, componentsOf(schema, io));
  document.components.schemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  applyAccessRules(document, accessRules(app));
  applyProblemResponses(document);
  applyExamples(document, OPERATION_EXAMPLES);
  return document;
}
