"""Measuring media at ingest: audio, images and video from their headers and indexes.

Every measurement reads a seekable file (ranged reads of the stored object, or a spooled tar
member), never the whole payload: a 4 GiB FLAC costs a few kilobytes at its head and its tail.
The libraries: mutagen for audio headers (pure Python, exact sample counts for FLAC and Ogg,
seeks instead of decoding), Pillow for image headers, pydicom for DICOM headers without the
pixel data, and PyAV (FFmpeg's libraries in a wheel) for video containers and streams. RIFF/WAVE
is parsed here: its header is a few fixed fields, and only a parse of our own can tell a data
chunk that claims more bytes than the file holds (a truncated recording).

A file that is not what its extension says, or that stops short of what its header promises,
raises `MediaProblem` with a reason the vendor can read.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import tarfile
import tempfile
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple

import av
import mutagen
import pydicom
from mutagen.flac import FLAC, FLACNoHeaderError
from mutagen.mp3 import MP3, HeaderNotFoundError
from mutagen.ogg import OggPage
from PIL import Image, UnidentifiedImageError

from catalog.analysis import MEDIA_FORMATS, VIDEO_FORMATS, Analysis, RangeReader, format_for_path, kind_of
from catalog.storage import StorageUnavailable

log = logging.getLogger(__name__)

# Image.open refuses more pixels than this (a decompression bomb); a 200-megapixel scan is real.
Image.MAX_IMAGE_PIXELS = 200_000_000


class MediaProblem(ValueError):
    """The file cannot be measured: its reason is what the vendor reads."""


def measure(fmt: str, f: IO[bytes], size: int) -> dict[str, Any]:
    """The file's figures: for audio, codec, duration, sample rate, channels and bit depth; for
    images, dimensions and colour mode; for video, duration, resolution, frame rate and codecs.
    Durations are whole milliseconds (`duration_ms`, rounded to the nearest), what per-hour
    offers meter; `samples` is given where the container states it exactly."""
    if size <= 0:
        raise MediaProblem("the file is empty")
    measurer = _MEASURERS.get(fmt)
    if measurer is None:
        raise MediaProblem(f"{fmt} is not a media format")
    try:
        info = measurer(f, size)
    except MediaProblem:
        raise
    except (OSError, ValueError, EOFError, struct.error, mutagen.MutagenError, av.FFmpegError) as exc:
        # Every library says "corrupt" in its own words; the vendor reads one.
        raise MediaProblem(f"not a readable {fmt.upper()} file ({_first_line(exc)})") from exc
    info["kind"] = kind_of(fmt)
    _plausible(fmt, info, size)
    return info


# A header states a duration; compressed media cannot hold it in fewer bits than this per
# second (Opus with discontinuous transmission, the leanest codec here, needs several hundred).
MIN_BITS_PER_SECOND = 100


def _plausible(fmt: str, info: dict[str, Any], size: int) -> None:
    """Refuse a duration the file's bytes cannot hold: a header that lies about its length
    would otherwise bill a per-hour buyer for hours that are not there."""
    ms = info.get("duration_ms")
    if ms and fmt != "wav" and ms / 1000 * MIN_BITS_PER_SECOND > size * 8:
        raise MediaProblem(f"the header claims {ms / 1000:,.3f} s in {size:,} bytes (under {MIN_BITS_PER_SECOND} bits per second): the header is wrong")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _audio(codec: str, *, samples: int | None, sample_rate: int, channels: int, bit_depth: int | None, seconds: float | None = None) -> dict[str, Any]:
    if sample_rate <= 0 or channels <= 0:
        raise MediaProblem(f"the header states {sample_rate} Hz and {channels} channel(s)")
    secs = samples / sample_rate if samples is not None else float(seconds or 0)
    return {"codec": codec, "duration_ms": _ms(secs), "samples": samples, "sample_rate": sample_rate, "channels": channels, "bit_depth": bit_depth,
            "duration_seconds": round(secs, 3)}


# --------------------------------------------------------------------------- audio

# WAVE format tags whose byte rate is rate × channels × bytes per sample.
_WAV_CODECS = {1: "pcm", 3: "pcm_float", 6: "alaw", 7: "mulaw", 0xFFFE: "pcm"}


def _wav(f: IO[bytes], size: int) -> dict[str, Any]:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise MediaProblem("not a RIFF/WAVE file")
    fmt: dict[str, int] | None = None
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk = f.read(8)
        if len(chunk) < 8:
            break
        cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            body = f.read(min(clen, 40))
            if len(body) < 16:
                raise MediaProblem("the WAV fmt chunk is too short")
            tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = {"tag": tag, "channels": channels, "rate": rate, "byte_rate": byte_rate, "block_align": block_align, "bits": bits}
        elif cid == b"data":
            if fmt is None:
                raise MediaProblem("the WAV data chunk comes before its fmt chunk")
            return _wav_figures(fmt, clen, size - pos - 8)
        pos += 8 + clen + (clen & 1)
    raise MediaProblem("the WAV file has no data chunk" if fmt else "the WAV file has no fmt chunk")


def _wav_figures(fmt: dict[str, int], declared: int, held: int) -> dict[str, Any]:
    codec = _WAV_CODECS.get(fmt["tag"])
    if codec is None:
        raise MediaProblem(f"WAV codec tag 0x{fmt['tag']:04x} is not measured; deliver PCM, A-law or µ-law WAV, or FLAC")
    rate, channels, bits, byte_rate = fmt["rate"], fmt["channels"], fmt["bits"], fmt["byte_rate"]
    if not (1000 <= rate <= 768_000 and channels > 0 and bits > 0 and byte_rate == rate * channels * ((bits + 7) // 8)):
        # A header that lies about its rates would make "measured" hours say anything.
        raise MediaProblem(f"WAV header inconsistent: {rate} Hz × {channels} channel(s) × {bits} bits is not its byte rate {byte_rate}")
    if declared == 0xFFFFFFFF or (declared == 0 and held > 0):
        declared = held  # a streamed recording that never went back to write its length
    if declared > held:
        raise MediaProblem(f"truncated: the WAV header promises {declared} bytes of audio, the file holds {held}")
    frame = channels * ((bits + 7) // 8)
    if codec == "pcm" and bits > 8:
        codec = f"pcm_s{bits}le"
    return _audio(codec, samples=declared // frame, sample_rate=rate, channels=channels, bit_depth=bits)


def _flac(f: IO[bytes], size: int) -> dict[str, Any]:
    if f.read(4) != b"fLaC":
        raise MediaProblem("not a FLAC file")
    f.seek(0)
    try:
        info = FLAC(f).info
    except FLACNoHeaderError as exc:
        raise MediaProblem("not a FLAC file") from exc
    if not info.total_samples:
        raise MediaProblem("the FLAC header does not state how many samples the file holds")
    end, rate = _flac_last_frame_end(f, size, info)
    if rate is not None and rate != info.sample_rate:
        raise MediaProblem(f"the FLAC header says {info.sample_rate} Hz, its frames say {rate} Hz")
    if end < 0:
        raise MediaProblem(f"truncated: the FLAC header promises {info.total_samples} samples and the file's last frame is cut short")
    if end != info.total_samples:
        raise MediaProblem(f"truncated: the FLAC header promises {info.total_samples} samples, the last whole frame ends at sample {end}")
    return _audio("flac", samples=info.total_samples, sample_rate=info.sample_rate, channels=info.channels, bit_depth=info.bits_per_sample)


def _crc_table(poly: int, width: int) -> list[int]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return table


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)


def _crc8(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = _CRC8[crc ^ b]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ b]
    return crc


_FLAC_BLOCK = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608, 8: 256, 9: 512, 10: 1024, 11: 2048, 12: 4096, 13: 8192, 14: 16384, 15: 32768}


def _flac_last_frame_end(f: IO[bytes], size: int, info: Any) -> tuple[int, int | None]:
    """The sample after the last complete frame, and the sample rate its header states (None:
    "as in STREAMINFO"): the file's tail is searched backwards for a frame header whose CRC-8
    holds and whose frame (to the end of the file) passes its CRC-16. A truncated file has no
    such frame that ends at the promised sample."""
    tail_len = min(size, max(int(info.max_framesize or 0) * 2 + 64, 1 << 20) if info.max_framesize else 1 << 20)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    if tail[-128:-125] == b"TAG":  # an ID3v1 tag some taggers append
        tail = tail[:-128]
    i = len(tail) - 2
    while i >= 0:
        i = tail.rfind(b"\xff", 0, i + 1)
        if i < 0:
            break
        if tail[i + 1] in (0xF8, 0xF9):
            parsed = _flac_header(tail, i)
            if parsed is not None:
                first, block, variable, rate = parsed
                if _crc16(tail[i:]) == 0:
                    start = first if variable else first * int(info.min_blocksize or info.max_blocksize)
                    return start + block, rate
                return -1, rate  # the last frame is cut short
        i -= 1
    return -1, None


_FLAC_RATES = {1: 88200, 2: 176400, 3: 192000, 4: 8000, 5: 16000, 6: 22050, 7: 24000, 8: 32000, 9: 44100, 10: 48000, 11: 96000}


def _flac_header(buf: bytes, i: int) -> tuple[int, int, bool, int | None] | None:
    """(frame or sample number, block size, variable blocking, sample rate or None) of a valid
    frame header at i."""
    if i + 6 > len(buf):
        return None
    b2, b3 = buf[i + 2], buf[i + 3]
    bs_code, sr_code, ch, ss = b2 >> 4, b2 & 0x0F, b3 >> 4, (b3 >> 1) & 0x07
    if bs_code == 0 or sr_code == 15 or ch > 10 or ss in (3,) or b3 & 1:
        return None
    pos = i + 4
    lead = buf[pos]
    n = 0
    while n < 7 and lead & (0x80 >> n):
        n += 1
    if n == 1 or n > 7:
        return None
    value = lead & (0x7F >> n) if n else lead
    extra = max(n - 1, 0)
    if pos + 1 + extra > len(buf):
        return None
    for b in buf[pos + 1:pos + 1 + extra]:
        if b & 0xC0 != 0x80:
            return None
        value = (value << 6) | (b & 0x3F)
    pos += 1 + extra
    if bs_code == 6:
        block = buf[pos] + 1 if pos < len(buf) else 0
        pos += 1
    elif bs_code == 7:
        block = int.from_bytes(buf[pos:pos + 2], "big") + 1
        pos += 2
    else:
        block = _FLAC_BLOCK[bs_code]
    rate: int | None = _FLAC_RATES.get(sr_code)
    if sr_code == 12:
        rate = buf[pos] * 1000 if pos < len(buf) else None
    elif sr_code in (13, 14):
        rate = int.from_bytes(buf[pos:pos + 2], "big") * (10 if sr_code == 14 else 1)
    pos += {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if pos >= len(buf) or _crc8(buf[i:pos]) != buf[pos]:
        return None
    return value, block, bool(buf[i + 1] & 1), rate


def _mp3(f: IO[bytes], size: int) -> dict[str, Any]:
    try:
        info = MP3(f).info
    except HeaderNotFoundError as exc:
        raise MediaProblem("not an MP3 file (no MPEG audio frame found)") from exc
    if info is None:
        raise MediaProblem("not an MP3 file (no MPEG audio frame found)")
    _mp3_complete(f, size)
    return _audio("mp3", samples=None, seconds=info.length, sample_rate=info.sample_rate, channels=info.channels, bit_depth=None)


def _mp3_complete(f: IO[bytes], size: int) -> None:
    """An encoder's Xing/Info header states the stream's length in bytes (LAME always writes
    one): a file holding fewer was cut short. Without one, truncation cannot be told."""
    f.seek(0)
    head = f.read(10)
    start = 0
    if head[:3] == b"ID3" and len(head) == 10:
        start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]) + (10 if head[5] & 0x10 else 0)
    f.seek(start)
    window = f.read(65536)
    sync = next((i for i in range(len(window) - 1) if window[i] == 0xFF and window[i + 1] & 0xE0 == 0xE0), None)
    if sync is None:
        return
    frame = window[sync:sync + 200]
    at = max(frame.find(b"Xing"), frame.find(b"Info"))
    if at < 0 or at + 16 > len(frame):
        return
    flags = struct.unpack(">I", frame[at + 4:at + 8])[0]
    if not flags & 2:
        return
    declared = struct.unpack(">I", frame[at + 8 + (4 if flags & 1 else 0):at + 12 + (4 if flags & 1 else 0)])[0]
    f.seek(max(0, size - 128))
    held = size - start - sync - (128 if f.read(3) == b"TAG" else 0)
    if declared > held:
        raise MediaProblem(f"truncated: the MP3 header promises {declared} bytes of audio, the file holds {held}")


def _ogg(f: IO[bytes], size: int) -> dict[str, Any]:
    if f.read(4) != b"OggS":
        raise MediaProblem("not an Ogg file")
    f.seek(0)
    found = mutagen.File(f)
    if found is None:
        raise MediaProblem("an Ogg file without a stream this product measures (Vorbis, Opus, FLAC or Speex)")
    info = found.info
    first = OggPage(_rewound(f))
    last = OggPage.find_last(_rewound(f), first.serial, finishing=True)
    if last is None or not last.last:
        raise MediaProblem("truncated: the Ogg stream has no end-of-stream page")
    codec = type(found).__name__.removeprefix("Ogg").lower() or "ogg"
    # Opus always decodes at 48 kHz; its header's "input sample rate" is only informative.
    rate = 48_000 if codec == "opus" else int(getattr(info, "sample_rate", 0) or 0)
    return _audio(codec, samples=None, seconds=info.length, sample_rate=rate, channels=int(info.channels), bit_depth=getattr(info, "bits_per_sample", None))


def _rewound(f: IO[bytes]) -> IO[bytes]:
    f.seek(0)
    return f


# --------------------------------------------------------------------------- images

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}


def _image(fmt: str) -> Any:
    def measure_image(f: IO[bytes], size: int) -> dict[str, Any]:
        try:
            im = Image.open(f, formats=[_PIL_FORMATS[fmt]])
        except UnidentifiedImageError as exc:
            raise MediaProblem(f"not a {fmt.upper()} file") from exc
        except Image.DecompressionBombError as exc:
            raise MediaProblem(f"the image is larger than {Image.MAX_IMAGE_PIXELS:,} pixels") from exc
        with im:
            width, height = im.size
            _image_complete(fmt, im, f, size)
            return {"codec": fmt, "width": width, "height": height, "mode": im.mode, "frames": int(getattr(im, "n_frames", 1))}
    return measure_image


def _image_complete(fmt: str, im: Any, f: IO[bytes], size: int) -> None:
    """Truncation, from what the header says against the file's length (no pixel is decoded)."""
    if fmt == "png":
        f.seek(max(0, size - 12))
        if f.read(12)[4:8] != b"IEND":
            raise MediaProblem("truncated: the PNG file does not end with its IEND chunk")
    elif fmt == "jpeg":
        f.seek(max(0, size - 2))
        if f.read(2) != b"\xff\xd9":
            # Cameras may append data after the image, so look a little further back.
            f.seek(max(0, size - 65536))
            if b"\xff\xd9" not in f.read(65536):
                raise MediaProblem("truncated: the JPEG file has no end-of-image marker")
    elif fmt == "webp":
        f.seek(4)
        declared = struct.unpack("<I", f.read(4))[0] + 8
        if declared > size:
            raise MediaProblem(f"truncated: the WebP header promises {declared} bytes, the file holds {size}")
    elif fmt == "tiff":
        tags = im.tag_v2
        offsets, counts = tags.get(273) or tags.get(324), tags.get(279) or tags.get(325)
        if offsets and counts:
            end = max(int(o) + int(c) for o, c in zip(offsets, counts, strict=False))
            if end > size:
                raise MediaProblem(f"truncated: the TIFF image data runs to byte {end}, the file holds {size}")


def _dicom(f: IO[bytes], size: int) -> dict[str, Any]:
    try:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
    except pydicom.errors.InvalidDicomError as exc:
        raise MediaProblem("not a DICOM file (no DICM preamble)") from exc
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if rows is None or cols is None:
        raise MediaProblem("the DICOM file holds no image (no Rows and Columns)")
    _dicom_complete(f, size)
    return {"codec": "dicom", "width": int(cols), "height": int(rows), "mode": str(ds.get("PhotometricInterpretation", "")),
            "frames": int(ds.get("NumberOfFrames", 1) or 1), "modality": str(ds.get("Modality", "")) or None}


def _dicom_complete(f: IO[bytes], size: int) -> None:
    """The pixel data element (where reading stopped) must fit in the file, unless it is
    encapsulated (undefined length, ended by a delimiter)."""
    pos = f.tell()
    head = f.read(12)
    if len(head) < 8 or head[:4] != b"\xe0\x7f\x10\x00":
        return
    if head[4:6] in (b"OB", b"OW", b"OF", b"UN"):
        if len(head) < 12:
            raise MediaProblem("truncated inside the DICOM pixel data header")
        length, value_at = struct.unpack("<I", head[8:12])[0], pos + 12
    else:
        length, value_at = struct.unpack("<I", head[4:8])[0], pos + 8
    if length != 0xFFFFFFFF and value_at + length > size:
        raise MediaProblem(f"truncated: the DICOM pixel data promises {length} bytes, the file holds {size - value_at}")


# --------------------------------------------------------------------------- video

# What an ISO media file (or an older QuickTime one) starts with.
_MP4_FIRST = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def _mp4_boxes(f: IO[bytes], size: int) -> None:
    """Top-level boxes must tile the file exactly, and one must be `moov` (the index): a file
    cut short ends inside its last box."""
    pos, seen = 0, set()
    while pos < size:
        f.seek(pos)
        head = f.read(16)
        if len(head) < 8:
            raise MediaProblem(f"truncated: {size - pos} stray byte(s) after the last MP4 box")
        length, kind = struct.unpack(">I4s", head[:8])
        if length == 1:
            if len(head) < 16:
                raise MediaProblem("truncated inside an MP4 box header")
            length = struct.unpack(">Q", head[8:16])[0]
        elif length == 0:
            length = size - pos
        if length < 8 or (pos == 0 and kind not in _MP4_FIRST):
            raise MediaProblem("not an MP4 file" if pos == 0 else f"not an MP4 file (a box of {length} bytes at byte {pos})")
        if pos + length > size:
            raise MediaProblem(f"truncated: the MP4 box '{kind.decode('latin-1')}' promises {length} bytes, the file holds {size - pos} from its start")
        seen.add(kind)
        pos += length
    if b"moov" not in seen:
        raise MediaProblem("the MP4 file has no index (moov box)")


def _ebml_size(f: IO[bytes]) -> tuple[int | None, int]:
    """An EBML element's data size (None: unknown) and its byte length."""
    first = f.read(1)
    if not first:
        raise MediaProblem("truncated inside a Matroska header")
    b = first[0]
    n = 1
    while n <= 8 and not b & (0x80 >> (n - 1)):
        n += 1
    if n > 8:
        raise MediaProblem("not a Matroska/WebM file")
    rest = f.read(n - 1)
    value = b & (0xFF >> n)
    for x in rest:
        value = (value << 8) | x
    return (None if value == (1 << (7 * n)) - 1 else value), n


def _matroska_complete(f: IO[bytes], size: int) -> None:
    f.seek(0)
    if f.read(4) != b"\x1a\x45\xdf\xa3":
        raise MediaProblem("not a Matroska/WebM file")
    header_len, n = _ebml_size(f)
    f.seek(4 + n + (header_len or 0))
    if f.read(4) != b"\x18\x53\x80\x67":
        raise MediaProblem("not a Matroska/WebM file (no Segment)")
    seg_len, m = _ebml_size(f)
    start = 4 + n + (header_len or 0) + 4 + m
    if seg_len is not None and start + seg_len > size:
        raise MediaProblem(f"truncated: the Matroska segment promises {seg_len} bytes, the file holds {size - start}")


def _video(fmt: str) -> Any:
    def measure_video(f: IO[bytes], size: int) -> dict[str, Any]:
        if fmt == "mp4":
            _mp4_boxes(f, size)
        else:
            _matroska_complete(f, size)
        f.seek(0)
        with av.open(f, mode="r") as container:
            video = next(iter(container.streams.video), None)
            if video is None:
                raise MediaProblem("the file has no video stream")
            audio = next(iter(container.streams.audio), None)
            seconds = float(video.duration * video.time_base) if video.duration and video.time_base else (container.duration or 0) / av.time_base
            rate = video.average_rate or video.guessed_rate
            return {"codec": video.codec_context.name, "duration_ms": _ms(seconds), "duration_seconds": round(seconds, 3),
                    "width": video.codec_context.width, "height": video.codec_context.height, "fps": round(float(rate), 3) if rate else None,
                    "frames": int(video.frames) or None, "audio_codec": audio.codec_context.name if audio is not None else None,
                    "sample_rate": audio.codec_context.sample_rate if audio is not None else None}
    return measure_video


_MEASURERS: dict[str, Any] = {"wav": _wav, "flac": _flac, "mp3": _mp3, "ogg": _ogg, "opus": _ogg, "dicom": _dicom,
                              **{k: _image(k) for k in _PIL_FORMATS}, **{k: _video(k) for k in VIDEO_FORMATS}}


# --------------------------------------------------------------------------- stored objects and shards

def measure_stored(fmt: str, read_range: Callable[[int, int], bytes], size: int, a: Analysis) -> None:
    """A stored media file's figures into `a.stats`, or its problem into `a.problems`, through
    ranged reads (buffered, so a header parser's small reads cost one request each 64 KiB)."""
    try:
        a.stats = measure(fmt, io.BufferedReader(RangeReader(read_range, size), buffer_size=64 * 1024), size)
    except MediaProblem as exc:
        a.problems.append(str(exc))
    except StorageUnavailable:
        raise  # the ingest job pauses and retries
    except Exception as exc:  # noqa: BLE001 - a decoder's own bug must fail the file with a reason, never wedge the version in processing
        log.exception("media measurement failed", extra={"format": fmt})
        a.problems.append(f"the {fmt.upper()} file could not be measured ({type(exc).__name__}); if it plays elsewhere, tell the platform")


# Members up to this size are measured in memory; larger ones spill to a temporary file, so a
# shard's memory stays flat whatever its members weigh.
SPOOL_BYTES = 16 * 1024 * 1024
MAX_MEMBER_PROBLEMS = 5


class _HashingReader(io.RawIOBase):
    """The object's chunks as a file tarfile can stream, hashing and counting every byte read."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buf = memoryview(b"")
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self.sha256.update(nxt)
            self.size += len(nxt)
            self._buf = memoryview(nxt)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def drain(self) -> None:
        """Hash whatever the tar reader left unread (the end-of-archive padding)."""
        self._buf = memoryview(b"")
        for chunk in self._chunks:
            self.sha256.update(chunk)
            self.size += len(chunk)


def sample_key(name: str) -> str:
    """WebDataset's grouping: a sample is every member sharing the path up to the first dot of
    the file name (`a/utt1.flac` and `a/utt1.json` are one sample)."""
    folder, _, base = name.rpartition("/")
    return f"{folder}/{base.split('.', 1)[0]}" if folder else base.split(".", 1)[0]


def analyse_shard(chunks: Iterable[bytes]) -> Analysis:
    """A tar or WebDataset shard in one pass: digest and size of every byte, and each member
    counted and, when it is media, measured. Records are the shard's samples."""
    a = Analysis()
    reader = _HashingReader(chunks)
    members: list[dict[str, Any]] = []
    keys: set[str] = set()
    problems: list[str] = []
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, buffer_size=1024 * 1024), mode="r|") as tar:
            for member in tar:
                refused = _unsafe_member(member)
                if refused:
                    problems.append(refused)
                    if len(problems) >= MAX_MEMBER_PROBLEMS:
                        break
                    continue
                if not member.isfile():
                    continue
                entry: dict[str, Any] = {"name": member.name, "size": member.size}
                fmt = format_for_path(member.name)
                if fmt in MEDIA_FORMATS:
                    entry["format"] = fmt
                    src = tar.extractfile(member)
                    if src is not None:
                        try:
                            entry.update(_measure_member(fmt, src, member.size))
                        except MediaProblem as exc:
                            problems.append(f"member {member.name}: {exc}")
                        except (StorageUnavailable, tarfile.TarError, EOFError):
                            raise
                        except Exception as exc:  # noqa: BLE001 - as in measure_stored: a reason, never a wedged version
                            log.exception("media measurement failed", extra={"format": fmt})
                            problems.append(f"member {member.name}: could not be measured ({type(exc).__name__})")
                members.append(entry)
                keys.add(sample_key(member.name))
                if len(problems) >= MAX_MEMBER_PROBLEMS:
                    break
    except (tarfile.TarError, EOFError, OSError) as exc:
        problems.append(f"not a readable tar file ({_first_line(exc)})")
    reader.drain()
    a.size, a.sha256 = reader.size, reader.sha256.hexdigest()
    a.problems += problems
    a.records = len(keys)
    if not problems:
        a.stats = {"kind": "shard", "members": len(members), "samples": len(keys), "member_list": members}
    return a


def _unsafe_member(member: tarfile.TarInfo) -> str | None:
    """Why a member may not be delivered in a shard, or None: buyers extract shards, so only
    regular files and folders under relative, clean, UTF-8 names are accepted; a sparse member
    (a few bytes that expand to any size) is refused as well."""
    shown = member.name.encode("utf-8", "backslashreplace").decode("utf-8")[:200]
    try:
        member.name.encode("utf-8")
    except UnicodeEncodeError:
        return f"member {shown}: the name is not valid UTF-8"
    if not (member.isfile() or member.isdir()):
        return f"member {shown}: links, devices and other special members are not accepted (regular files and folders only)"
    if member.issparse():
        return f"member {shown}: sparse members are not accepted"
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts or "\\" in member.name or any(ord(c) < 32 for c in member.name):
        return f"member {shown}: the name must be a relative path without '..', backslashes or control characters"
    return None


def _measure_member(fmt: str, src: IO[bytes], size: int) -> dict[str, Any]:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        while True:
            block = src.read(1024 * 1024)
            if not block:
                break
            spool.write(block)
        spool.seek(0)
        return measure(fmt, spool, size)


# --------------------------------------------------------------------------- previews

PREVIEW_CLIP_SECONDS = 10
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_MAX_PIXELS = 50_000_000  # a larger image is not decoded for a thumbnail (memory)


class Preview(NamedTuple):
    """A preview made at ingest: its bytes and what they are."""

    data: bytes
    content_type: str
    ext: str
    kind: str  # clip, thumbnail or poster
    seconds: float | None = None


def make_preview(fmt: str, f: IO[bytes], info: dict[str, Any]) -> Preview | None:
    """A short, light rendering of a media file for the data viewer: the first seconds of a
    recording as Ogg Opus, an image's thumbnail or a video's poster frame as JPEG. Only the
    start of the file is decoded. None when there is nothing to show (a DICOM image, an image
    too large to decode within the memory budget), or the decoder cannot make one."""
    try:
        if info.get("kind") == "audio":
            return _clip(f)
        if info.get("kind") == "video":
            return _poster(f)
        if info.get("kind") == "image" and fmt in _PIL_FORMATS and int(info["width"]) * int(info["height"]) <= THUMBNAIL_MAX_PIXELS:
            return _thumbnail(f)
        if fmt == "dicom" and int(info["width"]) * int(info["height"]) * int(info.get("frames") or 1) <= THUMBNAIL_MAX_PIXELS:
            return _dicom_thumbnail(f)
    except StorageUnavailable:
        raise
    except Exception:  # noqa: BLE001 - a preview is a courtesy: a file that measured well still publishes without one
        log.warning("no preview made", exc_info=True, extra={"format": fmt})
        return None
    return None


def _clip(f: IO[bytes]) -> Preview:
    out = io.BytesIO()
    with av.open(f, mode="r") as src, av.open(out, mode="w", format="ogg") as dst:
        stream = src.streams.audio[0]
        channels = 1 if stream.codec_context.channels == 1 else 2
        layout = "mono" if channels == 1 else "stereo"
        enc = dst.add_stream("libopus", rate=48000, layout=layout)
        enc.bit_rate = 48_000 * channels
        resampler = av.AudioResampler(format="s16", layout=layout, rate=48000)
        written = 0
        limit = PREVIEW_CLIP_SECONDS * 48000
        for frame in src.decode(stream):
            for chunk in resampler.resample(frame):
                chunk.pts = written
                written += chunk.samples
                for packet in enc.encode(chunk):
                    dst.mux(packet)
            if written >= limit:
                break
        for chunk in resampler.resample(None):
            chunk.pts = written
            written += chunk.samples
            for packet in enc.encode(chunk):
                dst.mux(packet)
        for packet in enc.encode(None):
            dst.mux(packet)
    return Preview(out.getvalue(), "audio/ogg", "ogg", "clip", round(min(written, limit) / 48000, 3))


def _jpeg(im: Any) -> bytes:
    im.thumbnail(THUMBNAIL_BOX)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def _thumbnail(f: IO[bytes]) -> Preview:
    with Image.open(f) as im:
        im.draft("RGB", THUMBNAIL_BOX)  # JPEG decodes at 1/2 to 1/8 scale: a 48 MP photo stays cheap
        return Preview(_jpeg(im), "image/jpeg", "jpg", "thumbnail")


def _dicom_thumbnail(f: IO[bytes]) -> Preview:
    """The first frame, windowed to its own range of values (a CT's Hounsfield units or an
    X-ray's 12 bits) and scaled to 8 bits; pixel data pydicom cannot decode (a compressed
    transfer syntax without its codec installed) gives no preview."""
    ds = pydicom.dcmread(f)
    pixels = ds.pixel_array
    frame = pixels[0] if int(ds.get("NumberOfFrames", 1) or 1) > 1 else pixels
    low, high = float(frame.min()), float(frame.max())
    scaled = ((frame.astype("float64") - low) * (255.0 / (high - low if high > low else 1.0))).astype("uint8")
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255 - scaled  # MONOCHROME1 shows its lowest values as white
    return Preview(_jpeg(Image.fromarray(scaled)), "image/jpeg", "jpg", "thumbnail")  # 2-D: grey ("L"); rows × columns × 3: RGB


def _poster(f: IO[bytes]) -> Preview:
    with av.open(f, mode="r") as src:
        frame = next(src.decode(video=0))
        return Preview(_jpeg(frame.to_image()), "image/jpeg", "jpg", "poster")
