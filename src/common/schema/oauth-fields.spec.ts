import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { digestProblem } from '../crypto/digest';
import { digest, scope, tokenReference } from './oauth-fields';

/** The JSON Schema of a field, as the OpenAPI document gets it. */
const jsonSchemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' }) as { pattern?: string; anyOf?: unknown[] };

describe('the JSON Schema of the OAuth fields says what their zod checks say', () => {
  it('a digest: its pattern accepts exactly what digestProblem accepts', () => {
    const pattern = new RegExp(jsonSchemaOf(digest).pattern!, 'u');
    const valid = Array.from({ length: 64 }, () => createHash('sha256').update(randomBytes(16)).digest('base64url'));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Every last character on a valid prefix (only 16 of 64 are canonical), and the usual wrong shapes.
    const candidates = [
      ...valid,
      ...[...alphabet].map((last) => `${valid[0]!.slice(0, 42)}${last}`),
      `${valid[0]!}=`,
      valid[0]!.slice(0, 42),
      `${valid[0]!.slice(0, 42)}+`,
      `${valid[0]!.slice(0, 41)}/A`,
      '',
    ];
    for (const candidate of candidates) {
      expect({ candidate, pattern: pattern.test(candidate) }).toEqual({ candidate, pattern: digestProblem(candidate) === undefined });
    }
  });

  it('a scope: the pattern of its refinement', () => {
    const pattern = new RegExp(jsonSchemaOf(scope).pattern!, 'u');
    for (const value of ['openid mail.send', 'a', 'openid  mail', ' openid', 'mail"send']) {
      expect({ value, pattern: pattern.test(value) }).toEqual({ value, pattern: scope.safeParse(value).success });
    }
  });

  it('a token reference: jti or token_hash', () => {
    expect(jsonSchemaOf(tokenReference).anyOf).toEqual([{ required: ['jti'] }, { required: ['token_hash'] }]);
  });
});
