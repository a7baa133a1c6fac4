import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JartrailAgent, ToolCallDenied, tokenHash } from '@jartrail/agent-sdk';
import { startTestApp, type TestApp } from '../../../test/support/app';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { aToken, aVerification, randomDigest, registerSource, type RegisteredSource, WebhookSender } from '../../../test/support/events';
import { SwitchableProxy } from '../../../test/support/switchable-proxy';

/** A chain in jartrail with an accepted request object and one access token: what an agent's calls link to. */
async function aChainWithToken(app: TestApp): Promise<{ digest: string; token: string }> {
  const as = new WebhookSender(app, await registerSource(app, 'authorization_server'));
  const tokens = new WebhookSender(app, await registerSource(app, 'token_service'));
  const digest = randomDigest();
  const token = `at-${randomBytes(32).toString('base64url')}`;
  await as.event(aVerification({ digest, claims: { iss: 'agent-app', aud: 'https://as.example.com', scope: 'mail.send' } })).expect(202);
  await tokens.event(aToken({ digest, jti: undefined, token_hash: tokenHash(token), scope: 'mail.send' })).expect(202);
  return { digest, token };
}

/** A fetch that keeps every body it sends, to show what left the agent. */
function recordingFetch(): { fetch: typeof fetch; bodies: string[] } {
  const bodies: string[] = [];
  return {
    bodies,
    fetch: (input, init) => {
      if (typeof init?.body === 'string') bodies.push(init.body);
      return fetch(input, init);
    },
  };
}

describe('agent SDK against a real jartrail', () => {
  let app: TestApp;
  let agentSource: RegisteredSource;

  beforeAll(async () => {
    app = await startTestApp();
    agentSource = await registerSource(app, 'agent');
  });
  afterAll(async () => {
    await app.close();
  });

  it('records a wrapped call, with its side effect, in the chain of the token it used, and never sends the token', async () => {
    const { digest, token } = await aChainWithToken(app);
    const sent = recordingFetch();
    const agent = await JartrailAgent.create({ url: app.url, source: agentSource, agentId: 'mail-agent', fetch: sent.fetch });
    try {
      const reference = `msg-${randomUUID()}`;
      const result = await agent.call({ token, tool: 'mail', action: 'send', arguments: { to: 'bob@example.com' } }, (call) => {
        call.sideEffect({ kind: 'email', reference, summary: 'sent to bob' });
        return 'sent';
      });
      expect(result).toBe('sent');
      await agent.flush();

      const chain = (await app.get(`/v1/chains/${digest}`).expect(200)).body;
      expect(chain.tool_calls).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({
            agent_id: 'mail-agent',
            tool: 'mail',
            action: 'send',
            outcome: 'succeeded',
            token: { token_hash: tokenHash(token) },
            side_effect: { kind: 'email', reference, summary: 'sent to bob' },
            arguments_digest: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
            completed_at: expect.any(String),
          }),
        }),
      ]);
      expect(sent.bodies.length).toBeGreaterThan(0);
      expect(sent.bodies.filter((body) => body.includes(token))).toEqual([]);
    } finally {
      await agent.close();
    }
  });

  it('records a function that throws as failed, and one the tool refused as denied, and rethrows both', async () => {
    const { digest, token } = await aChainWithToken(app);
    const agent = await JartrailAgent.create({ url: app.url, source: agentSource, agentId: 'mail-agent' });
    try {
      await expect(agent.call({ token, tool: 'mail', action: 'delete', callId: 'call-failed-1' }, () => Promise.reject(new Error('mailbox unavailable')))).rejects.toThrow('mailbox unavailable');
      const send = agent.wrap(
        (to: string) => ({ token, tool: 'mail', action: 'send', resource: `mailto:${to}`, callId: 'call-denied-1' }),
        () => {
          throw new ToolCallDenied('recipient outside the grant');
        },
      );
      await expect(send('eve@example.com')).rejects.toThrow(ToolCallDenied);
      await agent.flush();

      const chain = (await app.get(`/v1/chains/${digest}`).expect(200)).body;
      const outcomes = Object.fromEntries(chain.tool_calls.map((call: { data: { call_id: string; outcome: string } }) => [call.data.call_id, call.data.outcome]));
      expect(outcomes).toEqual({ 'call-failed-1': 'failed', 'call-denied-1': 'denied' });
    } finally {
      await agent.close();
    }
  });
});

describe('agent SDK when jartrail is briefly down', () => {
  let db: TestDatabase;
  let directory: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    directory = await mkdtemp(join(tmpdir(), 'jartrail-agent-outbox-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
    await db.drop();
  });

  it('keeps calls recorded during the outage and delivers them, even across a restart of the agent', async () => {
    const first = await startTestApp({ db });
    const source = await registerSource(first, 'agent');
    const { digest, token } = await aChainWithToken(first);
    const proxy = await SwitchableProxy.start(first.url);
    const notices: string[] = [];
    const options = {
      url: proxy.url,
      source,
      agentId: 'mail-agent',
      outboxDirectory: directory,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
      onNotice: (notice: { kind: string }) => notices.push(notice.kind),
    };
    let agent = await JartrailAgent.create(options);
    let second: TestApp | undefined;
    try {
      await proxy.down();
      await first.close();
      await agent.call({ token, tool: 'mail', action: 'send', callId: 'during-outage-1' }, () => 'ok');
      // The agent stops while jartrail is still down: its call waits in the journal on disk.
      await expect(agent.flush(300)).rejects.toThrow('1 events still wait');
      await agent.close();
      expect(await readFile(join(directory, 'journal.ndjson'), 'utf8')).toContain('during-outage-1');
      expect(notices).toContain('retrying');

      agent = await JartrailAgent.create(options);
      await agent.call({ token, tool: 'mail', action: 'send', callId: 'during-outage-2' }, () => 'ok');
      expect(agent.waiting).toBe(2);

      second = await startTestApp({ db });
      await proxy.up(second.url);
      await agent.flush(60_000);
      expect(agent.waiting).toBe(0);

      const chain = (await second.get(`/v1/chains/${digest}`).expect(200)).body;
      expect(chain.tool_calls.map((call: { data: { call_id: string } }) => call.data.call_id).sort()).toEqual(['during-outage-1', 'during-outage-2']);
    } finally {
      await agent.close();
      await proxy.close();
      await second?.close();
    }
  });
});
