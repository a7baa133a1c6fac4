import { eventRef, toolCallsOf } from '../chain-evidence';
import { tokenGrantOf } from '../../evidence/types/token-events';
import { type AuthorizationDetail, resourcesOf, scopesOf } from '../grant';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence, quoted } from './ordering';
import { tokenName, tokenNamed, tokensByKey } from './token-lookup';

/**
 * A scope that names a tool's action: `tool.action` or `tool:action` (or the tool's wildcard `tool.*`); a URI scope
 * (`https://api.example.com/mail.send`) is not one.
 */
const TOOL_SCOPE = /^[A-Za-z0-9_-]+[.:][A-Za-z0-9_*-]+$/;

function entryFor(ref: string, details: readonly AuthorizationDetail[]): AuthorizationDetail | undefined {
  return details.find((entry) => entry.identifier === ref) ?? details.find((entry) => entry.identifier === undefined && entry.type === ref);
}

/**
 * beyond_grant: a tool call that the token it used does not cover. The token is the chain's `token.issued` named by
 * the call's token reference. A call is judged on what it states:
 * - its `resource`, when the token lists resources (RFC 8707): one of them, exactly;
 * - its `authorization_details_ref`, when given: an entry of the token's authorization_details (by its `identifier`,
 *   else by its `type`) whose `actions` (if listed) include the call's action and whose `locations` (if listed) include
 *   the call's resource;
 * - its tool and action against the token's scopes, when the token names tools in its scopes (some scope of the form
 *   `tool.action` or `tool:action`): a scope `tool.action`, `tool:action`, `tool.*` or `tool:*`. Tokens whose scopes
 *   do not name tools (`openid profile`) say nothing about tools: not comparable.
 * High; medium when the resource server refused the call (outcome `denied`). A token the chain does not hold is for
 * `orphan` to report.
 */
export const beyondGrant: Rule = (chain) => {
  const tokens = tokensByKey(chain.records);
  const findings: FindingDraft[] = [];
  for (const call of toolCallsOf(chain.records).sort(byOccurrence)) {
    if (call.data === null) continue;
    const token = tokenNamed(call.data.token, tokens);
    if (!token?.data) continue;
    const { tool, action, resource, authorization_details_ref: ref } = call.data;
    const carried = tokenGrantOf(token.data);
    const problems: string[] = [];
    const callResources = resourcesOf(resource);
    const tokenResources = resourcesOf(carried.resource);
    if (tokenResources.length > 0) {
      for (const target of callResources.filter((value) => !tokenResources.includes(value))) problems.push(`resource ${quoted(target)} is not among the token's resources`);
    }
    if (ref !== undefined) {
      const entry = entryFor(ref, carried.authorization_details ?? []);
      if (!entry) problems.push(`authorization_details_ref ${quoted(ref)} names no entry of the token's authorization_details`);
      else {
        const actions = Array.isArray(entry.actions) ? entry.actions.map(String) : undefined;
        const locations = Array.isArray(entry.locations) ? entry.locations.map(String) : undefined;
        if (actions && !actions.includes(action)) problems.push(`action ${quoted(action)} is not among the actions of entry ${quoted(ref)}`);
        for (const target of locations ? callResources.filter((value) => !locations.includes(value)) : []) {
          problems.push(`resource ${quoted(target)} is not among the locations of entry ${quoted(ref)}`);
        }
      }
    }
    const scopes = scopesOf(carried.scope);
    if (scopes.some((scope) => TOOL_SCOPE.test(scope))) {
      const covering = [`${tool}.${action}`, `${tool}:${action}`, `${tool}.*`, `${tool}:*`];
      if (!scopes.some((scope) => covering.includes(scope))) problems.push(`no scope of the token covers ${quoted(`${tool}.${action}`)} (scopes: ${quoted(scopes.join(' '))})`);
    }
    if (problems.length === 0) continue;
    findings.push({
      rule: 'beyond_grant',
      severity: call.data.outcome === 'denied' ? 'medium' : 'high',
      key: `call:${call.data.agent_id}:${call.data.call_id}`,
      evidence: [eventRef(call), eventRef(token)],
      summary: `agent ${quoted(call.data.agent_id)} called ${quoted(`${tool}.${action}`)} beyond what ${tokenName(token)} grants: ${problems.join('; ')}`,
      facts: { tool, action, resource: resource ?? null, authorization_details_ref: ref ?? null, outcome: call.data.outcome, problems, token_scope: token.data.scope ?? null },
    });
  }
  return { findings };
};
