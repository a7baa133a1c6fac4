import { Keyring } from '../common/crypto/keyring';
import { EVENT_TYPE_NAMES, EVENT_TYPES, FACET_NAMES } from './event-types';
import { facetValuesOf } from './facets';
import { linksOf } from './record-links';
import { validateEvent } from './event-validator';

const keyring = new Keyring(Buffer.alloc(32, 7));
const definitions = [...EVENT_TYPES.values()];

describe('every event type', () => {
  it('is listed once', () => {
    expect(new Set(EVENT_TYPE_NAMES).size).toBe(definitions.length);
  });

  it.each(definitions)('$type: its example passes ingest from its sender kind, and the definition reads it whole', (definition) => {
    const outcome = validateEvent(
      { id: 'evt-1', type: definition.type, timestamp: '2026-11-28T10:00:00Z', data: definition.example },
      { sourceKind: definition.senderKind, minimization: { subjectOf: (subject) => `psn:${subject}`, keepRequestObjects: false }, keyring },
    );
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problem.toDocument()));
    const stored = outcome.event.data;
    // A record joins a chain by a digest or a token: one that names neither could never be found.
    const links = linksOf(definition.links, stored);
    expect(links.digest !== undefined || (links.tokenIdentity?.length ?? 0) > 0 || (links.tokenReference?.keys.length ?? 0) > 0).toBe(true);
    expect(definition.summarize(stored, { sourceName: 'example source' })).toMatch(/\S/);
    for (const facet of facetValuesOf(definition.facets, stored)) expect(FACET_NAMES).toContain(facet.name);
  });
});
