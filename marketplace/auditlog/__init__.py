"""The tamper-evident audit log: sealing events into hash-linked, signed Merkle blocks, offline
verification, inclusion proofs, role-scoped queries and exports. Events themselves are written
by the kernel's `marketplace.kernel.audit.record`."""
