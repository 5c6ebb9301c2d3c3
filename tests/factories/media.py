"""Real media files made on the spot: sine-wave audio (WAV by hand, FLAC, MP3 and Ogg through
PyAV's encoders), images through Pillow and pydicom, video through PyAV (H.264 in MP4, VP9 in
WebM and MKV), and WebDataset tar shards. Their true figures are known by construction, so a
test can compare what ingest measured with them exactly."""

from __future__ import annotations

import io
import json
import struct
import tarfile
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def sine(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """int16 samples, shape (frames, channels)."""
    t = np.arange(int(round(seconds * rate))) / rate
    mono = (np.sin(2 * np.pi * freq * t) * 12000).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1)


def wav(seconds: float = 1.0, rate: int = 16000, channels: int = 1, bits: int = 16, freq: float = 440.0) -> bytes:
    """A PCM WAV of `seconds` of sine, written field by field (RIFF, fmt, data)."""
    samples = sine(seconds, rate, channels, freq)
    if bits == 24:
        data = b"".join(int(x).to_bytes(3, "little", signed=True) for x in (samples.astype(np.int32) * 256).ravel())
    else:
        data = samples.astype("<i2").tobytes()
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _encode_audio(container_format: str, codec: str, seconds: float, rate: int, channels: int, *, out_rate: int | None = None) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as out:
        stream = out.add_stream(codec, rate=out_rate or rate, layout="mono" if channels == 1 else "stereo")
        _write_audio(out, stream, sine(seconds, rate, channels), rate, step=1024)
    return buf.getvalue()


def _write_audio(out: Any, stream: Any, samples: np.ndarray, rate: int, *, step: int) -> None:
    """Encode int16 samples (frames × channels, interleaved as s16 wants) into `stream`."""
    layout = "mono" if samples.shape[1] == 1 else "stereo"
    pts = 0
    for i in range(0, len(samples), step):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[i:i + step].reshape(1, -1)), format="s16", layout=layout)
        frame.sample_rate, frame.pts = rate, pts
        pts += frame.samples
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def flac(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> bytes:
    return _encode_audio("flac", "flac", seconds, rate, channels)


def mp3(seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> bytes:
    return _encode_audio("mp3", "libmp3lame", seconds, rate, channels)


def opus(seconds: float = 1.0, channels: int = 1) -> bytes:
    return _encode_audio("ogg", "libopus", seconds, 48000, channels)


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    """A gradient image in Pillow's format name (PNG, JPEG, WEBP, TIFF)."""
    w, h = size
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    im = Image.fromarray(arr, "RGB").convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def dicom(rows: int = 32, cols: int = 40) -> bytes:
    """A minimal secondary-capture DICOM image (MONOCHROME2, 16 bits)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.arange(rows * cols, dtype="<u2").tobytes()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def video(container_format: str = "mp4", codec: str = "libx264", seconds: float = 1.0, fps: int = 25, size: tuple[int, int] = (64, 48),
          audio: bool = False) -> bytes:
    """`seconds` of moving gradient at `fps`; with `audio`, a mono 48 kHz AAC/Opus track."""
    buf = io.BytesIO()
    w, h = size
    # The index (moov) goes at the end, as a recorder writes it: measuring must seek to it.
    with av.open(buf, mode="w", format=container_format) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        astream = out.add_stream("aac" if container_format == "mp4" else "libopus", rate=48000, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            arr = np.full((h, w, 3), (i * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if astream is not None:
            _write_audio(out, astream, sine(seconds, 48000, 1), 48000, step=960)
    return buf.getvalue()


def webdataset(samples: dict[str, dict[str, bytes]]) -> bytes:
    """A WebDataset shard: for each sample key, its members (extension → bytes) in key order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for key, members in samples.items():
            for ext, data in members.items():
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                info.mtime = 1_700_000_000
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def speech_shard(n: int, seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A WebDataset speech shard: n utterances, each a FLAC, its transcript and its metadata."""
    return webdataset({f"utt{i:04d}": {"flac": flac(seconds, rate), "txt": f"utterance {i}".encode(),
                                        "json": json.dumps({"speaker": f"spk{i % 3}"}).encode()} for i in range(n)})


def manifest(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)
