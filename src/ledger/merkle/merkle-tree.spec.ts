import { randomBytes } from 'node:crypto';
import {
  CompactRange,
  completeSubtrees,
  consistencyProofRanges,
  EMPTY_ROOT,
  hashLeaf,
  inclusionProofRanges,
  type NodeId,
  rangeHash,
  rootOfLeaves,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from './merkle-tree';

const hex = (value: string) => Buffer.from(value, 'hex');

/**
 * Known answers from the RFC 6962 reference test data, as published in github.com/transparency-dev/merkle
 * (testonly/constants.go, proof/verify_test.go; the same values as google/certificate-transparency's
 * merkle_tree_test): eight leaf inputs, the root of every prefix, and known inclusion and consistency proofs.
 */
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** Inclusion proofs: 1-based leaf number, tree size, proof. */
const INCLUSION: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [2, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];

/** The node store of a tree, built the way the sequencer builds it: leaf by leaf through a compact range. */
function nodeStoreOf(leafHashes: readonly Hash[]): Map<string, Hash> {
  const store = new Map<string, Hash>();
  const range = CompactRange.empty();
  for (const leaf of leafHashes) for (const node of range.append(leaf)) store.set(`${node.level}/${node.index}`, node.hash);
  return store;
}
const lookupIn = (store: Map<string, Hash>) => (node: NodeId) => store.get(`${node.level}/${node.index}`);

function inclusionProof(store: Map<string, Hash>, leafIndex: number, treeSize: number): Hash[] {
  return inclusionProofRanges(leafIndex, treeSize).map((range) => rangeHash(range, lookupIn(store)));
}
function consistencyProof(store: Map<string, Hash>, fromSize: number, toSize: number): Hash[] {
  return consistencyProofRanges(fromSize, toSize).map((range) => rangeHash(range, lookupIn(store)));
}

describe('the Merkle tree (RFC 9162 2.1) against the RFC 6962 reference vectors', () => {
  const leafHashes = LEAF_INPUTS.map(hashLeaf);
  const store = nodeStoreOf(leafHashes);

  it('has the published root for every size from 0 to 8, computed whole, by compact range and from the node store', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
    const range = CompactRange.empty();
    ROOTS.forEach((root, size) => {
      expect(rootOfLeaves(leafHashes.slice(0, size)).toString('hex')).toBe(root);
      expect(rangeHash({ start: 0, end: size }, lookupIn(store)).toString('hex')).toBe(root);
      expect(range.root().toString('hex')).toBe(root);
      if (size < leafHashes.length) range.append(leafHashes[size]!);
    });
  });

  it.each(INCLUSION)('produces and verifies the published inclusion proof of leaf %i in a tree of %i', (leaf, size, proof) => {
    expect(inclusionProof(store, leaf - 1, size).map((hash) => hash.toString('hex'))).toEqual(proof);
    expect(verifyInclusion(leaf - 1, size, leafHashes[leaf - 1]!, proof.map(hex), hex(ROOTS[size]!))).toBe(true);
  });

  it.each(CONSISTENCY)('produces and verifies the published consistency proof from %i to %i', (from, to, proof) => {
    expect(consistencyProof(store, from, to).map((hash) => hash.toString('hex'))).toEqual(proof);
    expect(verifyConsistency(from, to, hex(ROOTS[from]!), hex(ROOTS[to]!), proof.map(hex))).toBe(true);
  });

  it('refuses the published proofs once anything about them is wrong', () => {
    const [leaf, size, published] = INCLUSION[2]!;
    const proof = published.map(hex);
    const root = hex(ROOTS[size]!);
    const leafHash = leafHashes[leaf - 1]!;
    expect(verifyInclusion(leaf - 2, size, leafHash, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, size, leafHash, proof, root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size * 2, leafHash, proof, root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size / 2, leafHash, proof, root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size, hashLeaf(Buffer.from('WrongLeaf')), proof, root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size, leafHash, proof, EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(leaf - 1, size, leafHash, [...proof, root], root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size, leafHash, [root, ...proof], root)).toBe(false);
    expect(verifyInclusion(leaf - 1, size, leafHash, proof.slice(0, -1), root)).toBe(false);
    const [from, to, consistency] = CONSISTENCY[2]!;
    const cproof = consistency.map(hex);
    expect(verifyConsistency(from, to, hex(ROOTS[to]!), hex(ROOTS[from]!), cproof)).toBe(false);
    expect(verifyConsistency(from - 1, to, hex(ROOTS[from]!), hex(ROOTS[to]!), cproof)).toBe(false);
    expect(verifyConsistency(from, to, hex(ROOTS[from]!), hex(ROOTS[to]!), [])).toBe(false);
    expect(verifyConsistency(from, to, hex(ROOTS[from]!), hex(ROOTS[to]!), cproof.slice(0, -1))).toBe(false);
    expect(verifyConsistency(from, to, hex(ROOTS[from]!), hex(ROOTS[to]!), [...cproof, hex(ROOTS[to]!)])).toBe(false);
  });

  it('splits any range into aligned complete subtrees, largest first', () => {
    expect(completeSubtrees({ start: 0, end: 7 })).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(completeSubtrees({ start: 0, end: 0 })).toEqual([]);
  });
});

describe('the Merkle tree over random trees', () => {
  /** A small deterministic generator, so that a failure can be replayed from its seed. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  const sizes = [1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70];
  const trees = sizes.map((size) => {
    const leaves = Array.from({ length: size }, () => hashLeaf(randomBytes(8)));
    return { size, leaves, store: nodeStoreOf(leaves), roots: Array.from({ length: size + 1 }, (_, n) => rootOfLeaves(leaves.slice(0, n))) };
  });

  it('verifies every inclusion proof of every leaf in every prefix, and refuses each one with a flipped bit or another index', () => {
    const next = random(42);
    const wrong: string[] = [];
    for (const { size, leaves, store, roots } of trees) {
      for (let treeSize = 1; treeSize <= size; treeSize++) {
        for (let leaf = 0; leaf < treeSize; leaf++) {
          const proof = inclusionProof(store, leaf, treeSize);
          const root = roots[treeSize]!;
          if (!verifyInclusion(leaf, treeSize, leaves[leaf]!, proof, root)) wrong.push(`refused ${leaf}/${treeSize}`);
          const tampered = proof.map((hash) => Buffer.from(hash));
          if (tampered.length > 0) tampered[Math.floor(next() * proof.length)]![Math.floor(next() * 32)]! ^= 1 << Math.floor(next() * 8);
          if (tampered.length > 0 && verifyInclusion(leaf, treeSize, leaves[leaf]!, tampered, root)) wrong.push(`accepted a flipped bit ${leaf}/${treeSize}`);
          if (treeSize > 1 && verifyInclusion((leaf + 1) % treeSize, treeSize, leaves[leaf]!, proof, root)) wrong.push(`accepted another index ${leaf}/${treeSize}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('verifies every consistency proof between any two prefixes, and refuses it against another root', () => {
    const wrong: string[] = [];
    for (const { size, store, roots } of trees) {
      for (let from = 1; from <= size; from++) {
        for (let to = from; to <= size; to++) {
          const proof = consistencyProof(store, from, to);
          if (!verifyConsistency(from, to, roots[from]!, roots[to]!, proof)) wrong.push(`refused ${from}→${to}`);
          if (from < to && verifyConsistency(from, to, hashLeaf(Buffer.from('another tree')), roots[to]!, proof)) wrong.push(`accepted another first root ${from}→${to}`);
          if (from < to && verifyConsistency(from, to, roots[from]!, roots[to - 1]!, proof)) wrong.push(`accepted another second root ${from}→${to}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
