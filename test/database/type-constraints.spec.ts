import { EVENT_TYPE_NAMES, FACET_NAMES } from '../../src/evidence/event-types';
import { RULES, SEVERITIES } from '../../src/findings/rule';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The code's lists of event types, facets and finding rules are one place each (the definitions, the rule list); the
 * database's CHECK constraints that allow them were written by migrations, which history cannot change. TypeORM's
 * drift check compares constraints by name only, so this reads the live ones after every migration and compares
 * their values with the code's.
 */
const CONSTRAINTS: readonly { readonly table: string; readonly name: string; readonly allowed: readonly string[]; readonly whatToDo: string }[] = [
  {
    table: 'events',
    name: 'chk_events_type',
    allowed: EVENT_TYPE_NAMES,
    whatToDo: 'a new or removed event type needs a migration that replaces chk_events_type (see docs/architecture.md, "Adding an event type")',
  },
  {
    table: 'chain_facets',
    name: 'chk_chain_facets_name',
    allowed: FACET_NAMES,
    whatToDo: 'a facet a type newly declares needs a migration that replaces chk_chain_facets_name (as migrations/1796210000001-UnsignedChainFacet.ts did)',
  },
  {
    table: 'findings',
    name: 'chk_findings_rule',
    allowed: RULES,
    whatToDo: 'a new finding rule needs a migration that replaces chk_findings_rule',
  },
  { table: 'findings', name: 'chk_findings_severity', allowed: SEVERITIES, whatToDo: 'a new severity needs a migration that replaces chk_findings_severity' },
];

/** The text literals of a CHECK as PostgreSQL prints it: `CHECK ((type = ANY (ARRAY['a'::text, 'b'::text])))`. */
const literalsOf = (definition: string) => [...definition.matchAll(/'((?:[^']|'')*)'::text/g)].map((match) => match[1]!.replaceAll("''", "'"));

describe('the CHECK constraints of the migrated database', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it.each(CONSTRAINTS)('$name allows exactly what the code declares', async ({ table, name, allowed, whatToDo }) => {
    const rows = await db.rows<{ definition: string }>(
      `SELECT pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.conname = $2 AND c.contype = 'c'`,
      [table, name],
    );
    expect(rows).toHaveLength(1);
    const live = literalsOf(rows[0]!.definition);
    const missing = allowed.filter((value) => !live.includes(value));
    const extra = live.filter((value) => !allowed.includes(value));
    // The message is the instruction: the reader of a failing run learns what to add.
    expect({ missing, extra, whatToDo: missing.length + extra.length > 0 ? whatToDo : 'nothing' }).toEqual({ missing: [], extra: [], whatToDo: 'nothing' });
  });
});
