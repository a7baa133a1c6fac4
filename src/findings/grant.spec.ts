import { entryShortfall, excessOf, isEmptyExcess, unionOf } from './grant';

const ALL = { scope: true, resource: true, authorization_details: true };

describe('comparing grants', () => {
  it('compares scopes as case-sensitive sets of space-delimited tokens (RFC 6749 section 3.3)', () => {
    expect(excessOf({ scope: 'b a' }, { scope: 'a b c' }, ALL).scopes).toEqual([]);
    expect(excessOf({ scope: 'a B' }, { scope: 'a b' }, ALL).scopes).toEqual(['B']);
  });

  it('compares resources exactly, one string or an array (RFC 8707)', () => {
    expect(excessOf({ resource: ['https://a.example/'] }, { resource: 'https://a.example/' }, ALL).resources).toEqual([]);
    expect(excessOf({ resource: 'https://a.example' }, { resource: 'https://a.example/' }, ALL).resources).toEqual(['https://a.example']);
  });

  it('covers an authorization_details entry by a granted entry of its type whose common arrays include its own (RFC 9396)', () => {
    const granted = { type: 'payment', actions: ['read', 'initiate'], locations: ['https://bank.example/'] };
    expect(entryShortfall({ type: 'payment', actions: ['read'] }, granted)).toBeUndefined();
    expect(entryShortfall({ type: 'payment', actions: ['cancel'] }, granted)).toEqual({ exceeds: ['actions'], notComparable: [] });
    expect(entryShortfall({ type: 'account' }, granted)).toEqual({ exceeds: ['type'], notComparable: [] });
    // A member absent from the granted entry restricts nothing.
    expect(entryShortfall({ type: 'payment', datatypes: ['x'] }, granted)).toBeUndefined();
  });

  it('never guesses about type-specific members: a difference there is not comparable, reported as such', () => {
    const excess = excessOf({ authorization_details: [{ type: 'payment', instructedAmount: { amount: '500' } }] }, { authorization_details: [{ type: 'payment', instructedAmount: { amount: '50' } }] }, ALL);
    expect(excess.authorization_details).toEqual([{ entry: { type: 'payment', instructedAmount: { amount: '500' } }, not_comparable: ['instructedAmount'] }]);
  });

  it('restricts only the kinds asked to, and unions several grants', () => {
    expect(isEmptyExcess(excessOf({ scope: 'x' }, {}, { scope: false, resource: true, authorization_details: true }))).toBe(true);
    expect(unionOf([{ scope: 'a' }, { scope: 'b a', resource: 'https://r.example/' }])).toEqual({ scope: 'a b', resource: ['https://r.example/'] });
  });
});
