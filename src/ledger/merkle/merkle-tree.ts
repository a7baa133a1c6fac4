import * as proofs from './merkle-proofs';

/**
 * The Merkle tree of RFC 9162 section 2.1 (the tree of RFC 6962): SHA-256, leaf hash H(0x00 || leaf), node hash
 * H(0x01 || left || right), a tree of any size split at the largest power of two below its size. Pure functions
 * over plain bytes, shared by the service, its tests and the offline verifier.
 *
 * Sizes and indexes are plain numbers (exact up to 2^53); shifts are written as divisions for that reason.
 */
export type Hash = Buffer;

// The hashing and the proof checks live in merkle-proofs.ts, which the review console runs in the browser too;
// the service works with Buffers (no copy: on Node the hash already is one).
const asBuffer = (bytes: Uint8Array): Hash => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const EMPTY_ROOT: Hash = asBuffer(proofs.EMPTY_ROOT);

export function hashLeaf(data: Uint8Array): Hash {
  return asBuffer(proofs.hashLeaf(data));
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Hash {
  return asBuffer(proofs.hashChildren(left, right));
}

export { verifyConsistency, verifyInclusion } from './merkle-proofs';

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A complete subtree: the 2^level leaves starting at index * 2^level. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A range of leaves [start, end). */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The complete subtrees that make up a range whose start is aligned to the largest of them, left to right and
 * largest first: the nodes whose hashes, folded from the right, give the range's Merkle tree hash (MTH). Every
 * range a proof or a root needs has that shape.
 */
export function completeSubtrees(range: LeafRange): NodeId[] {
  const nodes: NodeId[] = [];
  let start = range.start;
  while (start < range.end) {
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 <= range.end) size *= 2;
    nodes.push({ level: Math.log2(size), index: start / size });
    start += size;
  }
  return nodes;
}

/** MTH of a range from the hashes of its complete subtrees (completeSubtrees order): folded from the right. */
export function foldSubtrees(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let root = hashes[hashes.length - 1]!;
  for (let index = hashes.length - 2; index >= 0; index--) root = hashChildren(hashes[index]!, root);
  return root;
}

/** The ranges whose MTHs form the inclusion proof of leaf m in a tree of size n: PATH(m, D[n]) of RFC 9162 2.1.3.1. */
export function inclusionProofRanges(leafIndex: number, treeSize: number): LeafRange[] {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) throw new RangeError(`leaf ${leafIndex} is not in a tree of size ${treeSize}`);
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = treeSize;
  // Collected top-down; the proof lists them bottom-up.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (leafIndex < start + k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
    }
  }
  return ranges.reverse();
}

/** The ranges whose MTHs form the consistency proof between sizes m < n: PROOF(m, D[n]) of RFC 9162 2.1.4.1. */
export function consistencyProofRanges(fromSize: number, toSize: number): LeafRange[] {
  if (!(fromSize >= 0 && fromSize <= toSize)) throw new RangeError(`no consistency proof from ${fromSize} to ${toSize}`);
  if (fromSize === 0 || fromSize === toSize) return [];
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = toSize;
  let m = fromSize;
  let complete = true;
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!complete) ranges.push({ start, end });
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      m -= k;
      complete = false;
    }
  }
  return ranges.reverse();
}

/** The tree from all its leaf hashes, in memory: the reference the tests compare the node store against. */
export function rootOfLeaves(leafHashes: readonly Hash[], range: LeafRange = { start: 0, end: leafHashes.length }): Hash {
  const n = range.end - range.start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[range.start]!;
  const k = splitPoint(n);
  return hashChildren(rootOfLeaves(leafHashes, { start: range.start, end: range.start + k }), rootOfLeaves(leafHashes, { start: range.start + k, end: range.end }));
}

/** Where the hashes of complete subtrees come from: a map in memory, or the node store after one read. */
export type NodeLookup = (node: NodeId) => Hash | undefined;

export function rangeHash(range: LeafRange, lookup: NodeLookup): Hash {
  return foldSubtrees(
    completeSubtrees(range).map((node) => {
      const hash = lookup(node);
      if (!hash) throw new Error(`node ${node.level}/${node.index} is missing from the node store`);
      return hash;
    }),
  );
}

/** Every complete subtree a set of ranges needs, without repeats: what to read from the node store. */
export function nodesFor(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const range of ranges) for (const node of completeSubtrees(range)) seen.set(`${node.level}/${node.index}`, node);
  return [...seen.values()];
}

/**
 * The right edge of a tree: the hashes of the complete subtrees of [0, size), largest first. Appending a leaf
 * yields the new complete subtrees it closes, which is all the node store needs to grow.
 */
export class CompactRange {
  private constructor(
    private size_: number,
    private readonly hashes: Hash[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** From the stored hashes of completeSubtrees({ start: 0, end: size }), in that order. */
  static of(size: number, hashes: readonly Hash[]): CompactRange {
    if (completeSubtrees({ start: 0, end: size }).length !== hashes.length) throw new Error(`a tree of size ${size} has another number of subtrees`);
    return new CompactRange(size, [...hashes]);
  }

  get size(): number {
    return this.size_;
  }

  /** Adds a leaf; returns every complete subtree it closed, the leaf itself first, with its hash. */
  append(leafHash: Hash): (NodeId & { hash: Hash })[] {
    const index = this.size_;
    const closed: (NodeId & { hash: Hash })[] = [{ level: 0, index, hash: leafHash }];
    let hash = leafHash;
    let level = 0;
    let position = index;
    // Each trailing 1 bit of the old size is a subtree of equal height waiting on its left.
    while (position % 2 === 1) {
      hash = hashChildren(this.hashes.pop()!, hash);
      level += 1;
      position = Math.floor(position / 2);
      closed.push({ level, index: position, hash });
    }
    this.hashes.push(hash);
    this.size_ += 1;
    return closed;
  }

  root(): Hash {
    return foldSubtrees(this.hashes);
  }
}
