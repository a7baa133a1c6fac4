import type { StandardJSONSchemaV1 } from '@standard-schema/spec';
import type { StandardSchemaConversionResult } from '@nestjs/swagger';

/**
 * The document is OpenAPI 3.1, whose schema dialect is JSON Schema 2020-12: every schema in it is converted by
 * its own library (zod's `~standard.jsonSchema`) for that dialect, request bodies as input, responses as output.
 */
export const JSON_SCHEMA_TARGET = 'draft-2020-12';

type JsonSchema = Record<string, unknown>;

function isStandardJsonSchema(schema: unknown): schema is StandardJSONSchemaV1 {
  return typeof schema === 'object' && schema !== null && 'jsonSchema' in ((schema as { '~standard'?: object })['~standard'] ?? {});
}

export interface ConversionOptions {
  /**
   * The schema's own definition in place of a `$ref` to it. A schema with an id converts to `{$ref: '#/$defs/<id>'}`,
   * its body in `$defs`: right for a request or response body (a named component), wrong for a query DTO, which Nest
   * expands into one parameter per property only when the schema it gets is an object with `properties`. Given a
   * `$ref` it silently documents no parameter at all.
   */
  readonly inlineRoot?: boolean;
}

/**
 * A schema with its named parts apart: zod puts every schema with a `.meta({ id })` into `$defs`, and those become
 * components (Nest rewrites the `#/$defs/` references to `#/components/schemas/`).
 */
export function convertStandardSchema(schema: unknown, io: 'input' | 'output', options: ConversionOptions = {}): StandardSchemaConversionResult | undefined {
  if (!isStandardJsonSchema(schema)) return undefined;
  const { $schema: _dialect, $defs = {}, ...rest } = schema['~standard'].jsonSchema[io]({ target: JSON_SCHEMA_TARGET }) as JsonSchema;
  const definitions = $defs as Record<string, JsonSchema>;
  const rootId = typeof rest.$ref === 'string' && Object.keys(rest).length === 1 ? /^#\/\$defs\/([^/]+)$/.exec(rest.$ref)?.[1] : undefined;
  if (!options.inlineRoot || rootId === undefined || !definitions[rootId]) return { schema: rest, components: definitions };
  const { [rootId]: root, ...others } = definitions;
  // The root stays a component too when something inside refers back to it (a recursive schema).
  const referenced = JSON.stringify([root, others]).includes(`"#/$defs/${rootId}"`);
  return { schema: root!, components: referenced ? definitions : others };
}

/** `#/$defs/X` as the document's `#/components/schemas/X`, everywhere in a converted schema. */
export function rewriteDefinitionRefs<T>(value: T): T {
  if (Array.isArray(value)) return value.map(rewriteDefinitionRefs) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, member]) => [
      key,
      key === '$ref' && typeof member === 'string' ? member.replace('#/$defs/', '#/components/schemas/') : rewriteDefinitionRefs(member),
    ]),
  ) as T;
}

/** The named schemas of a standard schema, ready for `components.schemas` (the schema itself must have an id). */
export function componentsOf(schema: unknown, io: 'input' | 'output'): Record<string, JsonSchema> {
  const converted = convertStandardSchema(schema, io);
  if (!converted) throw new Error('not a standard schema with a JSON Schema converter');
  return rewriteDefinitionRefs(converted.components ?? {});
}
