import { fieldsOf, problemOf, startTestApp, type TestApp } from '../support/app';
import { aClientKey, type ClientKey } from '../support/request-objects';

/** Hostile input on the auditor and admin API (queries, paths, admin bodies): always a 4xx problem, never a 500. */
describe('bad requests on the query and admin API', () => {
  let app: TestApp;
  let key: ClientKey;

  beforeAll(async () => {
    app = await startTestApp();
    key = await aClientKey('ES256');
  });
  afterAll(() => app.close());

  const admin = (path: string) => app.http().post(path).set('authorization', `Bearer ${app.adminKey}`);

  describe('text PostgreSQL cannot store (NUL, lone surrogates)', () => {
    it.each([
      ['/v1/chains?client_id=a%00b', 'client_id', 'nul_character'],
      ['/v1/chains?tool=%00', 'tool', 'nul_character'],
      ['/v1/lookup?call_id=call%00', 'call_id', 'nul_character'],
      ['/v1/lookup?side_effect_reference=%ED%A0%80', 'side_effect_reference', 'invalid_percent_encoding'],
      ['/v1/chains?subject=%ZZ', 'subject', 'invalid_percent_encoding'],
    ])('answers %s with 400, naming the parameter', async (path, field, code) => {
      const problem = problemOf(await app.get(path), 400, 'invalid-request');
      expect(fieldsOf(problem)).toEqual([[field, code]]);
    });

    it('answers a NUL in a path parameter with 400', async () => {
      problemOf(await app.get('/v1/clients/client%00one'), 400, 'invalid-request');
    });

    it('refuses a NUL in a registration body with 422, naming the field, and registers nothing', async () => {
      const body = { client_id: 'nul\u0000client', jwks: { keys: [key.jwk] }, request_object_signing_alg_values: ['ES256'] };
      const problem = problemOf(await admin('/v1/clients').send(body), 422, 'unstorable-text');
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/client_id', code: 'nul_character' })]);
      const sources = problemOf(await admin('/v1/sources').send({ name: 'lone \ud800', kind: 'agent' }), 422, 'unstorable-text');
      expect(fieldsOf(sources)).toEqual([['name', 'lone_surrogate']]);
      expect(await app.db.rows('SELECT 1 FROM clients')).toEqual([]);
    });
  });
});
