"""The one-tree-many-paths Merkle helper that organisation exports use gives exactly the RFC 6962
paths of the reference functions, for every leaf of trees of every shape."""

from __future__ import annotations

import hashlib

from marketplace.formats import merkle


def test_tree_paths_are_the_reference_paths():
    for n in list(range(1, 40)) + [63, 64, 65, 100, 257]:
        leaves = [merkle.leaf_hash(hashlib.sha256(f"{n}:{i}".encode()).digest()) for i in range(n)]
        tree = merkle.Tree(leaves)
        assert tree.root() == merkle.root(leaves)
        for i in range(n):
            path = tree.path(i)
            assert path == merkle.audit_path(i, leaves), (n, i)
            assert merkle.root_from_path(i, n, leaves[i], path) == merkle.root(leaves)


def test_a_tree_hashes_each_subtree_once():
    n = 1000
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = merkle.Tree(leaves)
    for i in range(n):
        tree.path(i)
    assert len(tree._roots) < 2 * n  # O(n) subtrees in all, not O(n) per path
