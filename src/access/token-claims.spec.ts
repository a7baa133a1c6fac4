import { claimAt, claimValues, normalizedType, scopesOf } from './token-claims';

describe('the scopes an access token carries', () => {
  it('reads space-delimited scope, and scp as an array or a string', () => {
    expect(scopesOf({ scope: 'openid audit:read  audit:admin' }, { scopeClaim: 'scope', roleMap: undefined })).toEqual(['audit:read', 'audit:admin']);
    expect(scopesOf({ scp: ['audit:export', 'offline_access'] }, { scopeClaim: 'scp', roleMap: undefined })).toEqual(['audit:export']);
    expect(scopesOf({ scp: 'audit:read User.Read' }, { scopeClaim: 'scp', roleMap: undefined })).toEqual(['audit:read']);
  });

  it('ignores values that are not jartrail scopes, non-strings, and a claim of another type', () => {
    expect(scopesOf({ scope: 'audit:write AUDIT:READ audit:read:extra' }, { scopeClaim: 'scope', roleMap: undefined })).toEqual([]);
    expect(scopesOf({ scp: [1, null, { s: 'audit:read' }, 'audit:read'] }, { scopeClaim: 'scp', roleMap: undefined })).toEqual(['audit:read']);
    expect(scopesOf({ scope: { 'audit:read': true } }, { scopeClaim: 'scope', roleMap: undefined })).toEqual([]);
    expect(scopesOf({}, { scopeClaim: 'scope', roleMap: undefined })).toEqual([]);
  });

  it('maps roles through the role map, and only mapped roles count', () => {
    const roleMap = new Map([
      ['auditors', ['audit:read' as const]],
      ['security', ['audit:read' as const, 'audit:admin' as const]],
    ]);
    expect(scopesOf({ roles: ['auditors', 'audit:export'] }, { scopeClaim: 'roles', roleMap })).toEqual(['audit:read']);
    expect(scopesOf({ roles: ['security', 'auditors'] }, { scopeClaim: 'roles', roleMap })).toEqual(['audit:read', 'audit:admin']);
    expect(scopesOf({ roles: 'auditors' }, { scopeClaim: 'roles', roleMap })).toEqual(['audit:read']);
  });

  it('finds a nested roles claim by its dotted path, and a namespaced claim by its whole name', () => {
    expect(claimAt({ realm_access: { roles: ['a'] } }, 'realm_access.roles')).toEqual(['a']);
    expect(claimAt({ 'https://example.com/roles': ['b'] }, 'https://example.com/roles')).toEqual(['b']);
    expect(claimAt({ realm_access: ['x'] }, 'realm_access.roles')).toBeUndefined();
    expect(claimAt({ a: { b: null } }, 'a.b.c')).toBeUndefined();
    // Inherited members are not claims.
    expect(claimAt({}, 'constructor')).toBeUndefined();
    expect(claimAt({ a: {} }, 'a.toString')).toBeUndefined();
  });

  it('splits a string claim on spaces and keeps the strings of an array', () => {
    expect(claimValues(' a  b ')).toEqual(['a', 'b']);
    expect(claimValues(['a', 2])).toEqual(['a']);
    expect(claimValues(7)).toEqual([]);
  });
});

describe('the typ of an access token', () => {
  it('compares as RFC 7515 says: case-insensitive, application/ omitted', () => {
    expect(['at+jwt', 'AT+JWT', 'application/at+jwt', 'JWT'].map(normalizedType)).toEqual(['at+jwt', 'at+jwt', 'at+jwt', 'jwt']);
    expect(normalizedType(undefined)).toBeUndefined();
    expect(normalizedType(['at+jwt'])).toBeUndefined();
  });
});
