"""Media measured at ingest: real files made on the spot (sine-wave WAV, FLAC, MP3 and Opus at
16 and 48 kHz, mono and stereo; PNG, JPEG, WebP, TIFF and DICOM; H.264 MP4 and VP9 WebM; a
WebDataset shard), whose true figures are known, measured exactly; truncated and corrupted
files refused with a reason; segment manifests checked against the measured durations; and the
version's figures in the manifest, the API and the per-hour meter."""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from catalog import media as media_module
from catalog.analysis import media_figures
from catalog.media import MediaProblem, analyse_shard, measure
from catalog.services import ingest
from marketplace.commerce import metering
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.kernel.db import get_session
from marketplace.kernel.principal import Principal
from tests.catalog.helpers import create_dataset, create_version, publish, published_dataset, upload_small
from tests.commerce.helpers import market, order
from tests.concurrency import race
from tests.delivery.helpers import fetch
from tests.factories import bearer, make_tenant
from tests.factories import media as m


@pytest.fixture
def vendor(app):
    return make_tenant(vendor=True)


def _measure(fmt: str, data: bytes) -> dict:
    return measure(fmt, io.BytesIO(data), len(data))


# --------------------------------------------------------------------------- exact figures


@pytest.mark.parametrize(("rate", "channels", "seconds"), [(16000, 1, 3.0), (48000, 2, 1.5), (44100, 1, 0.25)])
def test_wav_and_flac_figures_are_exact(rate, channels, seconds):
    frames = int(seconds * rate)
    for fmt, data, codec in (("wav", m.wav(seconds, rate, channels), "pcm_s16le"), ("flac", m.flac(seconds, rate, channels), "flac")):
        info = _measure(fmt, data)
        assert info == {"kind": "audio", "codec": codec, "samples": frames, "sample_rate": rate, "channels": channels, "bit_depth": 16,
                        "duration_ms": round(seconds * 1000), "duration_seconds": seconds}, fmt


def test_24_bit_wav_and_lossy_audio():
    assert _measure("wav", m.wav(1.0, 48000, 2, bits=24))["bit_depth"] == 24
    mp3 = _measure("mp3", m.mp3(2.0, 44100, 2))
    assert (mp3["codec"], mp3["sample_rate"], mp3["channels"]) == ("mp3", 44100, 2)
    assert abs(mp3["duration_ms"] - 2000) <= 60  # MP3 frames hold 1152 samples: the last one is padded
    opus = _measure("opus", m.opus(2.0, 1))
    assert (opus["codec"], opus["sample_rate"], opus["channels"], opus["duration_ms"]) == ("opus", 48000, 1, 2000)
    assert _measure("ogg", m.opus(1.0, 2))["channels"] == 2


@pytest.mark.parametrize(("fmt", "pil", "mode"), [("png", "PNG", "RGB"), ("jpeg", "JPEG", "L"), ("webp", "WEBP", "RGB"), ("tiff", "TIFF", "RGB")])
def test_image_figures(fmt, pil, mode):
    info = _measure(fmt, m.image(pil, (64, 48), mode))
    assert (info["kind"], info["codec"], info["width"], info["height"], info["mode"]) == ("image", fmt, 64, 48, mode)


def test_dicom_figures():
    info = _measure("dicom", m.dicom(rows=32, cols=40))
    assert (info["width"], info["height"], info["mode"], info["modality"]) == (40, 32, "MONOCHROME2", "OT")


def test_video_figures():
    mp4 = _measure("mp4", m.video("mp4", "libx264", seconds=2.0, fps=25, size=(64, 48), audio=True))
    assert {k: mp4[k] for k in ("kind", "codec", "duration_ms", "width", "height", "fps", "frames", "audio_codec", "sample_rate")} == \
        {"kind": "video", "codec": "h264", "duration_ms": 2000, "width": 64, "height": 48, "fps": 25.0, "frames": 50, "audio_codec": "aac", "sample_rate": 48000}
    webm = _measure("webm", m.video("webm", "libvpx-vp9", seconds=1.0, fps=10, size=(32, 32)))
    assert (webm["codec"], webm["duration_ms"], webm["width"], webm["fps"]) == ("vp9", 1000, 32, 10.0)
    mkv = _measure("mkv", m.video("matroska", "libx264", seconds=1.0, fps=25))
    assert (mkv["codec"], mkv["duration_ms"]) == ("h264", 1000)


# --------------------------------------------------------------------------- refused with a reason


CASES = {"wav": lambda: m.wav(2, 16000), "flac": lambda: m.flac(2, 48000, 2), "mp3": lambda: m.mp3(2), "opus": lambda: m.opus(2),
         "png": lambda: m.image("PNG", (128, 128)), "jpeg": lambda: m.image("JPEG", (128, 128)), "tiff": lambda: m.image("TIFF", (64, 64)),
         "webp": lambda: m.image("WEBP", (128, 128)), "dicom": lambda: m.dicom(64, 64), "mp4": lambda: m.video(seconds=1.0),
         "webm": lambda: m.video("webm", "libvpx-vp9", seconds=1.0), "mkv": lambda: m.video("matroska", "libx264", seconds=1.0)}


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_a_truncated_file_is_refused_with_a_reason(fmt):
    data = CASES[fmt]()
    with pytest.raises(MediaProblem) as caught:
        _measure(fmt, data[: len(data) * 2 // 3])
    assert "truncated" in str(caught.value) or "not a readable" in str(caught.value), caught.value


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_a_file_of_another_kind_is_refused(fmt):
    with pytest.raises(MediaProblem, match="not a|no "):
        _measure(fmt, b"\x00garbage that is no media at all" * 64)
    with pytest.raises(MediaProblem, match="empty"):
        _measure(fmt, b"")


def test_a_lying_wav_header_is_refused():
    data = bytearray(m.wav(1.0, 16000))
    data[28:32] = (999).to_bytes(4, "little")  # byte rate
    with pytest.raises(MediaProblem, match="inconsistent"):
        _measure("wav", bytes(data))


def test_a_flac_cut_at_a_frame_boundary_is_refused():
    data = m.flac(3.0, 16000)
    info_frames = 48000
    # Drop the last frame exactly: every frame left is whole, but the header promises more samples.
    cut = data.rfind(b"\xff\xf8")
    with pytest.raises(MediaProblem, match=f"promises {info_frames} samples"):
        _measure("flac", data[:cut])


# --------------------------------------------------------------------------- shards


def test_a_webdataset_shard_is_read_member_by_member():
    shard = m.speech_shard(4, seconds=1.5, rate=16000)
    a = analyse_shard(iter([shard[i:i + 1000] for i in range(0, len(shard), 1000)]))
    assert not a.problems and a.size == len(shard)
    assert a.sha256 == hashlib.sha256(shard).hexdigest()
    assert a.records == 4 and a.stats["members"] == 12 and a.stats["samples"] == 4
    flacs = [x for x in a.stats["member_list"] if x.get("format") == "flac"]
    assert len(flacs) == 4 and all(x["duration_ms"] == 1500 and x["sample_rate"] == 16000 for x in flacs)
    figures = media_figures([a.stats])
    assert figures["audio_ms"] == 6000 and figures["audio_files"] == 4 and figures["sample_rates"] == {"16000": 4}


def test_a_shard_with_a_broken_member_or_cut_short_is_refused():
    good = m.flac(1.0)
    shard = m.webdataset({"a": {"flac": good}, "b": {"flac": good[:-100]}})
    a = analyse_shard(iter([shard]))
    assert a.problems and "member b.flac" in a.problems[0] and "truncated" in a.problems[0]
    cut = analyse_shard(iter([m.webdataset({"a": {"flac": good}})[:1500]]))
    assert cut.problems and "tar" in cut.problems[0]


# --------------------------------------------------------------------------- through the API, on both backends


def _speech_version(client, key):
    files = {"audio/a16.wav": m.wav(3.0, 16000, 1), "audio/b48.flac": m.flac(2.0, 48000, 2), "audio/c.opus": m.opus(1.0),
             "img/x.png": m.image("PNG", (64, 48)), "img/y.jpg": m.image("JPEG", (640, 480)), "video/v.mp4": m.video(seconds=2.0, size=(64, 48)),
             "shards/s0.tar": m.speech_shard(3, seconds=1.0, rate=16000),
             "audio/manifest.jsonl": m.manifest([{"audio": "a16.wav", "start": 0, "end": 1.25, "speaker": "s1", "text": "one"},
                                                 {"audio": "a16.wav", "start": 1.25, "end": 3.0, "speaker": "s2", "text": "two"},
                                                 {"audio": "b48.flac", "offset": 0.5, "duration": 1.5, "speaker_id": "s1", "text": "three"}])}
    return files, published_dataset(client, key, files, domain="speech-audio", modalities=["audio"])


def test_a_published_version_states_its_media_figures(client, vendor):
    key = vendor.keys["owner"]
    files, (ds, v) = _speech_version(client, key)
    assert v["media"] == {"audio_files": 6, "audio_ms": 9000, "audio_hours": 0.0025, "video_files": 1, "video_ms": 2000, "video_hours": 0.0006,
                          "images": 2, "media_ms": 11000, "sample_rates": {"16000": 4, "48000": 2}, "resolutions": {"64x48": 2, "640x480": 1},
                          "codecs": {"flac": 4, "h264": 1, "jpeg": 1, "opus": 1, "pcm_s16le": 1, "png": 1},
                          "segments": 3, "segment_ms": 4500, "speakers": 2}
    listed = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json}
    assert listed["audio/a16.wav"]["records"] == 2 and listed["audio/b48.flac"]["records"] == 1  # their segments
    assert listed["audio/b48.flac"]["stats"]["samples"] == 96000 and listed["video/v.mp4"]["stats"]["fps"] == 25.0
    manifest = client.get(f"/api/v1/versions/{v['id']}/manifest", headers=bearer(key)).json
    entries = {e["path"]: e for e in manifest["files"]}
    assert entries["audio/a16.wav"]["media"]["duration_ms"] == 3000 and entries["img/y.jpg"]["media"]["width"] == 640
    members = entries["shards/s0.tar"]["members"]
    assert [x["name"] for x in members] == [f"utt000{i}.{e}" for i in range(3) for e in ("flac", "txt", "json")]
    assert all(x["duration_ms"] == 1000 for x in members if x["name"].endswith(".flac"))
    got = client.get(f"/api/v1/datasets/{ds['id']}").json
    assert got["media"]["media_ms"] == 11000


@pytest.mark.parametrize(("line", "reason"), [
    ({"audio": "a.wav", "start": 1.5, "end": 2.5}, "runs past the end of a.wav (2 s)"),
    ({"audio": "a.wav", "offset": 1.0, "duration": 1.001}, "runs past the end"),
    ({"audio": "elsewhere.wav", "start": 0, "end": 1}, "'elsewhere.wav', which is not a media file of this version"),
    ({"audio": "a.wav", "start": 1.5, "end": 0.5}, "is not a time range"),
    ({"audio": "a.wav", "start": "soon", "end": 1}, "'start' is not a number of seconds"),
    ({"audio": ["a.wav"], "start": 0, "end": 1}, "'audio' is not a path"),
    ({"image": "i.png", "start": 0, "end": 5}, "i.png has no duration (an image)"),
])
def test_a_segment_manifest_pointing_outside_its_files_fails(client, vendor, line, reason):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "a.wav", m.wav(2.0, 16000))
    upload_small(client, key, v["id"], "i.png", m.image("PNG"))
    upload_small(client, key, v["id"], "manifest.jsonl", m.manifest([{"audio": "a.wav", "start": 0, "end": 2.0}, line]))
    v = publish(client, key, v["id"])
    assert v["status"] == "draft"
    assert v["ingest_report"]["files"]["manifest.jsonl"]["status"] == "failed"
    assert "line 2" in v["ingest_report"]["files"]["manifest.jsonl"]["reason"] and reason in v["ingest_report"]["files"]["manifest.jsonl"]["reason"]


def test_a_truncated_media_file_fails_ingest_with_its_reason(client, vendor):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    flac = m.flac(2.0, 48000, 2)
    upload_small(client, key, v["id"], "ok.wav", m.wav(1.0))
    upload_small(client, key, v["id"], "cut.flac", flac[: len(flac) // 2])
    v = publish(client, key, v["id"])
    assert v["status"] == "draft" and list(v["ingest_report"]["files"]["cut.flac"]) == ["reason", "status"]
    assert v["ingest_report"]["files"]["cut.flac"]["reason"].startswith("truncated: the FLAC header promises 96000 samples")
    assert v["ingest_report"]["files"]["ok.wav"]["status"] == "ok"


# --------------------------------------------------------------------------- per-hour offers


def _hours_grant(client, vendor, buyer, files: dict[str, bytes], quantity: int = 1):
    ds, v = published_dataset(client, vendor.keys["owner"], files, domain="speech-audio", modalities=["audio"], visibility="unlisted")
    body = {"title": "Per hour", "license": "CC-BY-4.0", "pricing_unit": "hours", "unit_price_minor": 1500, "currency": "EUR"}
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json=body, headers=bearer(vendor.keys["owner"])).json
    assert offer["pricing_unit"] == "hours"
    o = order(client, buyer.keys["owner"], offer, quantity=quantity).json
    return client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]


def test_an_hour_offer_debits_the_milliseconds_delivered(client):
    vendor, buyer = market()
    gid = _hours_grant(client, vendor, buyer, {"a.wav": m.wav(3.0, 16000), "b.flac": m.flac(1.5, 48000, 2), "notes.jsonl": b'{"t": 1}\n',
                                               "s.tar": m.speech_shard(2, seconds=0.5)})
    listed = client.get(f"/api/v1/grants/{gid}/files", headers=bearer(buyer.keys["member"])).json
    assert listed["unit"] == "hours" and listed["balance"] == 3_600_000
    assert {f["path"]: f["would_charge"] for f in listed["files"]} == {"a.wav": 3000, "b.flac": 1500, "notes.jsonl": 0, "s.tar": 1000}
    r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["a.wav", "b.flac", "notes.jsonl", "s.tar"]}, headers=bearer(buyer.keys["member"]))
    assert r.status_code == 200, r.json
    assert r.json["charged"] == 5500
    again = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["a.wav"]}, headers=bearer(buyer.keys["member"]))
    assert again.json["charged"] == 0  # the resume window
    assert client.get(f"/api/v1/grants/{gid}/files", headers=bearer(buyer.keys["member"])).json["balance"] == 3_600_000 - 5500
    bom = client.get(f"/api/v1/orgs/{buyer.org.id}/bom", headers=bearer(buyer.keys["owner"]))
    assert bom.status_code == 200, bom.json
    props = {p["name"]: p["value"] for c in bom.json["components"] for p in c["properties"]}
    assert props["marketplace:quota_unit"] == "hours" and props["marketplace:media:audio_files"] == "4"
    assert props["marketplace:media:sample_rate:16000"] == "3" and props["marketplace:media:sample_rate:48000"] == "1"


@pytest.mark.postgres_only
def test_hours_are_metered_exactly_under_concurrency(session_app):
    """24 workers at once, each taking a different 0.5 s clip, on a grant with 10 s left:
    exactly 20 clips are delivered, 4 refused with 402, the balance is 0 and the ledger agrees."""
    with session_app.app_context():
        client = session_app.test_client()
        vendor, buyer = market()
        # Distinct tones: a charge is keyed by content, and equal clips would be one charge.
        gid = _hours_grant(client, vendor, buyer, {f"c{i:02d}.wav": m.wav(0.5, 16000, 1, freq=200 + 10 * i) for i in range(24)})
        metering.debit(Principal(request_id="setup", ip=None), uuid.UUID(gid), "hours", 3_600_000 - 10_000, "setup-spend")
        session_app.extensions["db"].remove()
    res = race(session_app, 24, lambda c, i: c.post(f"/api/v1/grants/{gid}/downloads", json={"paths": [f"c{i:02d}.wav"]},
                                                   headers=bearer(buyer.keys["member"])))
    codes = sorted(r.status_code for r in res)
    assert codes.count(200) == 20 and codes.count(402) == 4, [r.json for r in res if r.status_code not in (200, 402)]
    assert all(r.json["charged"] == 500 for r in res if r.status_code == 200)
    with session_app.app_context():
        s = get_session()
        assert s.get(Grant, uuid.UUID(gid)).balance == 0 == metering.ledger_balance(uuid.UUID(gid))
        debits = s.scalar(select(func.sum(QuotaEntry.amount)).where(QuotaEntry.grant_id == uuid.UUID(gid), QuotaEntry.kind == "debit",
                                                                    QuotaEntry.request_id != "setup-spend"))
        assert debits == 10_000
        session_app.extensions["db"].remove()


# --------------------------------------------------------------------------- search, pages and exports


def test_media_facets_filter_and_hours_sort(client, vendor):
    key = vendor.keys["owner"]
    tag = f"media-{uuid.uuid4().hex[:8]}"
    made = {}
    for name, files in {"narrowband": {"a.wav": m.wav(3.0, 8000)},
                        "wideband": {"a.wav": m.wav(1.0, 16000), "b.flac": m.flac(4.0, 48000), "manifest.jsonl": m.manifest([{"audio": "a.wav", "speaker": "x"}])},
                        "studio": {"a.flac": m.flac(2.0, 48000, 2), "b.flac": m.flac(0.5, 44100)},
                        "video": {"v.mp4": m.video(seconds=1.0, size=(64, 720))},
                        "text": {"t.jsonl": b'{"t": "no media"}\n'}}.items():
        made[name], _ = published_dataset(client, key, files, tags=[tag], title=f"{name} corpus")

    def found(**params):
        r = client.get("/api/v1/datasets", query_string={"tag": tag, **params})
        assert r.status_code == 200, r.json
        return [i["title"].split()[0] for i in r.json["items"]], r.json["facets"]

    titles, facets = found()
    assert {f["value"]: f["count"] for f in facets["sample_rate"]} == {"16k": 2, "44.1k": 1}
    assert {f["value"]: f["count"] for f in facets["hours"]} == {"<1": 4}
    assert {f["value"]: f["count"] for f in facets["resolution"]} == {"720p": 1}
    assert {f["value"]: f["count"] for f in facets["speakers"]} == {"1-9": 1}
    assert sorted(found(sample_rate=["16k"])[0]) == ["studio", "wideband"]
    assert found(sample_rate=["44.1k"])[0] == ["studio"]
    assert found(resolution=["720p"])[0] == ["video"] and found(resolution=["1080p"])[0] == []
    assert found(speakers=["1-9"])[0] == ["wideband"]
    assert found(sort="hours_desc")[0] == ["wideband", "narrowband", "studio", "video", "text"]
    assert found(sort="hours_asc")[0] == ["text", "video", "studio", "narrowband", "wideband"]
    # Paged by cursor, the order holds.
    first = client.get("/api/v1/datasets", query_string={"tag": tag, "sort": "hours_desc", "limit": 2}).json
    second = client.get("/api/v1/datasets", query_string={"tag": tag, "sort": "hours_desc", "limit": 2, "cursor": first["next_cursor"]}).json
    assert [i["title"].split()[0] for i in first["items"] + second["items"]] == ["wideband", "narrowband", "studio", "video"]
    bad = client.get("/api/v1/datasets", query_string={"sample_rate": "22k"})
    assert bad.status_code == 400 and "query.sample_rate" in bad.json["errors"]
    page = client.get(f"/datasets?tag={tag}&sample_rate=44.1k&sort=hours_desc")
    assert page.status_code == 200 and "studio corpus" in page.text and "≥ 44.1 kHz" in page.text


def test_figures_on_the_dataset_page_and_in_the_exports(client, vendor):
    key = vendor.keys["owner"]
    _, (ds, v) = _speech_version(client, key)
    page = client.get(f"/datasets/{ds['id']}")
    assert page.status_code == 200
    assert "Measured at ingest" in page.text and "9 s in 6 recording(s)" in page.text and "16 kHz (4), 48 kHz (2)" in page.text
    assert "3 (4.5 s) by 2 speaker(s)" in page.text
    croissant = client.get(f"/api/v1/versions/{v['id']}/croissant", headers=bearer(key)).json
    measured = {p["name"]: p["value"] for p in croissant["variableMeasured"]}
    assert measured["audio_hours"] == 0.0025 and measured["speakers"] == 2 and measured["audio_files_at_16000_hz"] == 4
    sets = {d["@id"]: d for d in croissant["distribution"] if d["@type"] == "cr:FileSet"}
    assert sets["flac-files"]["includes"] == ["audio/b48.flac"] and "shards/s0.tar" in sets["tar-files"]["includes"]
    assert "measured at ingest" in croissant["rai:dataCollectionRawData"]
    report = client.get(f"/api/v1/versions/{v['id']}/report", headers=bearer(key)).json
    assert report["version"]["media"]["audio_ms"] == 9000
    html = client.get(f"/api/v1/versions/{v['id']}/report?format=html", headers=bearer(key)).text
    assert "Media, measured at ingest" in html and "6 recording(s)" in html


# --------------------------------------------------------------------------- previews


def test_previews_are_made_from_the_vendors_sample_and_served_briefly(app, client, vendor):
    key = vendor.keys["owner"]
    files = {"samples/hello.flac": m.flac(12.0, 48000, 2), "samples/street.jpg": m.image("JPEG", (1600, 1200)),
             "samples/drive.mp4": m.video(seconds=1.0, size=(320, 240)), "all/other.wav": m.wav(1.0), "samples/scan.dcm": m.dicom()}
    ds, v = published_dataset(client, key, files, domain="speech-audio", modalities=["audio"])
    listed = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json}
    previews = {p: client.get(f"/api/v1/files/{listed[p]['id']}/preview").json for p in listed}
    assert previews["all/other.wav"]["media"] is None  # outside the vendor's sample folder
    scan = previews["samples/scan.dcm"]["media"]
    assert scan["kind"] == "thumbnail" and _measure("jpeg", fetch(app, client, scan["url"]))["width"] == 40  # the scan's own columns, windowed to 8 bits
    clip = previews["samples/hello.flac"]["media"]
    assert clip["kind"] == "clip" and clip["content_type"] == "audio/ogg" and clip["seconds"] == 10.0 and clip["expires_in"] <= 3600
    thumb, poster = previews["samples/street.jpg"]["media"], previews["samples/drive.mp4"]["media"]
    assert (thumb["kind"], poster["kind"]) == ("thumbnail", "poster")
    if clip["url"].startswith(app.config["SETTINGS"].public_url):  # the embedded store says what a preview is, as S3 does from its put
        assert client.get(urlparse(clip["url"]).path).headers["Content-Type"] == "audio/ogg"
    heard = fetch(app, client, clip["url"])
    measured = _measure("ogg", heard)
    assert (measured["codec"], measured["channels"]) == ("opus", 2) and 9900 <= measured["duration_ms"] <= 10100
    seen = _measure("jpeg", fetch(app, client, thumb["url"]))
    assert (seen["width"], seen["height"]) == (320, 240)
    assert _measure("jpeg", fetch(app, client, poster["url"]))["width"] == 320
    # The page plays and shows them to whoever may see samples.
    page = client.get(f"/datasets/{ds['id']}").text
    assert "<audio controls" in page and 'alt="Thumbnail of samples/street.jpg"' in page and 'alt="Poster frame of samples/drive.mp4"' in page
    # Hidden by the vendor: no URL any more, on the API or the page.
    r = client.put(f"/api/v1/files/{listed['samples/hello.flac']['id']}/preview", json={"hide": True}, headers=bearer(key))
    assert r.status_code == 200 and r.json["hidden"] and r.json["media"] is None
    assert client.get(f"/api/v1/files/{listed['samples/hello.flac']['id']}/preview").json["media"] is None
    assert "<audio controls" not in client.get(f"/datasets/{ds['id']}").text


def test_without_a_sample_folder_the_first_media_files_are_previewed(client, vendor):
    key = vendor.keys["owner"]
    files = {f"clips/{i:02d}.wav": m.wav(0.5, 16000, freq=300 + i) for i in range(8)}
    _, v = published_dataset(client, key, files, domain="speech-audio", modalities=["audio"])
    listed = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json
    with_clip = [f["path"] for f in listed if client.get(f"/api/v1/files/{f['id']}/preview").json["media"]]
    assert with_clip == [f"clips/{i:02d}.wav" for i in range(6)]


def test_a_decoder_that_breaks_fails_the_file_instead_of_wedging_the_version(client, vendor, monkeypatch):
    def broken(f, size):
        raise RuntimeError("a bug in a decoder")

    monkeypatch.setitem(media_module._MEASURERS, "wav", broken)
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "a.wav", m.wav(1.0))
    v = publish(client, key, v["id"])
    assert v["status"] == "draft"
    assert v["ingest_report"]["files"]["a.wav"]["reason"].startswith("the WAV file could not be measured (RuntimeError)")


@pytest.mark.parametrize("value", ["1e308", "Infinity", "NaN", "-1e400", "1" + "0" * 400])
def test_absurd_segment_times_fail_with_a_reason(client, vendor, value):
    """Found while attacking segment manifests: 1e400 parses as infinity, which PostgreSQL's
    JSON refuses; the sample holding it wedged the version in processing."""
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "a.wav", m.wav(1.0))
    upload_small(client, key, v["id"], "manifest.jsonl", b'{"audio": "a.wav", "start": 0, "end": ' + value.encode() + b'}\n')
    v = publish(client, key, v["id"])
    reason = v["ingest_report"]["files"]["manifest.jsonl"]["reason"]
    # NaN and Infinity are no JSON at all; the others are numbers no recording has.
    assert v["status"] == "draft" and ("'end' is not a number of seconds" in reason or f"{value} is not a JSON value" in reason), reason


def test_many_bad_lines_stop_at_three_and_long_names_are_cut(client, vendor):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "a.wav", m.wav(1.0))
    upload_small(client, key, v["id"], "manifest.jsonl", m.manifest([{"audio": "x" * 5000 + ".wav"}] * 50))
    v = publish(client, key, v["id"])
    reason = v["ingest_report"]["files"]["manifest.jsonl"]["reason"]
    assert v["status"] == "draft" and reason.count("which is not a media file") == 3 and len(reason) < 1000
    files = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json}
    assert files["manifest.jsonl"]["failure_reason"] == reason


def test_segments_may_point_into_a_shards_members(client, vendor):
    key = vendor.keys["owner"]
    files = {"s0.tar": m.speech_shard(2, seconds=1.0), "manifest.jsonl": m.manifest([
        {"audio": "s0.tar/utt0000.flac", "start": 0, "end": 1.0, "speaker": "a"}, {"audio": "s0.tar#utt0001.flac", "start": 0.5, "end": 1.0, "speaker": "b"}])}
    _, v = published_dataset(client, key, files, domain="speech-audio", modalities=["audio"])
    assert (v["media"]["segments"], v["media"]["segment_ms"], v["media"]["speakers"]) == (2, 1500, 2)
    bad = m.manifest([{"audio": "s0.tar/utt0001.flac", "start": 0.5, "end": 1.5}])
    ds2 = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v2 = create_version(client, key, ds2["id"])
    upload_small(client, key, v2["id"], "s0.tar", files["s0.tar"])
    upload_small(client, key, v2["id"], "manifest.jsonl", bad)
    v2 = publish(client, key, v2["id"])
    assert "runs past the end of s0.tar/utt0001.flac (1 s)" in v2["ingest_report"]["files"]["manifest.jsonl"]["reason"]


# --------------------------------------------------------------------------- lying headers and unsafe shards (found attacking from outside)


def _flac_with_rate(data: bytes, rate: int) -> bytes:
    """The same FLAC with STREAMINFO claiming another sample rate (its frames keep theirs)."""
    b = bytearray(data)
    packed = int.from_bytes(b[18:21], "big")
    b[18:21] = ((rate << 4) | (packed & 0xF)).to_bytes(3, "big")
    return bytes(b)


def _opus_claiming(data: bytes, hours: float) -> bytes:
    """The same Ogg Opus whose last page says it ends `hours` in (its CRC recomputed)."""
    from mutagen.ogg import OggPage

    pages, f = [], io.BytesIO(data)
    while f.tell() < len(data):
        pages.append(OggPage(f))
    pages[-1].position = int(hours * 3600 * 48000)
    return b"".join(p.write() for p in pages)


@pytest.mark.parametrize("rate", [1, 8000])
def test_a_flac_header_lying_about_its_rate_is_refused(rate):
    """A 2 s recording whose STREAMINFO said 1 Hz measured as 9.1 hours, and billed so."""
    with pytest.raises(MediaProblem, match=f"the FLAC header says {rate} Hz, its frames say 16000 Hz|under 100 bits per second"):
        _measure("flac", _flac_with_rate(m.flac(2.0, 16000), rate))


@pytest.mark.parametrize("hours", [1000, 2**62 / 3600 / 48000])
def test_an_ogg_claiming_more_hours_than_its_bytes_hold_is_refused(hours):
    assert 3500 < _measure("opus", _opus_claiming(m.opus(2.0), 0.001))["duration_ms"] <= 3600  # the rewrite itself works (less the pre-skip)
    with pytest.raises(MediaProblem, match=r"under 100 bits per second\): the header is wrong"):
        _measure("opus", _opus_claiming(m.opus(2.0), hours))


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(member, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, **attrs) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    for k, v in attrs.items():
        setattr(info, k, v)
    return info


@pytest.mark.parametrize(("member", "reason"), [
    (_member("../escape.wav"), "relative path without '..'"),
    (_member("/etc/escape.wav"), "relative path without '..'"),
    (_member("link.wav", tarfile.SYMTYPE, linkname="/etc/passwd"), "links, devices and other special members"),
    (_member("hard.wav", tarfile.LNKTYPE, linkname="other.wav"), "links, devices and other special members"),
    (_member("fifo", tarfile.FIFOTYPE), "links, devices and other special members"),
])
def test_unsafe_shard_members_are_refused(member, reason):
    a = analyse_shard(iter([_tar_with(member)]))
    assert a.problems and reason in a.problems[0], a.problems


def test_a_sparse_member_and_a_name_that_is_not_utf8_are_refused():
    sparse = _member("s.wav", tarfile.GNUTYPE_SPARSE)
    a = analyse_shard(iter([_tar_with(sparse)]))
    assert a.problems and "sparse" in a.problems[0]
    raw = bytearray(_tar_with(_member("abc.wav", size=4), b"RIFF"))
    raw[0:7] = b"a\xed\xb3\xbf.wa"  # a lone surrogate, UTF-8 encoded: no text
    raw[148:156] = b"        "
    raw[148:155] = ("%06o\0" % sum(raw[:512])).encode()
    a = analyse_shard(iter([bytes(raw)]))
    assert a.problems and "not valid UTF-8" in a.problems[0], a.problems


def test_a_step_that_raises_returns_the_version_to_draft_with_a_reason(client, vendor, monkeypatch):
    def broken(*args, **kwargs):
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(ingest, "version_totals", broken)
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, domain="speech-audio", modalities=["audio"])
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "a.wav", m.wav(1.0))
    v = publish(client, key, v["id"])
    assert v["status"] == "draft" and v["status_reason"].startswith("Verification failed unexpectedly (OverflowError)")
    monkeypatch.undo()
    assert publish(client, key, v["id"])["status"] == "published"  # the vendor's way out: publish again
