"""Licensing: licence registry and terms, provenance and lineage, compatibility, grants' terms,
and standard exports (Croissant, PROV, SPDX, CycloneDX). Imports `catalog` and the kernel."""
