"""Demo catalogue for `make run`: real (small, generated) files uploaded, verified and published
through the same services vendors use, so the demo shows ingest results, manifests and previews."""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
from datetime import date
from typing import Any, Callable

from catalog.models import DatasetVersion
from catalog.overlap import services as overlap
from catalog.services import datasets as catalog
from catalog.services import uploads
from licensing import services as licensing
from licensing.schemas import ProvenanceBodySchema
from licensing.services import find_license
from marketplace.commerce import services as commerce
from marketplace.commerce.models import Offer
from marketplace.compliance import training
from marketplace.kernel.principal import Principal


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def _wav(seconds: float, rate: int = 48000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    frames = int(seconds * rate)
    data = struct.pack(f"<{frames}h", *(rng.randint(-800, 800) for _ in range(frames)))
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data


def _clinical_dialogues(n: int) -> bytes:
    """Consultations varied enough to look like a real corpus: the overlap check counts
    duplicate records, and a demo of 400 copies of six sentences would rightly score badly."""
    rng = random.Random(1)
    complaints = ["chest pain", "shortness of breath", "a persistent cough", "dizziness", "abdominal pain", "a migraine", "palpitations", "lower back pain"]
    openings = ["What brings you in today?", "How can I help you this morning?", "Tell me what has been bothering you.", "What seems to be the problem?"]
    onsets = ["after climbing stairs", "mostly at night", "since a cold last month", "after meals", "when I lie down", "out of nowhere", "at work"]
    extras = ["and I feel tired all the time", "and it wakes me up", "and paracetamol does not help", "and my mother had the same", "but no fever",
              "and I feel sick with it", "and it is getting worse"]
    questions = ["Does it spread anywhere else?", "Have you had anything like this before?", "Are you taking any medication?", "Any allergies I should know about?"]
    rows = []
    for i in range(n):
        c = rng.choice(complaints)
        rows.append({"dialogue_id": f"D{i:05d}", "specialty": rng.choice(["cardiology", "pulmonology", "general practice"]),
                     "turns": [{"speaker": "doctor", "text": rng.choice(openings)},
                               {"speaker": "patient", "text": f"I've had {c} for {rng.randint(2, 14)} days, {rng.choice(onsets)}, {rng.choice(extras)}."},
                               {"speaker": "doctor", "text": f"{rng.choice(questions)} On a scale of one to ten, how bad is it?"},
                               {"speaker": "patient", "text": f"About a {rng.randint(3, 9)}, {rng.choice(['worse in the evening', 'worse when I move', 'steady', 'coming and going'])}."}],
                     "icd10": rng.choice(["R07.9", "R06.0", "R05", "R42", "R10.9", "G43.9"]), "deidentified": True})
    return _jsonl(rows)


def _vitals_csv(n: int) -> bytes:
    rng = random.Random(2)
    out = io.StringIO()
    out.write("stay_id,hour,heart_rate,resp_rate,spo2,map_mmhg,note\n")
    drugs = ["propofol", "midazolam", "dexmedetomidine", "fentanyl"]
    for i in range(n):
        note = (f'"Sedation adjusted: {rng.choice(drugs)} {rng.randint(1, 9) * 10} mg/h, ""RASS {rng.randint(-4, 1)}"" at {rng.randint(0, 23):02d}:{rng.choice(["00", "15", "30", "45"])}"'
                if i % 17 == 0 else "")
        out.write(f"{1000 + i // 24},{i % 24},{rng.randint(55, 130)},{rng.randint(10, 30)},{rng.randint(88, 100)},{rng.randint(55, 105)},{note}\n")
    return out.getvalue().encode()


def _lease_clauses(n: int) -> bytes:
    rng = random.Random(3)
    kinds = {
        "rent review": "The rent shall be reviewed on the {n}th anniversary of the Term Commencement Date to the open market rent of the {premises}.",
        "break clause": "The Tenant may determine this Lease on {d} {m} {y} by giving not less than {n} months' written notice to the Landlord.",
        "assignment": "The Tenant shall not assign the whole or any part of the {premises} without the prior written consent of the Landlord, not to be unreasonably withheld.",
        "repair obligations": "The Tenant shall keep the {premises} in good and substantial repair and condition, save for damage by an Insured Risk, for {n} years.",
        "service charge": "The Tenant shall pay {n} per cent of the Service Costs for the {premises} within {d} days of a written demand.",
        "indemnity": "The Tenant shall indemnify the Landlord against all losses arising from any breach of covenant relating to the {premises} after {d} {m} {y}.",
    }
    premises = ["Premises", "Unit", "Demised Premises", "Retail Unit", "Ground Floor Premises", "Warehouse", "Office Suite"]
    months = ["January", "March", "June", "September", "December"]
    parties = ["Harbour Estates Limited", "Northgate Retail plc", "Kestrel Holdings LLP", "Brannock Developments", "Lowther Trustees", "Ceres Foods Limited",
               "Quayside Offices Limited", "Maple & Finch LLP", "Dunmore Property Fund", "Arden Logistics Limited", "St Clair Investments", "Fenwick Cafes Limited"]
    provisos = ["This clause binds {party} and its successors in title until {y}.", "Any dispute under this clause is referred to an independent surveyor appointed by {party}.",
                "Notices under this clause are served on {party} at its registered office.", "{party} may waive this requirement in writing within {n} days.",
                "Interest accrues at {n} basis points above base rate on sums unpaid to {party}.", "This clause survives any assignment by {party} made before {y}.",
                "The parties record that {party} gave a guarantee dated {n} days before completion.", "Time is of the essence for any notice {party} serves under this clause."]
    rows = []
    for i in range(n):
        kind = rng.choice(list(kinds))
        text = kinds[kind].format(n=rng.randint(2, 25), premises=rng.choice(premises), d=rng.randint(1, 28), m=rng.choice(months), y=rng.randint(2026, 2040))
        text += " " + rng.choice(provisos).format(party=rng.choice(parties), n=rng.randint(5, 90), y=rng.randint(2026, 2040))
        rows.append({"clause_id": f"L{i:04d}", "type": kind, "jurisdiction": rng.choice(["England & Wales", "Scotland", "Ireland"]), "text": text,
                     "annotator_agreement": round(rng.uniform(0.78, 0.97), 2)})
    return _jsonl(rows)


FIRST_HAND = {"kind": "first_hand", "name": "Collected by the vendor"}

DATASETS: list[tuple[str, dict[str, Any], dict[str, Callable[[], bytes]], str, dict[str, Any]]] = [
    ("vendor@medcorpus.test", dict(slug="clinical-dialogues-en", title="Clinical consultation dialogues (EN)", domain="healthcare",
                                   summary="De-identified doctor-patient consultations with ICD-10 codes, annotated by clinicians.",
                                   modalities=["text"], languages=["en-GB", "en-US"], tags=["clinical", "dialogue", "icd-10"],
                                   card_markdown="# Clinical consultation dialogues\n\nCollected with written consent in 14 UK and US practices, "
                                                 "de-identified (HIPAA Safe Harbor), double-annotated by clinicians.\n\n| split | dialogues |\n|---|---|\n| train | 400 |\n"),
     {"train/dialogues.jsonl": lambda: _clinical_dialogues(400)},
     "CC-BY-NC-4.0",
     {"sources": [{"kind": "first_hand", "name": "Consultations recorded in 14 partner practices"}],
      "collection": {"period_start": "2023-02-01", "period_end": "2024-01-31", "geography": ["GB", "US"], "lawful_basis": "consent"},
      "personal_data": {"status": "anonymised", "anonymisation_method": "HIPAA Safe Harbor de-identification, then manual review"},
      "annotation": {"workforce": "9 licensed clinicians", "qa_method": "double annotation with adjudication", "qa_pass_rate": 0.97,
                     "inter_annotator_agreement": 0.84, "agreement_metric": "Cohen's kappa"},
      "limitations": "Primary care and two specialties only.", "biases": "Patients are adults who consented to recording."}),
    ("vendor@medcorpus.test", dict(slug="icu-vitals-hourly", title="ICU vital signs, hourly", domain="healthcare",
                                   summary="Hourly vital signs from adult intensive care stays, pseudonymised.",
                                   modalities=["tabular"], languages=["en"], tags=["icu", "time-series"],
                                   card_markdown="# ICU vital signs\n\nHourly heart rate, respiratory rate, SpO2 and MAP."),
     {"vitals.csv": lambda: _vitals_csv(2400)},
     "CC-BY-NC-4.0",
     {"sources": [{"kind": "licensed", "name": "Hospital ICU monitoring export", "contract_reference": "DUA-2024-ICU-031",
                   "license": "Non-commercial use and redistribution, attribution required"}],
      "collection": {"period_start": "2021-01-01", "period_end": "2023-12-31", "geography": ["DE"], "lawful_basis": "public_task"},
      "personal_data": {"status": "pseudonymised", "sensitive_categories": ["health"]},
      "limitations": "One hospital; adult ICU only."}),
    ("vendor@voxdata.test", dict(slug="nordic-callcentre-speech", title="Nordic call-centre speech, 48 kHz", domain="speech-audio",
                                 summary="Multi-speaker telephone conversations in Swedish and Norwegian with verbatim transcripts.",
                                 modalities=["audio", "text"], languages=["sv", "nb"], tags=["telephony", "asr", "48khz"],
                                 card_markdown="# Nordic call-centre speech\n\nRecorded with consent of both parties; speakers are paid contributors."),
     {"audio/call-0001.wav": lambda: _wav(1.0, seed=1), "audio/call-0002.wav": lambda: _wav(1.5, seed=2),
      "manifest.jsonl": lambda: _jsonl([{"audio": "audio/call-0001.wav", "start": 0.0, "end": 0.6, "speaker": "A", "text": "Hej, hur kan jag hjälpa dig?"},
                                        {"audio": "audio/call-0001.wav", "start": 0.6, "end": 1.0, "speaker": "B", "text": "Hej!"},
                                        {"audio": "audio/call-0002.wav", "start": 0.0, "end": 1.5, "speaker": "B", "text": "Jeg ringer om fakturaen min."}])},
     "CC-BY-4.0",
     {"sources": [{"kind": "first_hand", "name": "Calls recorded by paid contributors with consent of both parties"}],
      "collection": {"period_start": "2024-03-01", "period_end": "2024-09-30", "geography": ["SE", "NO"], "lawful_basis": "consent"},
      "personal_data": {"status": "contains"},
      "annotation": {"workforce": "native-speaker transcribers", "qa_method": "10% second pass", "qa_pass_rate": 0.95}}),
    ("vendor@lexisets.test", dict(slug="lease-clauses-annotated", title="Annotated commercial lease clauses", domain="legal",
                                  summary="Clause-level annotations of commercial leases from three common-law jurisdictions.",
                                  modalities=["text"], languages=["en-GB"], tags=["contracts", "clauses", "real-estate"],
                                  card_markdown="# Lease clauses\n\nEach clause typed by two qualified solicitors; agreement reported per clause."),
     {"clauses.jsonl": lambda: _lease_clauses(600)},
     "CC-BY-SA-4.0",
     {"sources": [{"kind": "external", "name": "Public lease register extracts", "url": "https://example.org/lease-register",
                   "license": "CC BY-SA 4.0"}],
      "personal_data": {"status": "none"},
      "annotation": {"workforce": "two qualified solicitors", "inter_annotator_agreement": 0.88, "agreement_metric": "Krippendorff's alpha"}}),
]

# A dataset built on another: synthetic patient questions from the clinical dialogues (non-commercial
# upstream) and a model whose terms bind its outputs; the registry files it as non-commercial.
DERIVED: tuple[str, dict[str, Any], dict[str, Callable[[], bytes]], str] = ("vendor@medcorpus.test", dict(slug="synthetic-patient-questions", title="Synthetic patient questions", domain="healthcare",
                                         summary="Patient questions paraphrased by an LLM from the clinical dialogues corpus.",
                                         modalities=["text"], languages=["en"], tags=["synthetic", "clinical"]),
           {"questions.jsonl": lambda: _jsonl([{"id": i, "question": q} for i, q in enumerate(["Is chest pain after exercise serious?", "How long does a cough last?"] * 50)])},
           "CC-BY-NC-4.0")


def _release(p: Principal, meta: dict, files: dict, license: str, provenance: dict) -> DatasetVersion:
    ds = catalog.create_dataset(p, organization_id=next(iter(p.memberships)), visibility="listed", **meta)
    v = catalog.create_version(p, ds.id, version="1.0.0", changelog="First public release.")
    for path, make in files.items():
        data = make()
        f, stored = catalog.add_file(p, v.id, path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if not stored:
            uploads.upload_small(p, f.id, io.BytesIO(data), len(data))
    licensing.set_version_license(p, v.id, identifier=license)
    licensing.declare_provenance(p, v.id, body=_loaded(provenance), attest=True)
    catalog.request_publish(p, v.id)
    return v


def _loaded(body: dict) -> dict:
    """Defaults and types exactly as the API's schema would give them."""
    return ProvenanceBodySchema().load(body)


def seed_catalogue(principal_for_email: Callable[[str], Principal]) -> int:
    """Create, upload, license, declare and publish the demo datasets. Returns how many."""
    versions: dict[str, DatasetVersion] = {}
    for email, meta, files, license, provenance in DATASETS:
        versions[meta["slug"]] = _release(principal_for_email(email), meta, files, license, provenance)
    email, meta, files, license = DERIVED
    provenance = {"sources": [{"kind": "registry", "name": "Clinical consultation dialogues", "version_id": str(versions["clinical-dialogues-en"].id)},
                              {"kind": "model", "name": "Paraphrases", "model_name": "gpt-4o", "model_provider": "OpenAI", "license": "LicenseRef-OpenAI-Terms"}],
                  "personal_data": {"status": "none"}, "limitations": "Synthetic text: check facts before clinical use."}
    versions[meta["slug"]] = _release(principal_for_email(email), meta, files, license, provenance)
    _seed_offers(principal_for_email, versions)
    _seed_relisting(principal_for_email)
    return len(versions)


def _seed_relisting(principal_for_email: Callable[[str], Principal]) -> None:
    """A relisting for the overlap demo: another vendor uploads most of the clinical dialogues as
    its own "doctor-patient chats" (ids renumbered, one field renamed). Publishing is held for
    platform compliance, and the vendor has appealed: compliance@marketplace.test finds it under
    Compliance, Overlap."""
    rows = [json.loads(line) for line in _clinical_dialogues(400).splitlines()[:300]]
    chats = [{"chat": f"C-{i:04d}", "messages": [{"role": t["speaker"], "content": t["text"]} for t in r["turns"]]} for i, r in enumerate(rows)]
    p = principal_for_email("vendor@voxdata.test")
    v = _release(p, dict(slug="doctor-patient-chats", title="Doctor-patient chats", domain="healthcare", summary="Consultation transcripts, English.",
                         modalities=["text"], languages=["en"], tags=["clinical", "dialogue"]),
                 {"chats.jsonl": lambda: _jsonl(chats)}, "CC-BY-4.0", {"sources": [FIRST_HAND], "personal_data": {"status": "none"}})
    overlap.appeal(p, v.id, reason="We transcribed these consultations ourselves in 2024; recordings available on request.")


OFFERS: list[tuple[str, str, dict[str, Any]]] = [
    # (vendor, dataset slug, offer)
    ("vendor@medcorpus.test", "clinical-dialogues-en", dict(title="Research licence, per 1,000 records", license="CC-BY-NC-4.0", pricing_unit="records",
                                                            unit_price_minor=5, currency="EUR", min_quantity=1000, term_days=365,
                                                            tiers=[{"from": 100_000, "unit_price_minor": 3}])),
    ("vendor@medcorpus.test", "icu-vitals-hourly", dict(title="Annual access, unlimited downloads", license="CC-BY-NC-4.0", pricing_unit="term",
                                                        unit_price_minor=250_000, currency="EUR", term_days=365)),
    ("vendor@voxdata.test", "nordic-callcentre-speech", dict(title="Commercial ASR training, per GiB", license="CC-BY-4.0", pricing_unit="gib",
                                                             unit_price_minor=9_000, currency="EUR", min_quantity=1, term_days=730)),
    ("vendor@voxdata.test", "nordic-callcentre-speech", dict(title="ASR training, per hour of audio", license="CC-BY-4.0", pricing_unit="hours",
                                                             unit_price_minor=4_000, currency="EUR", min_quantity=1, term_days=730)),
    ("vendor@lexisets.test", "lease-clauses-annotated", dict(title="Share-alike licence, per download", license="CC-BY-SA-4.0", pricing_unit="downloads",
                                                             unit_price_minor=1_500, currency="GBP", included_quota=5)),
    ("vendor@medcorpus.test", "synthetic-patient-questions", dict(title="Non-commercial research, per record", license="CC-BY-NC-4.0",
                                                                  pricing_unit="records", unit_price_minor=1, currency="EUR", min_quantity=100)),
]


def _seed_offers(principal_for_email: Callable[[str], Principal], versions: dict[str, DatasetVersion]) -> None:
    """Offers for every demo dataset, and one purchase already paid by invoice: Acme AI holds a
    grant on the clinical dialogues, so the buyer's dashboard has something to show."""
    offers: dict[str, Offer] = {}
    for email, slug, body in OFFERS:
        ds_id = versions[slug].dataset_id
        offers[slug] = commerce.create_offer(principal_for_email(email), ds_id, version_id=None, **body)
    buyer = principal_for_email("buyer@acme-ai.test")
    offer = offers["clinical-dialogues-en"]
    lic = find_license("CC-BY-NC-4.0")
    assert lic is not None  # a licence of the seeded registry
    order, _ = commerce.create_order(buyer, offer_id=offer.id, quantity=20_000, currency="EUR", license_sha256=lic.text_sha256,
                                     payment_method="invoice", idempotency_key="demo-order-1")
    paid = commerce.mark_paid(principal_for_email("vendor@medcorpus.test"), order.id)
    # ...and trained a model on it, so the compliance console has documents to show.
    model = training.create_model(buyer, paid.buyer_org_id, name="Acme Clinical Assistant", version="1.0", provider="Acme AI",
                                  release_date=date(2026, 11, 1), description="A triage assistant fine-tuned on licensed consultations.")
    run = training.create_run(buyer, model.id, name="fine-tuning", started_on=date(2026, 10, 1), ended_on=date(2026, 10, 12))
    training.add_input(buyer, run.id, kind="grant", grant_id=paid.grant_id, version_id=versions["clinical-dialogues-en"].id)
    training.add_input(buyer, run.id, kind="public", name="MedQA (English)", url="https://github.com/jind11/MedQA", modality="text",
                       size=12_000_000, languages=["en"], description="Public medical exam questions, used for evaluation-driven fine-tuning.")
