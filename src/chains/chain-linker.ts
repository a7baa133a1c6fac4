import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChainLinksRepository, type ChainMember, type TokenRefRow } from './chain-links.repository';
import type { RecordLinks } from './record-links';

export interface RecordToLink {
  readonly seq: string;
  readonly links: RecordLinks;
}

/**
 * Turns newly recorded events into chain membership, whatever order their records arrive in.
 *
 * A record joins a chain directly (it names the digest) or through a token (it names a token that is in the
 * chain). When a token joins a chain, everything that names it joins too, and so on down: a late parent
 * completes the chain of every refresh token, tool call and revocation that arrived before it.
 *
 * Concurrency: two records that can link to each other share a lock key (a token key or a digest), taken for the
 * rest of the transaction before anything is read; a token reached through older links has its keys locked
 * before its dependents are read. So of two transactions that could each miss the other, the second waits for
 * the first to commit and then sees it.
 */
@Injectable()
export class ChainLinker {
  constructor(private readonly links: ChainLinksRepository) {}

  async link(manager: EntityManager, records: readonly RecordToLink[]): Promise<ChainMember[]> {
    if (records.length === 0) return [];
    await this.links.lock(manager, lockKeysOf(records));
    await this.links.insertTokenRefs(manager, tokenRefsOf(records));

    const made: ChainMember[] = [];
    made.push(
      ...(await this.links.insertAliases(
        manager,
        records.flatMap(({ seq, links }) =>
          links.innerDigest && links.digest ? [{ alias: links.innerDigest, chainDigest: links.digest, eventSeq: seq }] : [],
        ),
      )),
    );
    made.push(...(await this.links.linkDirect(manager, records.flatMap(({ seq, links }) => (links.digest ? [{ eventSeq: seq, digest: links.digest }] : [])))));
    made.push(...(await this.links.linkToReferencedTokens(manager, records.filter(({ links }) => links.tokenReference).map(({ seq }) => seq))));

    const createdHere = new Set(records.map(({ seq }) => seq));
    const knownNotTokens = new Set(records.filter(({ links }) => !links.tokenIdentity?.length).map(({ seq }) => seq));
    let frontier = made.filter((member) => !knownNotTokens.has(member.eventSeq));
    while (frontier.length > 0) {
      // Tokens created in this transaction are locked already; older ones reached through links are not.
      await this.links.lockTokenKeysOf(manager, [...new Set(frontier.map((m) => m.eventSeq).filter((seq) => !createdHere.has(seq)))]);
      const next = await this.links.linkDependents(manager, frontier);
      made.push(...next);
      frontier = next.filter((member) => !knownNotTokens.has(member.eventSeq));
    }

    await this.links.insertFacets(manager, made);
    return made;
  }
}

function lockKeysOf(records: readonly RecordToLink[]): string[] {
  const keys = new Set<string>();
  for (const { links } of records) {
    if (links.digest) keys.add(`digest:${links.digest}`);
    if (links.innerDigest) keys.add(`digest:${links.innerDigest}`);
    for (const key of links.tokenIdentity ?? []) keys.add(key);
    for (const key of links.tokenReference?.keys ?? []) keys.add(key);
  }
  return [...keys].sort();
}

function tokenRefsOf(records: readonly RecordToLink[]): TokenRefRow[] {
  return records.flatMap(({ seq, links }) => [
    ...(links.tokenIdentity ?? []).map((tokenKey) => ({ tokenKey, role: 'identity' as const, eventSeq: seq })),
    ...(links.tokenReference?.keys ?? []).map((tokenKey) => ({ tokenKey, role: links.tokenReference!.role, eventSeq: seq })),
  ]);
}
