"""Demo catalogue for `make run`: real (small, generated) files uploaded, verified and published
through the same services vendors use, so the demo shows ingest results, manifests and previews."""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct

from catalog.services import datasets as catalog
from catalog.services import uploads
from marketplace.core.identity.principal import Principal


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def _wav(seconds: float, rate: int = 48000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    frames = int(seconds * rate)
    data = struct.pack(f"<{frames}h", *(rng.randint(-800, 800) for _ in range(frames)))
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data


def _clinical_dialogues(n: int) -> bytes:
    rng = random.Random(1)
    complaints = ["chest pain", "shortness of breath", "persistent cough", "dizziness", "abdominal pain", "migraine"]
    rows = []
    for i in range(n):
        c = rng.choice(complaints)
        rows.append({"dialogue_id": f"D{i:05d}", "specialty": rng.choice(["cardiology", "pulmonology", "general practice"]),
                     "turns": [{"speaker": "doctor", "text": "What brings you in today?"}, {"speaker": "patient", "text": f"I've had {c} for {rng.randint(2, 14)} days."}],
                     "icd10": rng.choice(["R07.9", "R06.0", "R05", "R42", "R10.9", "G43.9"]), "deidentified": True})
    return _jsonl(rows)


def _vitals_csv(n: int) -> bytes:
    rng = random.Random(2)
    out = io.StringIO()
    out.write("stay_id,hour,heart_rate,resp_rate,spo2,map_mmhg,note\n")
    for i in range(n):
        note = '"Sedation adjusted, ""RASS -2"""' if i % 17 == 0 else ""
        out.write(f"{1000 + i // 24},{i % 24},{rng.randint(55, 130)},{rng.randint(10, 30)},{rng.randint(88, 100)},{rng.randint(55, 105)},{note}\n")
    return out.getvalue().encode()


def _lease_clauses(n: int) -> bytes:
    rng = random.Random(3)
    kinds = ["rent review", "break clause", "assignment", "repair obligations", "service charge", "indemnity"]
    return _jsonl([{"clause_id": f"L{i:04d}", "type": rng.choice(kinds), "jurisdiction": rng.choice(["England & Wales", "Scotland", "Ireland"]),
                    "text": "The Tenant shall not assign the whole or any part of the Premises without the prior written consent of the Landlord.",
                    "annotator_agreement": round(rng.uniform(0.78, 0.97), 2)} for i in range(n)])


DATASETS = [
    ("vendor@medcorpus.test", dict(slug="clinical-dialogues-en", title="Clinical consultation dialogues (EN)", domain="healthcare",
                                   summary="De-identified doctor-patient consultations with ICD-10 codes, annotated by clinicians.",
                                   modalities=["text"], languages=["en-GB", "en-US"], tags=["clinical", "dialogue", "icd-10"],
                                   card_markdown="# Clinical consultation dialogues\n\nCollected with written consent in 14 UK and US practices, "
                                                 "de-identified (HIPAA Safe Harbor), double-annotated by clinicians.\n\n| split | dialogues |\n|---|---|\n| train | 400 |\n"),
     {"train/dialogues.jsonl": lambda: _clinical_dialogues(400)}),
    ("vendor@medcorpus.test", dict(slug="icu-vitals-hourly", title="ICU vital signs, hourly", domain="healthcare",
                                   summary="Hourly vital signs from adult intensive care stays, pseudonymised.",
                                   modalities=["tabular"], languages=["en"], tags=["icu", "time-series"],
                                   card_markdown="# ICU vital signs\n\nHourly heart rate, respiratory rate, SpO2 and MAP."),
     {"vitals.csv": lambda: _vitals_csv(2400)}),
    ("vendor@voxdata.test", dict(slug="nordic-callcentre-speech", title="Nordic call-centre speech, 48 kHz", domain="speech-audio",
                                 summary="Multi-speaker telephone conversations in Swedish and Norwegian with verbatim transcripts.",
                                 modalities=["audio", "text"], languages=["sv", "nb"], tags=["telephony", "asr", "48khz"],
                                 card_markdown="# Nordic call-centre speech\n\nRecorded with consent of both parties; speakers are paid contributors."),
     {"audio/call-0001.wav": lambda: _wav(1.0, seed=1), "audio/call-0002.wav": lambda: _wav(1.5, seed=2),
      "manifest.jsonl": lambda: _jsonl([{"audio": "audio/call-0001.wav", "start": 0.0, "end": 0.6, "speaker": "A", "text": "Hej, hur kan jag hjälpa dig?"},
                                        {"audio": "audio/call-0001.wav", "start": 0.6, "end": 1.0, "speaker": "B", "text": "Hej!"},
                                        {"audio": "audio/call-0002.wav", "start": 0.0, "end": 1.5, "speaker": "B", "text": "Jeg ringer om fakturaen min."}])}),
    ("vendor@lexisets.test", dict(slug="lease-clauses-annotated", title="Annotated commercial lease clauses", domain="legal",
                                  summary="Clause-level annotations of commercial leases from three common-law jurisdictions.",
                                  modalities=["text"], languages=["en-GB"], tags=["contracts", "clauses", "real-estate"],
                                  card_markdown="# Lease clauses\n\nEach clause typed by two qualified solicitors; agreement reported per clause."),
     {"clauses.jsonl": lambda: _lease_clauses(600)}),
]


def seed_catalogue(principal_for_email) -> int:  # type: ignore[no-untyped-def]
    """Create, upload and publish the demo datasets. Returns how many were published."""
    published = 0
    for email, meta, files in DATASETS:
        p: Principal = principal_for_email(email)
        ds = catalog.create_dataset(p, organization_id=None if p.key_org_id else next(iter(p.memberships)), visibility="listed", **meta)
        v = catalog.create_version(p, ds.id, version="1.0.0", changelog="First public release.")
        for path, make in files.items():
            data = make()
            f, stored = catalog.add_file(p, v.id, path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
            if not stored:
                uploads.upload_small(p, f.id, io.BytesIO(data), len(data))
        catalog.request_publish(p, v.id)
        published += 1
    return published
