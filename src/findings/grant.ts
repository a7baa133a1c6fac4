import { canonicalJson } from '../common/canonical-json';
import type { AuthorizationDetail, Grant } from '../evidence/grant';

// The authority each record states is read by its type (evidence/types/*.ts); here it is compared.
export type { AuthorizationDetail, Grant } from '../evidence/grant';

/**
 * What a request asked for, a consent granted, a token carries: the three kinds of authority OAuth names, compared
 * as the RFCs define them. Pure.
 *
 * - scope (RFC 6749 section 3.3): space-delimited, case-sensitive tokens, compared as a set.
 * - resource (RFC 8707): absolute URIs, compared exactly as strings; one string or an array.
 * - authorization_details (RFC 9396): objects with a `type`. One entry covers another of the same type when each of
 *   the common array members (`locations`, `actions`, `datatypes`, `privileges`) of the covered entry is a subset of
 *   the covering entry's (absent in the covering entry: unrestricted; absent in the covered: nothing asked), its
 *   `identifier` is equal (when the covering entry has one), and every other, type-specific member is deep-equal
 *   (canonical JSON): jartrail does not know what a type's own members mean, so it never guesses that one covers
 *   another; such a difference is reported as `not_comparable` rather than as an excess.
 */

export interface Excess {
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  /** Entries not covered by any entry of the same type; `not_comparable` names type-specific members that differ. */
  readonly authorization_details: readonly { readonly entry: AuthorizationDetail; readonly not_comparable: readonly string[] }[];
}

const COMMON_ARRAYS = ['locations', 'actions', 'datatypes', 'privileges'] as const;

export const scopesOf = (scope: string | undefined): string[] => (scope === undefined ? [] : scope.split(' ').filter((token) => token.length > 0));
export const resourcesOf = (resource: string | readonly string[] | undefined): string[] => (resource === undefined ? [] : typeof resource === 'string' ? [resource] : [...resource]);

const stringsOf = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.map(String) : undefined);

/** Why `covering` does not cover `covered`: the members that exceed, and those jartrail cannot compare. */
export function entryShortfall(covered: AuthorizationDetail, covering: AuthorizationDetail): { exceeds: string[]; notComparable: string[] } | undefined {
  if (covered.type !== covering.type) return { exceeds: ['type'], notComparable: [] };
  const exceeds: string[] = [];
  const notComparable: string[] = [];
  for (const member of COMMON_ARRAYS) {
    const granted = stringsOf(covering[member]);
    const asked = stringsOf(covered[member]) ?? [];
    if (granted !== undefined && asked.some((value) => !granted.includes(value))) exceeds.push(member);
  }
  if (covering.identifier !== undefined && covering.identifier !== covered.identifier) exceeds.push('identifier');
  const own = new Set([...Object.keys(covered), ...Object.keys(covering)].filter((member) => member !== 'type' && member !== 'identifier' && !(COMMON_ARRAYS as readonly string[]).includes(member)));
  for (const member of own) {
    if (canonicalJson(covered[member] ?? null) !== canonicalJson(covering[member] ?? null)) notComparable.push(member);
  }
  return exceeds.length === 0 && notComparable.length === 0 ? undefined : { exceeds, notComparable };
}

/** What `asked` holds beyond `granted`, per kind. A kind `granted` does not restrict (undefined) exceeds nothing. */
export function excessOf(asked: Grant, granted: Grant, restricts: { scope: boolean; resource: boolean; authorization_details: boolean }): Excess {
  const grantedScopes = new Set(scopesOf(granted.scope));
  const grantedResources = new Set(resourcesOf(granted.resource));
  const grantedDetails = granted.authorization_details ?? [];
  return {
    scopes: restricts.scope ? scopesOf(asked.scope).filter((scope) => !grantedScopes.has(scope)) : [],
    resources: restricts.resource ? resourcesOf(asked.resource).filter((resource) => !grantedResources.has(resource)) : [],
    authorization_details: restricts.authorization_details
      ? (asked.authorization_details ?? []).flatMap((entry) => {
          const shortfalls = grantedDetails.map((candidate) => entryShortfall(entry, candidate));
          if (shortfalls.some((shortfall) => shortfall === undefined)) return [];
          const sameType = shortfalls.filter((shortfall) => shortfall && !shortfall.exceeds.includes('type'));
          // Not comparable only when the sole difference from some granted entry of its type is type-specific.
          const onlyNotComparable = sameType.find((shortfall) => shortfall!.exceeds.length === 0);
          return [{ entry, not_comparable: onlyNotComparable ? onlyNotComparable.notComparable : [] }];
        })
      : [],
  };
}

export const isEmptyExcess = (excess: Excess) => excess.scopes.length + excess.resources.length + excess.authorization_details.length === 0;

/** The union of several grants (several consents of one chain): what any of them granted. */
export function unionOf(grants: readonly Grant[]): Grant {
  const scopes = [...new Set(grants.flatMap((grant) => scopesOf(grant.scope)))];
  const resources = [...new Set(grants.flatMap((grant) => resourcesOf(grant.resource)))];
  const details = grants.flatMap((grant) => grant.authorization_details ?? []);
  return {
    ...(scopes.length > 0 && { scope: scopes.join(' ') }),
    ...(resources.length > 0 && { resource: resources }),
    ...(details.length > 0 && { authorization_details: details }),
  };
}

/** A short phrase naming an excess for a summary. */
export function describeExcess(excess: Excess): string {
  const parts: string[] = [];
  if (excess.scopes.length > 0) parts.push(`scope ${excess.scopes.map((scope) => JSON.stringify(scope)).join(', ')}`);
  if (excess.resources.length > 0) parts.push(`resource ${excess.resources.map((resource) => JSON.stringify(resource)).join(', ')}`);
  if (excess.authorization_details.length > 0) parts.push(`authorization_details of type ${[...new Set(excess.authorization_details.map((detail) => JSON.stringify(detail.entry.type)))].join(', ')}`);
  return parts.join('; ');
}
