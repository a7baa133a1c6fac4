// An agent that records its tool calls in jartrail. It holds an access token (TOKEN) and calls a "mail" tool with
// it; each call is recorded with its outcome and side effect, naming the token by its hash: the token itself never
// leaves the agent. A JWT access token can be named by its jti instead (TOKEN_JTI; the README walkthrough's token is
// at-91b2).
//
//   JARTRAIL_URL=http://localhost:3000 AGENT_SOURCE=agent-1.json TOKEN_JTI=at-91b2 node packages/agent-sdk/example/agent.mjs
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JartrailAgent, ToolCallDenied, tokenHash } from '@jartrail/agent-sdk';

const { id, secret } = JSON.parse(await readFile(process.env.AGENT_SOURCE ?? 'agent-1.json', 'utf8'));
const token = process.env.TOKEN ?? (process.env.TOKEN_JTI && { jti: process.env.TOKEN_JTI });
if (!token) throw new Error('set TOKEN to the access token the agent holds (or TOKEN_JTI to its jti)');

const agent = await JartrailAgent.create({
  url: process.env.JARTRAIL_URL ?? 'http://localhost:3000',
  source: { id, secret },
  agentId: 'example-mail-agent',
  // Calls made while jartrail is unreachable wait here, across restarts of the agent.
  outboxDirectory: process.env.OUTBOX_DIRECTORY ?? join(tmpdir(), 'jartrail-example-agent-outbox'),
  onNotice: (notice) => console.error('jartrail:', JSON.stringify(notice)),
});

// The tool, wrapped once: every call is recorded (start, outcome, side effect).
const sendMail = agent.wrap(
  (to, body) => ({ token, tool: 'mail', action: 'send', resource: `mailto:${to}`, arguments: { to, body } }),
  async (call, to) => {
    if (!to.endsWith('@example.com')) throw new ToolCallDenied(`${to} is outside the grant`);
    const messageId = `msg-${randomUUID()}`;
    call.sideEffect({ kind: 'email', reference: messageId, summary: `sent to ${to}` });
    return messageId;
  },
);

console.log('sent', await sendMail('bob@example.com', 'The report is attached.'));
await sendMail('eve@elsewhere.test', 'hello').catch((error) => console.log('denied:', error.message));

await agent.flush(30_000);
const lookup = typeof token === 'string' ? `token_hash=${tokenHash(token)}` : `token_jti=${token.jti}`;
console.log(`recorded; find the calls with GET /v1/lookup?${lookup}`);
await agent.close();
