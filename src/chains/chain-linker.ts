import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChainLinksRepository, type ChainMember, type TokenRefRow } from './chain-links.repository';
import type { RecordLinks } from '../evidence/record-links';

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
 * It runs after commit, in the linker's transaction (LinkerWorker): one linker transaction at a time cluster-wide,
 * so every batch sees every record of the batches linked before it, and a record linked late finds whatever
 * arrived before it. Together the two directions (a new record joins its parent's chains; a new token pulls in
 * what named it earlier) make membership independent of arrival order.
 */
@Injectable()
export class ChainLinker {
  constructor(private readonly links: ChainLinksRepository) {}

  async link(manager: EntityManager, records: readonly RecordToLink[]): Promise<ChainMember[]> {
    if (records.length === 0) return [];
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

    const knownNotTokens = new Set(records.filter(({ links }) => !links.tokenIdentity?.length).map(({ seq }) => seq));
    let frontier = made.filter((member) => !knownNotTokens.has(member.eventSeq));
    while (frontier.length > 0) {
      const next = await this.links.linkDependents(manager, frontier);
      made.push(...next);
      frontier = next.filter((member) => !knownNotTokens.has(member.eventSeq));
    }

    await this.links.awaitVerdictsInFlight(manager, [...new Set(made.map((member) => member.eventSeq))]);
    await this.links.insertFacets(manager, made);
    return made;
  }
}

function tokenRefsOf(records: readonly RecordToLink[]): TokenRefRow[] {
  return records.flatMap(({ seq, links }) => [
    ...(links.tokenIdentity ?? []).map((tokenKey) => ({ tokenKey, role: 'identity' as const, eventSeq: seq })),
    ...(links.tokenReference?.keys ?? []).map((tokenKey) => ({ tokenKey, role: links.tokenReference!.role, eventSeq: seq })),
  ]);
}
