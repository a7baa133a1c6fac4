import type { ConsentDecisionData } from '@jartrail/agent-sdk';

/** What the plugin reads of oidc-provider's context to describe a consent. */
export interface OidcState {
  readonly session?: { readonly accountId?: string };
  readonly grant?: {
    readonly accountId?: string;
    readonly rar?: { type: string }[];
    getOIDCScopeFiltered(filter: Set<string>): string;
    getResourceScopeFiltered(resource: string, filter: Set<string>): string;
  };
  readonly requestParamScopes?: Set<string>;
  readonly requestParamOIDCScopes?: Set<string>;
  readonly resourceServers?: Readonly<Record<string, unknown>>;
}

/**
 * The consent as the AS applies it to this request: of the scopes the request asked for, those its grant covers
 * (oidc-provider's own filters, the ones it issues tokens by), the resource servers they are for, and the grant's
 * authorization details. All asked for: approved; some: partial; none, or the user refused: denied.
 */
export function consentOf(oidc: OidcState, refused: boolean, interactionSubject?: string): Omit<ConsentDecisionData, 'digest'> | undefined {
  // A user who refused was never logged into the session: the interaction's own submission names them.
  const subject = oidc.session?.accountId ?? oidc.grant?.accountId ?? interactionSubject;
  if (subject === undefined) return undefined;
  if (refused || oidc.grant === undefined) return { decision: 'denied', subject };
  const requested = oidc.requestParamScopes ?? new Set<string>();
  const granted = new Set<string>(oidc.grant.getOIDCScopeFiltered(oidc.requestParamOIDCScopes ?? new Set()).split(' ').filter(Boolean));
  const resources = Object.keys(oidc.resourceServers ?? {});
  for (const resource of resources) for (const scope of oidc.grant.getResourceScopeFiltered(resource, requested).split(' ').filter(Boolean)) granted.add(scope);
  const details = Array.isArray(oidc.grant.rar) && oidc.grant.rar.length > 0 ? oidc.grant.rar : undefined;
  const all = [...requested].every((scope) => granted.has(scope));
  const decision = granted.size === 0 && details === undefined ? 'denied' : all ? 'approved' : 'partial';
  return {
    decision,
    subject,
    granted: {
      ...(granted.size > 0 && { scope: [...granted].join(' ') }),
      ...(resources.length > 0 && { resource: resources.length === 1 ? resources[0]! : resources }),
      ...(details !== undefined && { authorization_details: details }),
    },
  };
}
