import type { Pool, PoolClient } from 'pg';
import type { RecordLinks } from '../../src/evidence/record-links';
import { canonicalJson } from '../../src/common/canonical-json';
import type { Keyring } from '../../src/common/crypto/keyring';
import { validateEvent, type ValidatedEvent } from '../../src/evidence/event-validator';
import { EVENT_FACET_NAMES, EVENT_TYPES } from '../../src/evidence/event-types';
import { facetValuesOf } from '../../src/evidence/facets';
import { type ChainEvent, EVENTS_PER_CHAIN, generateChain, type GeneratedChain, type SenderKind } from './chains';
import { copyBytea, copyIn, copyRow } from './copy';
import type { BenchSource } from './senders';

/**
 * Bulk seeding for the query benchmark: the rows the service would have written for the same events, produced
 * without HTTP and loaded with COPY.
 *
 * - `events`: each envelope goes through the service's own `validateEvent` (schema, minimisation with the same
 *   master key, fingerprint, occurred_at), so data and fingerprint are byte for byte what the service stores.
 * - The chain tables come from `deriveChainRows`, a small in-memory linker over the same `links` the service
 *   computes. `verifyAgainstService` checks it against the rows the service's SQL linker wrote for chains sent
 *   through the API, so the bulk rows are known to be the same as the service's.
 * - Events are recorded in time order across chains (an authorization spans two hours; a new one starts every
 *   ~26 s), so one chain's events are spread over the table as they would be in production.
 */

export interface SeedPlan {
  readonly tag: string;
  readonly chains: number;
  /** Chains [0, ingestedChains) go through the API; the rest are bulk-loaded. */
  readonly ingestedChains: number;
  /** When seeding started (Unix ms): bulk chains cover the 30 days before it, ingested ones the last hours. */
  readonly seededAtMs: number;
}

const DAY = 86_400_000;

/** The start of chain `index` (Unix ms). */
export function chainStart(plan: SeedPlan, index: number): number {
  if (index < plan.ingestedChains) return plan.seededAtMs - 3 * 3600_000 + index * 10;
  const bulk = plan.chains - plan.ingestedChains;
  const span = 30 * DAY - 4 * 3600_000;
  return plan.seededAtMs - 30 * DAY + Math.floor(((index - plan.ingestedChains) * span) / Math.max(1, bulk));
}

export function planChain(plan: SeedPlan, index: number): GeneratedChain {
  return generateChain(plan.tag, index, chainStart(plan, index));
}

/** Validates a chain's events the way the service does on ingest. */
export function validateChain(chain: GeneratedChain, keyring: Keyring): ValidatedEvent[] {
  const minimization = { subjectOf: (subject: string) => keyring.pseudonymOf(subject), keepRequestObjects: true };
  return chain.events.map(({ kind, envelope }: ChainEvent) => {
    const outcome = validateEvent(envelope, { sourceKind: kind, minimization, keyring });
    if (!outcome.ok) throw new Error(`generated event ${envelope.id} is invalid: ${JSON.stringify(outcome.problem.toDocument())}`);
    return outcome.event;
  });
}

/**
 * The facets the bulk derivation writes: the ones the linker writes from the events themselves, by their types'
 * declarations (bench:query searches by them). Facets written later by someone else (the verification worker's
 * `independent_verdict` and `verdict_mismatch`, once it has judged a chain) are neither derived nor compared:
 * bulk-loaded chains do not have them, and the check must not depend on how far the worker has got.
 */
export const BULK_FACETS = EVENT_FACET_NAMES;

/** The chain rows of one self-contained set of events, by event index (seqs are given later). */
export interface DerivedChainRows {
  /** Chains each event belongs to. */
  readonly memberOf: readonly (readonly string[])[];
  readonly aliases: readonly { alias: string; chainDigest: string; eventIndex: number }[];
  readonly tokenRefs: readonly { tokenKey: string; role: string; eventIndex: number }[];
  /** The facets each event brings to each of its chains. */
  readonly facets: readonly (readonly { name: string; value: string; chainDigest: string }[])[];
}

/** The linker's facets of one event, from its type's declarations (the meaning the linker's SQL is composed with). */
const facetsOf = (event: ValidatedEvent) => facetValuesOf(EVENT_TYPES.get(event.type)?.facets ?? [], event.data);

/**
 * What the chain linker makes of a set of events that only link among themselves, whatever their arrival order:
 * a record naming a digest joins that chain (or the chain it is an inner-digest alias of); a record naming a
 * token joins every chain that token is in, transitively.
 */
export function deriveChainRows(events: readonly ValidatedEvent[]): DerivedChainRows {
  const links: RecordLinks[] = events.map((event) => event.links);
  const aliasOf = new Map<string, string>();
  const aliases: DerivedChainRows['aliases'][number][] = [];
  links.forEach((link, eventIndex) => {
    if (link.innerDigest && link.digest) {
      aliasOf.set(link.innerDigest, link.digest);
      aliases.push({ alias: link.innerDigest, chainDigest: link.digest, eventIndex });
    }
  });
  const memberOf = links.map(() => new Set<string>());
  links.forEach((link, eventIndex) => {
    if (link.digest) memberOf[eventIndex]!.add(aliasOf.get(link.digest) ?? link.digest);
  });
  // Records joined to an alias digest before the alias was known are moved along too (insertAliases).
  for (let changed = true; changed; ) {
    changed = false;
    links.forEach((link, eventIndex) => {
      if (!link.tokenReference) return;
      for (const [tokenIndex, token] of links.entries()) {
        if (!token.tokenIdentity?.some((key) => link.tokenReference!.keys.includes(key))) continue;
        for (const chain of memberOf[tokenIndex]!) {
          if (!memberOf[eventIndex]!.has(chain)) {
            memberOf[eventIndex]!.add(chain);
            changed = true;
          }
        }
      }
    });
  }
  const tokenRefs = links.flatMap((link, eventIndex) => [
    ...(link.tokenIdentity ?? []).map((tokenKey) => ({ tokenKey, role: 'identity', eventIndex })),
    ...(link.tokenReference?.keys ?? []).map((tokenKey) => ({ tokenKey, role: link.tokenReference!.role, eventIndex })),
  ]);
  return {
    memberOf: memberOf.map((chains) => [...chains].sort()),
    aliases,
    tokenRefs,
    facets: events.map((event, eventIndex) => [...memberOf[eventIndex]!].flatMap((chainDigest) => facetsOf(event).map((facet) => ({ ...facet, chainDigest })))),
  };
}

interface PendingEvent {
  readonly at: number;
  readonly chain: number;
  readonly index: number;
  readonly kind: SenderKind;
  readonly event: ValidatedEvent;
}

interface ChainState {
  readonly rows: DerivedChainRows;
  createdAt?: string;
  readonly facetsSeen: Set<string>;
  flushed: number;
}

/** An event is recorded this long after the sender's timestamp. */
const DELIVERY_DELAY_MS = 150;
/** Chains generated per COPY round (one transaction). */
const BLOCK_CHAINS = 2000;

/**
 * Bulk-loads chains [plan.ingestedChains, plan.chains) with COPY, one transaction per block of chains, in the
 * order the events would have been recorded. Run while nothing else writes to `events`.
 */
export async function bulkSeed(
  pool: Pool,
  plan: SeedPlan,
  sources: Record<SenderKind, Pick<BenchSource, 'id'>>,
  keyring: Keyring,
  log: (message: string) => void,
): Promise<{ events: number; seconds: number }> {
  const started = Date.now();
  const client = await pool.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS bench_seed_events`);
    await client.query(
      `CREATE UNLOGGED TABLE bench_seed_events (seq bigint, source_id uuid, event_id text, type text, emitted_at timestamptz, occurred_at timestamptz, recorded_at timestamptz, fingerprint bytea, data jsonb)`,
    );
    const { rows } = await client.query<{ seq: string }>('SELECT coalesce(max(seq), 0) AS seq FROM events');
    let seq = Number(rows[0]!.seq);
    const pending: PendingEvent[] = [];
    const states = new Map<number, ChainState>();
    let loaded = 0;
    let lastLog = Date.now();

    for (let first = plan.ingestedChains; first < plan.chains; first += BLOCK_CHAINS) {
      const last = Math.min(plan.chains, first + BLOCK_CHAINS);
      for (let index = first; index < last; index++) {
        const chain = planChain(plan, index);
        const validated = validateChain(chain, keyring);
        states.set(index, { rows: deriveChainRows(validated), facetsSeen: new Set(), flushed: 0 });
        validated.forEach((event, eventIndex) =>
          pending.push({ at: event.emittedAt.getTime() + DELIVERY_DELAY_MS, chain: index, index: eventIndex, kind: chain.events[eventIndex]!.kind, event }),
        );
      }
      // Everything recorded before the next block's first chain starts can be written now.
      const until = last < plan.chains ? chainStart(plan, last) : Number.POSITIVE_INFINITY;
      pending.sort((a, b) => a.at - b.at || a.chain - b.chain || a.index - b.index);
      const ready = pending.findIndex((item) => item.at >= until);
      const batch = pending.splice(0, ready === -1 ? pending.length : ready);

      const text = { events: [] as string[], chains: [] as string[], aliases: [] as string[], members: [] as string[], tokenRefs: [] as string[], facets: [] as string[] };
      for (const item of batch) {
        seq++;
        const state = states.get(item.chain)!;
        const recordedAt = new Date(item.at).toISOString();
        const { event } = item;
        text.events.push(
          copyRow([seq, sources[item.kind].id, event.eventId, event.type, event.emittedAt.toISOString(), event.occurredAt.toISOString(), recordedAt, copyBytea(event.fingerprint), JSON.stringify(event.data)]),
        );
        if (state.createdAt === undefined) {
          state.createdAt = recordedAt;
          for (const digest of new Set(state.rows.memberOf.flat())) text.chains.push(copyRow([digest, recordedAt]));
        }
        for (const alias of state.rows.aliases.filter((row) => row.eventIndex === item.index)) text.aliases.push(copyRow([alias.alias, alias.chainDigest, seq]));
        for (const chainDigest of state.rows.memberOf[item.index]!) text.members.push(copyRow([chainDigest, seq, recordedAt]));
        for (const ref of state.rows.tokenRefs.filter((row) => row.eventIndex === item.index)) text.tokenRefs.push(copyRow([ref.tokenKey, ref.role, seq]));
        for (const facet of state.rows.facets[item.index]!) {
          const key = `${facet.name}\u0000${facet.value}\u0000${facet.chainDigest}`;
          if (state.facetsSeen.has(key)) continue;
          state.facetsSeen.add(key);
          text.facets.push(copyRow([facet.name, facet.value, facet.chainDigest, state.createdAt]));
        }
        if (++state.flushed === EVENTS_PER_CHAIN) states.delete(item.chain);
      }
      await loadBlock(client, text);
      loaded += batch.length;
      if (Date.now() - lastLog > 15_000) {
        log(`  ${loaded} events bulk-loaded (${Math.round(loaded / ((Date.now() - started) / 1000))} events/s)`);
        lastLog = Date.now();
      }
    }
    await client.query(`SELECT setval(pg_get_serial_sequence('events', 'seq'), (SELECT max(seq) FROM events))`);
    await client.query(`DROP TABLE bench_seed_events`);
    return { events: loaded, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    client.release();
  }
}

async function loadBlock(client: PoolClient, text: Record<'events' | 'chains' | 'aliases' | 'members' | 'tokenRefs' | 'facets', string[]>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('TRUNCATE bench_seed_events');
    await copyIn(client, 'COPY bench_seed_events FROM STDIN', text.events);
    await client.query(
      `INSERT INTO events (seq, source_id, event_id, type, emitted_at, occurred_at, recorded_at, fingerprint, data) OVERRIDING SYSTEM VALUE
       SELECT seq, source_id, event_id, type, emitted_at, occurred_at, recorded_at, fingerprint, data FROM bench_seed_events ORDER BY seq`,
    );
    // The block brings its own links (below), as the linker would derive them: its queue row goes with it.
    await client.query(`DELETE FROM link_pending WHERE first_seq >= (SELECT min(seq) FROM bench_seed_events) AND first_seq <= (SELECT max(seq) FROM bench_seed_events)`);
    if (text.chains.length > 0) await copyIn(client, 'COPY chains (digest, created_at) FROM STDIN', text.chains);
    if (text.aliases.length > 0) await copyIn(client, 'COPY digest_aliases (alias, chain_digest, event_seq) FROM STDIN', text.aliases);
    if (text.members.length > 0) await copyIn(client, 'COPY chain_members (chain_digest, event_seq, linked_at) FROM STDIN', text.members);
    if (text.tokenRefs.length > 0) await copyIn(client, 'COPY token_refs (token_key, role, event_seq) FROM STDIN', text.tokenRefs);
    if (text.facets.length > 0) await copyIn(client, 'COPY chain_facets (name, value, chain_digest, chain_created_at) FROM STDIN', text.facets);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export interface SeedCheck {
  readonly chains: number;
  readonly events: number;
  readonly mismatches: readonly string[];
}

/**
 * For chains that went through the API: the rows the service wrote equal, set for set, what the bulk path would
 * have written for the same events (events' data, fingerprint and times; chains, aliases, members, token
 * references and the facets of BULK_FACETS). Only seq, recorded_at, created_at and linked_at may differ (they are the moment of
 * writing), and chain_facets.chain_created_at must equal its chain's created_at.
 */
export async function verifyAgainstService(pool: Pool, plan: SeedPlan, chainIndexes: readonly number[], keyring: Keyring): Promise<SeedCheck> {
  const mismatches: string[] = [];
  let eventCount = 0;
  for (const index of chainIndexes) {
    const chain = planChain(plan, index);
    const validated = validateChain(chain, keyring);
    const derived = deriveChainRows(validated);
    const { rows: stored } = await pool.query<{ seq: string; event_id: string; type: string; emitted_at: Date; occurred_at: Date; fingerprint: Buffer; data: unknown }>(
      `SELECT seq, event_id, type, emitted_at, occurred_at, fingerprint, data FROM events WHERE event_id = ANY($1::text[])`,
      [validated.map((event) => event.eventId)],
    );
    const byId = new Map(stored.map((row) => [row.event_id, row]));
    const seqOf = (eventIndex: number) => String(byId.get(validated[eventIndex]!.eventId)?.seq);
    validated.forEach((event) => {
      const row = byId.get(event.eventId);
      eventCount++;
      if (!row) return mismatches.push(`chain ${index}: event ${event.eventId} is not stored`);
      if (row.type !== event.type) mismatches.push(`${event.eventId}: type`);
      if (canonicalJson(row.data) !== canonicalJson(event.data)) mismatches.push(`${event.eventId}: data differs`);
      if (!row.fingerprint.equals(event.fingerprint)) mismatches.push(`${event.eventId}: fingerprint differs`);
      if (row.emitted_at.getTime() !== event.emittedAt.getTime() || row.occurred_at.getTime() !== event.occurredAt.getTime()) mismatches.push(`${event.eventId}: times differ`);
    });
    const seqs = validated.map((_, eventIndex) => seqOf(eventIndex));
    const digests = [...new Set(derived.memberOf.flat())];
    const compare = async (what: string, expected: string[], sql: string, params: unknown[]) => {
      const { rows } = await pool.query<{ row: string }>(sql, params);
      const actual = rows.map((row) => row.row).sort();
      expected.sort();
      if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push(`chain ${index} ${what}: service ${JSON.stringify(actual)} ≠ derived ${JSON.stringify(expected)}`);
    };
    await compare('chains', digests, `SELECT digest AS row FROM chains WHERE digest = ANY($1::text[])`, [digests]);
    await compare(
      'chain_members',
      derived.memberOf.flatMap((chains, eventIndex) => chains.map((digest) => `${digest} ${seqs[eventIndex]}`)),
      `SELECT chain_digest || ' ' || event_seq AS row FROM chain_members WHERE event_seq = ANY($1::bigint[])`,
      [seqs],
    );
    await compare(
      'digest_aliases',
      derived.aliases.map((alias) => `${alias.alias} ${alias.chainDigest} ${seqs[alias.eventIndex]}`),
      `SELECT alias || ' ' || chain_digest || ' ' || event_seq AS row FROM digest_aliases WHERE event_seq = ANY($1::bigint[])`,
      [seqs],
    );
    await compare(
      'token_refs',
      derived.tokenRefs.map((ref) => `${ref.tokenKey} ${ref.role} ${seqs[ref.eventIndex]}`),
      `SELECT token_key || ' ' || role || ' ' || event_seq AS row FROM token_refs WHERE event_seq = ANY($1::bigint[])`,
      [seqs],
    );
    await compare(
      'chain_facets',
      [...new Set(derived.facets.flat().map((facet) => `${facet.name} ${facet.value} ${facet.chainDigest}`))],
      `SELECT f.name || ' ' || f.value || ' ' || f.chain_digest AS row FROM chain_facets f WHERE f.chain_digest = ANY($1::text[]) AND f.name = ANY($2::text[])`,
      [digests, BULK_FACETS],
    );
    const { rows: skew } = await pool.query<{ count: string }>(
      `SELECT count(*) FROM chain_facets f JOIN chains c ON c.digest = f.chain_digest WHERE f.chain_digest = ANY($1::text[]) AND f.chain_created_at <> c.created_at`,
      [digests],
    );
    if (Number(skew[0]!.count) > 0) mismatches.push(`chain ${index}: chain_facets.chain_created_at differs from chains.created_at`);
  }
  return { chains: chainIndexes.length, events: eventCount, mismatches };
}
