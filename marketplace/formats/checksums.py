"""Checksums as S3 spells them, shared by the storage adapters and the SDK's transfer code.
Standard library only: the SDK imports it without loading the server."""

from __future__ import annotations

import base64
import zlib

CRC32_HEADER = "x-amz-checksum-crc32"


def crc32_b64(data: bytes | bytearray | memoryview, running: int = 0) -> str:
    """A part's CRC-32 as S3 spells it (`running` continues a CRC computed over earlier bytes)."""
    return base64.b64encode(zlib.crc32(data, running).to_bytes(4, "big")).decode()
