import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { digestOf, tokenHash } from '@jartrail/agent-sdk';
import { startTestApp, type TestApp } from '../../../test/support/app';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { registerSource, type RegisteredSource } from '../../../test/support/events';
import { SwitchableProxy } from '../../../test/support/switchable-proxy';
import { REDIRECT_URI, startAuthorizationServer, type TestAuthorizationServer, userAgent } from './support/authorization-server';

describe('the oidc-provider plugin while jartrail is down', () => {
  let db: TestDatabase;
  let directory: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    directory = await mkdtemp(join(tmpdir(), 'jartrail-as-outbox-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
    await db.drop();
  });

  it('the AS keeps authorizing, its reports wait on disk across a restart of the AS, and reach jartrail when it is back', async () => {
    const first = await startTestApp({ db });
    const sources: { authorizationServer: RegisteredSource; tokenService: RegisteredSource } = {
      authorizationServer: await registerSource(first, 'authorization_server'),
      tokenService: await registerSource(first, 'token_service'),
    };
    const proxy = await SwitchableProxy.start(first.url);
    const options = { url: proxy.url, ...sources, outboxDirectory: directory, retry: { initialDelayMs: 50, maxDelayMs: 500 } };
    let as: TestAuthorizationServer | undefined = await startAuthorizationServer(options);
    let second: TestApp | undefined;
    try {
      await proxy.down();
      await first.close();

      // A whole JAR flow while jartrail is stopped: the AS answers as usual.
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const start = await client.buildAuthorizationUrlWithJAR(
        as.config,
        { redirect_uri: REDIRECT_URI, scope: 'openid offline_access mail.send', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state },
        { key: as.clientKey.privateKey, kid: as.clientKey.kid },
      );
      const digest = digestOf(start.searchParams.get('request')!);
      const answer = await userAgent(start);
      const tokens = await client.authorizationCodeGrant(as.config, answer.callback!, { pkceCodeVerifier: verifier, expectedState: state });

      // verification, consent, access and refresh token: all kept in the journal, none delivered.
      await expect(as.plugin.flush(300)).rejects.toThrow('4 events still wait');
      await as.close();
      as = undefined;
      expect((await readFile(join(directory, 'journal.ndjson'), 'utf8')).trim().split('\n')).toHaveLength(4);

      // jartrail comes back (a new process on the same database); so does the AS, with the same outbox folder.
      second = await startTestApp({ db });
      await proxy.up(second.url);
      as = await startAuthorizationServer(options);
      await as.plugin.flush(60_000);

      const chain = (await second.get(`/v1/chains/${digest}`).expect(200)).body;
      expect(chain.request_object.verifications.map(({ data }: { data: { verdict: string } }) => data.verdict)).toEqual(['accepted']);
      expect(chain.consents.map(({ data }: { data: { decision: string } }) => data.decision)).toEqual(['approved']);
      expect(chain.tokens.map(({ data }: { data: { token_hash: string } }) => data.token_hash).sort()).toEqual([tokenHash(tokens.access_token), tokenHash(tokens.refresh_token!)].sort());
    } finally {
      await as?.close();
      await proxy.close();
      await second?.close();
    }
  });
});
