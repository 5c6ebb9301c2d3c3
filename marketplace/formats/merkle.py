"""RFC 6962 Merkle trees (Certificate Transparency): leaf = SHA-256(0x00 || data), node =
SHA-256(0x01 || left || right), split at the largest power of two below n. Pure functions."""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: list[bytes]) -> bytes:
    """Merkle tree hash of already-hashed leaves."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return _node(root(leaves[:k]), root(leaves[k:]))


def audit_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """The sibling hashes from leaf `index` up to the root (RFC 6962 §2.1.1)."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return audit_path(index, leaves[:k]) + [root(leaves[k:])]
    return audit_path(index - k, leaves[k:]) + [root(leaves[:k])]


class Tree:
    """One tree, for many audit paths: each subtree root is hashed once, so the paths of every
    leaf of an n-leaf tree cost O(n) hashes in all (audit_path alone costs O(n) per leaf)."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves
        self._roots: dict[tuple[int, int], bytes] = {}

    def _root(self, lo: int, hi: int) -> bytes:
        found = self._roots.get((lo, hi))
        if found is None:
            n = hi - lo
            if n == 0:
                found = hashlib.sha256(b"").digest()
            elif n == 1:
                found = self.leaves[lo]
            else:
                k = _split(n)
                found = _node(self._root(lo, lo + k), self._root(lo + k, hi))
            self._roots[(lo, hi)] = found
        return found

    def root(self) -> bytes:
        return self._root(0, len(self.leaves))

    def path(self, index: int) -> list[bytes]:
        """The same path as audit_path(index, leaves), bottom-up."""
        siblings: list[bytes] = []
        lo, hi = 0, len(self.leaves)
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(self._root(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._root(lo, lo + k))
                lo = lo + k
        return siblings[::-1]


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """Recompute the root from one leaf and its audit path (RFC 9162 §2.1.3.2)."""
    if index >= size:
        raise ValueError("index out of range")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("path too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("path too short")
    return r


# --------------------------------------------------------------------------- the growing log tree

# The log tree is one RFC 6962 tree over every sealed leaf, in sealing order. A checkpoint (block)
# signs its size and root, so an auditor who kept an old checkpoint can ask for a consistency
# proof and check that the log only grew. The frontier (the roots of the perfect subtrees that
# make up the tree, left to right) is enough to append leaves and recompute the root.

Frontier = list[tuple[int, bytes]]  # (height, subtree root), heights strictly decreasing


def frontier_append(frontier: Frontier, leaf: bytes) -> Frontier:
    """Append one leaf hash: a binary-counter merge of equal-height subtrees."""
    out = list(frontier)
    out.append((0, leaf))
    while len(out) >= 2 and out[-1][0] == out[-2][0]:
        (h, right), (_, left) = out.pop(), out.pop()
        out.append((h + 1, _node(left, right)))
    return out


def frontier_root(frontier: Frontier) -> bytes:
    """The RFC 6962 tree hash of the leaves a frontier stands for."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    r = frontier[-1][1]
    for _, h in reversed(frontier[:-1]):
        r = _node(h, r)
    return r


def frontier_size(frontier: Frontier) -> int:
    return sum(1 << h for h, _ in frontier)


def consistency_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(m, D[n]): the nodes that show the first m leaves' tree is a prefix."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError("the first tree size must be between 1 and the second")
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_consistency(m: int, n: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether `proof` shows the tree of size m (first_root) is a prefix of
    the tree of size n (second_root)."""
    if m < 1 or m > n:
        return False
    if m == n:
        return not proof and first_root == second_root
    if m & (m - 1) == 0:  # a power of two: the first root is itself a node of the proof
        proof = [first_root] + list(proof)
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
