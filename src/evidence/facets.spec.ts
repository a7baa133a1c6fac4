import { EVENT_TYPES, FACET_NAMES } from './event-types';
import { facetValuesOf } from './facets';
import { requestObjectVerificationEvent } from './types/verification-event';

const verificationFacets = (data: object) => facetValuesOf(requestObjectVerificationEvent.facets, data);

describe('facets declared by the event types', () => {
  it('reads the text at a path, and brings nothing where the path is absent', () => {
    expect(verificationFacets({ client_id: 'agent-app', issuer: 'https://as.example.com', header: { alg: 'PS256' } })).toEqual([
      { name: 'client_id', value: 'agent-app' },
      { name: 'issuer', value: 'https://as.example.com' },
    ]);
    expect(verificationFacets({ client_id: 'agent-app' })).toEqual([{ name: 'client_id', value: 'agent-app' }]);
  });

  it('marks a plain authorization request or a request object with alg "none" as unsigned, and nothing else', () => {
    const unsigned = (data: object) => verificationFacets(data).some((facet) => facet.name === 'unsigned' && facet.value === 'true');
    expect(unsigned({ unsigned: true })).toBe(true);
    expect(unsigned({ header: { alg: 'none' } })).toBe(true);
    expect(unsigned({ unsigned: false, header: { alg: 'ES256' } })).toBe(false);
    expect(unsigned({ header: { alg: 'None' } })).toBe(false);
    expect(unsigned({ header: ['none'] })).toBe(false);
  });

  it('come from each type, and a chain can hold only facets some type or verdict declares', () => {
    expect(facetValuesOf(EVENT_TYPES.get('consent.decision')!.facets, { subject: 'psn:abc' })).toEqual([{ name: 'subject', value: 'psn:abc' }]);
    expect(facetValuesOf(EVENT_TYPES.get('tool_call.recorded')!.facets, { tool: 'mail' })).toEqual([{ name: 'tool', value: 'mail' }]);
    expect([...FACET_NAMES].sort()).toEqual(['client_id', 'independent_verdict', 'issuer', 'subject', 'tool', 'unsigned', 'verdict_mismatch']);
  });
});
