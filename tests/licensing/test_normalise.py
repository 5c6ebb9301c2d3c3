"""The normaliser: DPI's whole vocabulary, precedence traps a new user found, and a property.

- Every paraphrase in DPI's file maps to its canonical identifier or class; every name in DPI's
  class map and every URL in its custom-licence map maps to DPI's use class, attribution and
  share-alike, except where `DPI_EXCEPTIONS` / `PARAPHRASE_EXCEPTIONS` say why we disagree.
- Traps: mixed texts, licence names inside URLs, negations, Chinese, SPDX expressions.
- Property: adding a restrictive sentence to a licence text never loosens the verdict.
The report (build/test-output/normaliser-report.json) lists how many variants the rules alone
resolve without the vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from licensing import normalise as n
from licensing.normalise import DPI_EXCEPTIONS, DPI_IDENTIFIER, dpi_class, normalise, url_key
from licensing.registry_data import STANDARD
from licensing.terms import looser

PARAPHRASES = json.loads((n.DATA / "license_paraphrases.json").read_text())
CLASSES = json.loads((n.DATA / "license_classes.json").read_text())
CUSTOM_URLS = json.loads((n.DATA / "custom_license_classes.json").read_text())
REPORT = Path(__file__).resolve().parents[2] / "build" / "test-output" / "normaliser-report.json"
FLAG = {"1": True, "0": False, "?": None}

# Paraphrases DPI files under a canonical name we do not agree with, and why.
PARAPHRASE_EXCEPTIONS = {
    ("Microsoft Data Licensing Agreement", "ms-pl"): "MS-PL is the Microsoft Public License, a permissive open-source licence, not the research data agreement.",
    **{("CC0 1.0", v): "A bare 'Creative Commons' names the whole family, from CC0 to BY-NC-ND: unknown until the licence is named."
       for v in ("## creative commons", "Creative Commons", "Creative Commons Legal Code", "Creative Commons Public License (CCPL)", "cc")},
    ("MIT License", "Modified MIT License"): "A modified licence is not the licence: its changes are terms nobody here has read.",
    ("CC BY-SA 3.0", "Creative Commons Attribution-ShareAlike 3.0 and the GNU Free Documentation License"):
        "The registry does not hold the GNU Free Documentation License's terms: a text that binds it beside CC BY-SA is unknown until it does.",
    ("CC BY 4.0", "Like the original PersonaChat dataset, this dataset is released under the CC BY 4.0 license."):
        "It names another dataset the normaliser cannot look up: words beside a licence that nothing explains make it unknown.",
}


def matches(canonical: str, variant: str, r) -> bool:
    ident = DPI_IDENTIFIER.get(canonical)
    if ident and r.identifier == ident:
        return True
    if canonical == "Custom":
        # custom terms are unknown until read, unless DPI's custom-licence map has read them
        cls = n._custom_urls().get(url_key(variant))
        if cls is None:
            return r.unknown
        return r.use_class == n.CLASS_OF_DPI_USE[cls[0]] and r.attribution == FLAG[cls[1]]
    cls = dpi_class(canonical)
    if cls is None:
        return False
    use, attribution, _sa = cls
    return r.use_class == use and (attribution is None or r.attribution in (None, attribution))


def test_every_paraphrase_maps_to_its_canonical_identifier_or_class(monkeypatch):
    failures, rules_only_misses = [], []
    for canonical, variants in PARAPHRASES.items():
        for variant in variants:
            r = normalise(variant)
            if (canonical, variant) in PARAPHRASE_EXCEPTIONS:
                assert not matches(canonical, variant, r) or r.unknown, f"exception no longer needed: {variant}"
                continue
            if not matches(canonical, variant, r):
                failures.append({"canonical": canonical, "variant": variant, "got": r.to_dict()})
    # the same file with the vocabulary switched off: what the rules generalise to
    monkeypatch.setattr(n, "_vocab", dict)
    for canonical, variants in PARAPHRASES.items():
        for variant in variants:
            if (canonical, variant) not in PARAPHRASE_EXCEPTIONS and not matches(canonical, variant, normalise(variant)):
                rules_only_misses.append({"canonical": canonical, "variant": variant})
    total = sum(len(v) for v in PARAPHRASES.values())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"variants": total, "unmapped": failures, "rules_only_unmapped": len(rules_only_misses),
                                  "rules_only_unmapped_examples": rules_only_misses[:50]}, indent=2))
    assert failures == []
    assert total > 100
    # the rules alone must carry most of it: the vocabulary is for the long tail
    assert len(rules_only_misses) < total * 0.2


def _verdict(r) -> tuple[str, bool | None, bool | None]:
    return r.use_class, r.attribution, r.share_alike


def _dpi_verdict(cls: list[str]) -> tuple[str, bool | None, bool | None]:
    return n.CLASS_OF_DPI_USE[cls[0]], FLAG[cls[1]], FLAG[cls[2]]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_dpi_class_name_gets_dpis_class_or_a_stated_exception(name):
    """All 66 names of DPI's class map: use class, attribution and share-alike as DPI gives them."""
    r = normalise(name)
    if name in DPI_EXCEPTIONS:
        assert DPI_EXCEPTIONS[name].strip()
        # an exception is a disagreement, or a refinement that keeps DPI's class
        return
    assert _verdict(r) == _dpi_verdict(CLASSES[name]), (name, r.to_dict())
    if name in DPI_IDENTIFIER:
        assert r.identifier == DPI_IDENTIFIER[name]


def test_the_exceptions_are_real_disagreements_or_refinements():
    """Every exception names a DPI entry, and the ones that disagree really do."""
    assert set(DPI_EXCEPTIONS) <= set(CLASSES)
    disagree = {name for name in DPI_EXCEPTIONS if _verdict(normalise(name)) != _dpi_verdict(CLASSES[name])}
    assert {"No License", "OpenAI", "Anthropic", "Unclear", "MIT", "CC BY-ND 4.0", "LGPL 2.1", "MPL 2.0"} <= disagree
    assert normalise("No License").use_class == "unspecified"
    assert normalise("OpenAI").terms.no_competing_models and normalise("OpenAI").use_class == "commercial"


@pytest.mark.parametrize("url", sorted(CUSTOM_URLS))
def test_every_custom_licence_url_gets_dpis_class(url):
    r = normalise(url)
    assert _verdict(r) == _dpi_verdict(CUSTOM_URLS[url]), (url, r.to_dict())
    assert r.method in ("vocabulary", "unknown") and r.matches and r.matches[0].start == 0


def test_a_custom_licence_url_inside_a_sentence_counts_too():
    r = normalise("Terms: see http://korpus.uib.no/icame/brown/bcm.html#bc7 before use")
    assert r.use_class == "academic-only"


@pytest.mark.parametrize("text,identifier", [
    ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0"),
    ("cc_by_nc_sa_4.0", "CC-BY-NC-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nd/4.0/legalcode", "CC-BY-ND-4.0"),
    ("Attribution-ShareAlike 3.0 Unported", "CC-BY-SA-3.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("ODbL", "ODbL-1.0"),
    ("Open Data Commons Attribution License", "ODC-By-1.0"),
    ("Community Data License Agreement – Permissive – Version 2.0", "CDLA-Permissive-2.0"),
    ("BigScience OpenRAIL-M", "LicenseRef-BigScience-OpenRAIL-M"),
    ("Llama 2 Community License Agreement", "LicenseRef-Llama-2"),
    ("mit", "MIT"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("GNU Lesser General Public License v3.0", "LGPL-3.0-only"),
    ("MPL 2.0", "MPL-2.0"),
    ("ISC License", "ISC"),
    ("EPL-1.0", "EPL-1.0"),
    ("Artistic License 2.0", "Artistic-2.0"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("gpl-2.0+", "GPL-2.0-or-later"),
    ("Open Government Licence v3.0", "OGL-UK-3.0"),
    ("AI2 ImpACT License - Low Risk", "LicenseRef-AI2-ImpACT-LR"),
    ("AI2 ImpACT License – Medium Risk Artifacts", "LicenseRef-AI2-ImpACT-MR"),
    ("AI2 ImpACT License (high risk)", "LicenseRef-AI2-ImpACT-HR"),
    ("CDLA-Sharing-1.0", "CDLA-Sharing-1.0"),
    ("知识共享署名-非商业性使用-相同方式共享 4.0", "CC-BY-NC-SA-4.0"),
    ("Llama 3.1 Community License", "LicenseRef-Meta-Llama-3.1"),
])
def test_known_spellings(text, identifier):
    r = normalise(text)
    assert r.identifier == identifier and r.confidence >= 0.75, r.to_dict()


@pytest.mark.parametrize("text", ["", "   ", "see website", "Proprietary, contact sales", "https://example.com/our-terms.html", "xyz", "Creative Commons"])
def test_unsure_means_unknown_and_academic_only(text):
    r = normalise(text)
    # ("Proprietary" is matched, as terms the text does not give: still unknown, at low confidence.)
    assert r.identifier is None and r.use_class == "academic-only" and r.unknown and r.confidence <= 0.5
    assert r.attribution is None and r.share_alike is None  # unknown duties: treat as required


def test_keywords_give_a_class_without_identifier():
    r = normalise("Free for non-commercial use; contact us otherwise")
    assert r.identifier is None and r.use_class == "non-commercial" and r.method == "keyword"
    assert r.attribution is None and r.share_alike is None


# (text, use class, restrictions that must be reported, licences that must be matched)
TRAPS = [
    ("Non-commercial use only. Code: MIT license", "non-commercial", {"non-commercial"}, {"MIT"}),
    ("Research use only; code under Apache 2.0", "academic-only", {"research-only"}, {"Apache-2.0"}),
    ("http://moments.csail.mit.edu/", "academic-only", set(), set()),
    ("See http://example.mit.edu/data for the terms", "academic-only", set(), set()),
    ("Download from apache.example.org/mit/ and cite us", "academic-only", set(), set()),
    ("Data under CC-BY-4.0; images under CC BY-NC-SA 4.0", "non-commercial", set(), {"CC-BY-4.0", "CC-BY-NC-SA-4.0"}),
    ("MIT for the code, academic use only for the data", "academic-only", {"research-only"}, {"MIT"}),
    ("Released under CC0. Not for commercial use.", "non-commercial", {"non-commercial"}, {"CC0-1.0"}),
    ("CC BY 4.0, but commercial use is prohibited", "non-commercial", {"non-commercial"}, {"CC-BY-4.0"}),
    ("This dataset may not be used commercially (Apache-2.0 applies to the scripts)", "non-commercial", {"non-commercial"}, {"Apache-2.0"}),
    ("Apache 2.0. You may not use this data to train AI models.", "commercial", {"no-ai-training"}, {"Apache-2.0"}),
    ("CC-BY-4.0, no derivative works", "commercial", {"no-derivatives"}, {"CC-BY-4.0"}),
    ("Both commercial and non-commercial use are permitted under CC BY 4.0", "commercial", set(), {"CC-BY-4.0"}),
    ("采用 MIT 许可证，仅限非商业用途", "non-commercial", {"non-commercial"}, {"MIT"}),
    ("仅供学术研究使用，代码遵循 Apache 2.0", "academic-only", {"research-only"}, {"Apache-2.0"}),
    ("禁止用于模型训练。CC BY 4.0", "commercial", {"no-ai-training"}, {"CC-BY-4.0"}),
    ("知识共享署名 4.0，禁止商用", "non-commercial", {"non-commercial"}, {"CC-BY-4.0"}),
    ("MIT OR Apache-2.0", "commercial", set(), set()),
    ("CC-BY-SA-4.0 OR CC-BY-4.0", "commercial", set(), set()),
    ("MIT AND CC-BY-NC-4.0", "non-commercial", set(), set()),
    ("GPL-2.0-only WITH Classpath-exception-2.0", "commercial", set(), set()),
    ("(MIT AND CC-BY-NC-SA-4.0) OR LicenseRef-Academic-Research-Only", "non-commercial", set(), set()),
    ("Llama 2 outputs; also ODbL", "commercial", set(), {"LicenseRef-Llama-2", "ODbL-1.0"}),
    ("MIT license. Research purposes only.", "academic-only", {"research-only"}, {"MIT"}),
    ("Free for research purposes. Apache License 2.0", "academic-only", {"research-only"}, {"Apache-2.0"}),
    ("Custom (research-only, non-commercial)", "academic-only", {"research-only"}, set()),
]


@pytest.mark.parametrize("text,use_class,restrictions,licences", TRAPS, ids=[t[0][:40] for t in TRAPS])
def test_traps(text, use_class, restrictions, licences):
    r = normalise(text)
    assert r.use_class == use_class, r.to_dict()
    assert restrictions <= set(r.restrictions) | {m.means for m in r.matches if m.kind == "restriction"}, r.to_dict()
    assert licences <= {m.means for m in r.matches if m.kind == "licence"}, r.to_dict()
    for m in r.matches:  # every match says where it is, exactly
        assert text.strip()[m.start:m.end] == m.text
    if restrictions or len(licences) > 1:
        assert r.identifier is None  # no single licence names these terms


def test_restriction_details_carry_into_terms():
    assert normalise("Apache 2.0. You may not use this data to train AI models.").terms.ai_training == "prohibited"
    assert normalise("CC-BY-4.0, no derivative works").terms.derivatives == "prohibited"
    r = normalise("MIT OR Apache-2.0")
    assert r.identifier == "MIT OR Apache-2.0" and r.method == "expression"
    r = normalise("CC-BY-SA-4.0 OR CC-BY-4.0")
    assert r.share_alike is False  # the licensee chooses the option without share-alike
    r = normalise("CC-BY-SA-4.0 AND MIT")
    assert r.share_alike is True and r.attribution is True
    # an unknown symbol in an expression is not silently dropped
    assert normalise("MIT AND LicenseRef-nobody-knows").use_class == "academic-only"


def test_licence_names_in_urls_are_never_read():
    for text in ("http://moments.csail.mit.edu/", "https://gpl.example.com/terms", "www.apache-mirror.net/data", "bsd.example.org"):
        r = normalise(text)
        assert not [m for m in r.matches if m.kind == "licence"], (text, r.to_dict())


def test_hostile_input_is_answered():
    for text in ["(" * 500 + "MIT" + ")" * 500, "MIT AND " * 300 + "MIT", "\ud800 non-commercial", "a" * 100_000, "ＭＩＴ", "CC\u200bBY\u200bNC",
                 "𝕄𝕀𝕋", "\x00MIT\x00", " OR ".join(["MIT"] * 400)]:
        r = normalise(text)
        assert r.use_class in ("commercial", "non-commercial", "academic-only", "unspecified")
    assert normalise("a" * 100_000).truncated


# --------------------------------------------------------------------------- property

KNOWN_TEXTS = sorted({*(v for vs in PARAPHRASES.values() for v in vs), *CLASSES, *(e["identifier"] for e in STANDARD), *(t[0] for t in TRAPS)})
RESTRICTIVE = ["Non-commercial use only.", "For research purposes only.", "Not for commercial use.", "No derivative works.",
               "May not be used to train AI models.", "Commercial use is prohibited.", "仅限非商业用途。", "仅供学术研究。", "禁止用于模型训练。",
               "Academic use only.", "This dataset must not be used commercially.", "No derivatives."]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(KNOWN_TEXTS), extra=st.sampled_from(RESTRICTIVE), before=st.booleans(),
       filler=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
# Found by this test: a licence name in the filler made DPI's research-only sentence lose its
# "no redistribution" (sentences now bind beside the names).
@example(base="C3 dataset is intended for non-commercial research purpose only.", extra="Non-commercial use only.", before=False, filler="OGLUK3")
def test_adding_a_restrictive_sentence_never_loosens_the_verdict(base, extra, before, filler):
    """For any licence text the normaliser can read, a restrictive sentence added before or after
    it (with arbitrary filler) never makes any right looser. Unknown texts are excluded: an
    unreadable text is treated as academic-only, and a restriction adds knowledge to it."""
    was = normalise(base)
    if was.unknown:
        return
    # the filler sits on the far side of the restrictive sentence: it must not glue onto the base text
    text = f"{filler} {extra} {base}" if before else f"{base}. {extra} {filler}"
    now = normalise(text)
    assert not looser(now.terms, was.terms), (text, was.to_dict(), now.to_dict())


# --------------------------------------------------------------------------- found from outside

# Texts an outside tester published restricted data under as "commercial" (each was a source
# licence that let a CC-BY-4.0 dataset publish and take a commercial order).
ATTACKS_NEVER_COMMERCIAL = [
    "CC-BY-4.0. Not licensed for commercial use.", "You must not use this commercially", "Do not use for commercial purposes",
    "Solely for academic use", "Personal use only", "For non-profit use only", "Commercial use requires a separate licence",
    "Training AI models is prohibited", "CC-BY-4.0. Commercial and non-commercial use is prohibited.",
    "CC-BY-4.0 僅限非商業用途", "僅供學術研究", "禁止用於模型訓練",
    "CC-BY-4.0 Non\u2011commercial use only", "CC-BY-4.0 Non\u2013commercial use only", "CC-BY-4.0 Non\u00adcommercial use only",
    "CC-BY-4.0 Non\u200bcommercial use only", "CC-BY-4.0 Ｎｏｎ-ｃｏｍｍｅｒｃｉａｌ use only", "CC-BY-4.0 Non-\ncommercial use only", "CC-BY-4.0 Nоn-commercial use only",
    "Copyright (c) 2020 Massachusetts Institute of Technology (MIT). All rights reserved.", "This dataset is not under the MIT license; contact us.",
    "Not MIT licensed", "Developed at MIT. Contact the authors for licensing.", "The MIT-IBM Watson AI Lab dataset", "Apache Software Foundation mailing list archive",
    "Proprietary. MIT", "CC-BY-4.0; images are proprietary", "CC-BY-4.0 and a custom license",
    "Apache-2.0 AND FooBar-1.0", "MIT AND NOASSERTION", "MIT WITH Foo-exception",
    "https://evil.example/creativecommons.org/licenses/by/4.0/", "https://evil.example/?u=https://creativecommons.org/licenses/by/4.0/",
    "moments[.]csail[.]mit[.]edu", "MIT@example.com", "mailto:mit@example.com", "Mistral Research License", "Qwen Research License",
]


# The second outside round: the same kinds of text, other spellings.
ATTACKS_NEVER_COMMERCIAL += [
    "CC-BY-4.0. Commercial use: prohibited", "CC-BY-4.0. Commercial use? No.", "CC-BY-4.0 | Commercial use | No |", 'CC-BY-4.0 {"commercial": false}',
    "CC-BY-4.0. **Not** for commercial use.", "CC-BY-4.0 Not for <b>commercial</b> use", "CC-BY-4.0 Non&#8209;commercial", "CC-BY-4.0 (NC)", "CC-BY-4.0-NC",
    "CC-BY 4.0 NC", "NC use only", "CC-BY-4.0 Non- commercial", "CC-BY-4.0 Non -commercial", "CC-BY-4.0 Non_commercial", "CC-BY-4.0 Non\r\ncommercial",
    "CC-BY-4.0 non-commerical", "CC-BY-4.0 non-comercial", "CC-BY-4.0 Non-\u180ecommercial", "CC-BY-4.0 Non-\u034fcommercial", "CC-BY-4.0 Non-c\u0301ommercial",
    "CC-BY-4.0 Non-\u1d04ommercial", "CC-BY-4.0 Non\u2043commercial", "MIT License, with the Commons Clause.", "Licensed under CC-BY-4.0 for academic purposes.",
    "CC-BY-4.0. Restricted to academic use", "CC-BY-4.0. For-profit use is prohibited", "CC-BY-4.0. Can't be used for commercial purposes",
    "CC-BY-4.0. Can\u2019t be used for commercial purposes", "CC-BY-4.0. This license does not permit commercial use", "CC-BY-4.0. Commercial rights reserved",
    "CC-BY-4.0. Evaluation only", "CC-BY-4.0. Internal use only", "CC-BY-4.0 商用不可", "CC-BY-4.0 does not apply to this dataset.",
    "Previously released under CC-BY-4.0; since 2024 all rights reserved.", "CC-BY-4.0. All rights reserved.", "CC-BY-4.0 for the metadata only",
    "CC-BY-4.0 (code only); data: all rights reserved", "CC-BY-4.0 (modified)", "Based on the MIT License", "CC-BY-4.0 subject to the Terms of Use",
    "https://creativecomm\u03bfns.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by/4.0/../by-nc/4.0/",
]
# The third outside round: other languages, selling and profit, who may use it, key-value forms, training bans,
# licences in the future tense, and content the vendor does not own.
THIRD_ROUND = [
    "CC-BY-4.0. Commercial exploitation is forbidden.",
    "MIT License. Not to be sold.",
    "MIT License. Sale of this dataset or derived works is forbidden.",
    "Apache-2.0. For non-revenue-generating purposes only.",
    "CC-BY-4.0. Use in any for-profit product is not allowed.",
    "CC-BY-4.0. For-profit entities may not use this data.",
    "CC-BY-4.0. Companies may not use this data.",
    "CC-BY-4.0. Only universities may use this dataset.",
    "CC-BY-4.0. Use limited to educational institutions.",
    "CC-BY-4.0. Limited to scholarly purposes.",
    "CC-BY-4.0. For scientific research purposes exclusively.",
    "CC-BY-4.0. Exclusively for teaching.",
    "CC-BY-4.0. For classroom use.",
    "CC-BY-4.0. Monetisation is prohibited.",
    "CC-BY-4.0. Monetization of this data is not permitted.",
    "CC-BY-4.0. You may not charge for access to this data or anything built on it.",
    "CC-BY-4.0. No business use.",
    "CC-BY-4.0. Business use is excluded.",
    "CC-BY-4.0. Commercial usage banned.",
    "CC-BY-4.0. Commercially using this data is prohibited.",
    "CC-BY-4.0 except that commercial use is not granted.",
    "CC-BY-4.0, but commercial purposes are excluded from this grant.",
    "CC-BY-4.0; the licensor does not grant commercial rights.",
    "CC-BY-4.0 (without the commercial-use permission).",
    "CC-BY-4.0 minus commercial use.",
    "CC-BY-4.0 — hobbyists only.",
    "CC-BY-4.0. Gratis use only; no paid products.",
    "CC-BY-4.0. Free of charge distribution only.",
    "CC-BY-4.0. This data must never be used to make money.",
    "CC-BY-4.0. Do not profit from this data.",
    "CC-BY-4.0. Profit-making use is prohibited.",
    "CC-BY-4.0. Any revenue-generating use requires written permission.",
    "CC-BY-4.0. Commercial licensing available on request; otherwise, no commercial use.",
    "CC-BY-4.0. Not for use in commerce.",
    "CC-BY-4.0. Must not be used for machine learning.",
    "CC-BY-4.0. Machine learning use is forbidden.",
    "CC-BY-4.0. You may not train neural networks on this data.",
    "CC-BY-4.0. Using this data to train LLMs is not allowed.",
    "CC-BY-4.0. No ML training.",
    "CC-BY-4.0. Not to be used as training data.",
    "CC-BY-4.0. Not for use in generative AI.",
    "CC-BY-4.0. Fine-tuning on this corpus is prohibited.",
    "CC-BY-4.0. Ingestion into AI systems is forbidden.",
    "CC-BY-4.0 [NC]",
    "CC-BY-4.0 + NC",
    "CC BY NC 4.0",
    "CC-BY-NC4.0",
    "CCBYNC4.0",
    "CC-BY/NC-4.0",
    "CC-BY_NC-4.0",
    "creativecommons.org/licenses/by-nc/4.0",
    "https://creativecommons.org/licenses/by-nc/4.0/legalcode.en",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/deed.de",
    "CC-BY-4.0 and CC-BY-NC-4.0",
    "CC-BY-4.0. Nur für nicht-kommerzielle Zwecke.",
    "CC-BY-4.0. Kommerzielle Nutzung untersagt.",
    "CC-BY-4.0. Usage commercial interdit.",
    "CC-BY-4.0. Utilisation commerciale interdite.",
    "CC-BY-4.0. Pas d'utilisation commerciale.",
    "CC-BY-4.0. Uso comercial prohibido.",
    "CC-BY-4.0. Solo para uso no comercial.",
    "CC-BY-4.0. Vietato l'uso commerciale.",
    "CC-BY-4.0. 商用利用禁止。",
    "CC-BY-4.0. 非営利目的に限る。",
    "CC-BY-4.0. 상업적 이용 금지.",
    "CC-BY-4.0. Коммерческое использование запрещено.",
    "CC-BY-4.0。不得用于商业目的。",
    "CC-BY-4.0。禁止商业使用。",
    "CC-BY-4.0。严禁商用。",
    "CC-BY-4.0。不可商用。",
    "CC-BY-4.0。仅用于科研。",
    "CC-BY-4.0。不得用于训练人工智能模型。",
    "CC-BY-4.0。禁止用于AI训练。",
    "CC-BY-4.0. Non-commercial use only.\nJust kidding: commercial use allowed? No.",
    "Licence: CC-BY-4.0 (the original photos were CC-BY-NC-4.0).",
    "This dataset is derived from data licensed CC BY-NC 4.0; our annotations are CC-BY-4.0.",
    "Upstream: CC-BY-NC-SA-4.0. Our release: CC-BY-4.0.",
    "We re-license the CC BY-NC corpus as CC-BY-4.0.",
    "Collected from Reddit. Released under CC-BY-4.0.",
    "Scraped from Getty Images; we release it under the MIT License.",
    "Copied from a paywalled news site; MIT License.",
    "Contains copyrighted material from Elsevier journals. Licensed CC-BY-4.0.",
    "CC-BY-4.0 once the embargo ends on 2030-01-01; until then, internal research only.",
    "Will be released under CC-BY-4.0 in the future. Currently no licence.",
    "Planned licence: Apache-2.0.",
    "License: TBD (probably MIT)",
    "License: MIT (pending legal review)",
    "CC-BY-4.0 applies to the documentation. The data is non-commercial.",
    "MIT for the scripts. Data: research only.",
    "Apache-2.0 covers the loader. The images themselves may not be used commercially.",
    "CC-BY-4.0 (see exceptions in EXCEPTIONS.md: no commercial use)",
    "CC-BY-4.0*  *non-commercial",
    "CC-BY-4.0†\n† Except commercial use.",
    "CC-BY-4.0 (NonCommercial)",
    "CC-BY-4.0 (Non Commercial)",
    "CC-BY-4.0 (noncommercial)",
    "CC-BY-4.0-NC",
    "CC-BY-4.0 non commercial",
    "CC-BY-4.0 nicht kommerziell",
    "MIT License, but the dataset is for non commercial use",
    "MIT License; usage for commercial ends is not allowed",
    "MIT License; commercial ends prohibited",
    "MIT License. Permission is NOT granted to use the Software for commercial purposes.",
    "MIT License. The above permission notice does not extend to commercial use.",
    "Apache 2.0 license. Grant of commercial rights: none.",
    "Apache 2.0 license | commercial: no",
    "Apache 2.0 license | Commercial use: ✗",
    "Apache 2.0 license | Commercial use ❌",
    "Apache 2.0 license | Commercial use: N",
    "Apache 2.0 license | Commercial use: false",
    "Apache 2.0 license | commercial_use=prohibited",
    "Apache 2.0 license | allow_commercial: 0",
]


NEVER_FOR_AI_TRAINING = ["CC-BY-4.0. Use of this data for machine learning is not permitted.", "CC-BY-4.0. No text and data mining.",
                         "CC-BY-4.0. Rights reserved under Art. 4(3) of Directive (EU) 2019/790.", "CC-BY-4.0. Training AI models is prohibited"]


@pytest.mark.parametrize("text", NEVER_FOR_AI_TRAINING)
def test_what_an_outside_tester_trained_on_is_not_for_training(text):
    r = normalise(text)
    assert r.terms.ai_training == "prohibited" or r.unknown, r.to_dict()


def test_an_open_licence_header_with_its_copyright_notice_stays_open():
    assert normalise("Copyright (c) 2020 Jane Doe. All rights reserved. Licensed under the MIT License.").identifier == "MIT"


@pytest.mark.parametrize("text", THIRD_ROUND)
def test_the_third_outside_round_is_never_commercial_and_trainable(text):
    r = normalise(text)
    assert r.use_class != "commercial" or r.unknown or r.terms.ai_training == "prohibited", r.to_dict()


@pytest.mark.parametrize("text", ATTACKS_NEVER_COMMERCIAL)
def test_what_an_outside_tester_sold_as_commercial_is_not(text):
    r = normalise(text)
    assert r.use_class != "commercial" or r.unknown, r.to_dict()
    assert all(text[m.start:m.end] == m.text for m in r.matches)


@pytest.mark.parametrize("a, b", [("LicenseRef-OpenAI-Terms", "CC0-1.0"), ("LicenseRef-Meta-Llama-3.1", "MIT"), ("CC-BY-SA-4.0", "CC-BY-4.0"),
                                  ("GPL-3.0-only", "Apache-2.0")])
def test_an_or_choice_does_not_depend_on_the_order_written(a, b):
    one, two = normalise(f"{a} OR {b}"), normalise(f"{b} OR {a}")
    assert one.terms == two.terms and one.use_class == two.use_class


@pytest.mark.parametrize("text, ident", [("MIT", "MIT"), ("MIT License", "MIT"), ("Released under the MIT License", "MIT"), ("Apache 2.0", "Apache-2.0"),
                                         ("Released under Apache 2.0", "Apache-2.0"), ("ＭＩＴ License", "MIT"), ("Mistral Research License", "LicenseRef-Mistral-Research-License"),
                                         ("Qwen Research License", "LicenseRef-Qwen-Research"), ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0")])
def test_licence_names_in_licence_context_are_still_read(text, ident):
    assert normalise(text).identifier == ident


# Words beside a licence that say something about the terms and that no pattern reads: the
# verdict is unknown, with the sentence reported where it is. Precise verdicts stay precise when
# every word is explained: the standard licence texts and headers, citation requests, the
# dataset's name. A description of the data beside its licence is not read, and so unknown.
UNREAD_BESIDE_A_LICENCE = [
    "CC-BY-4.0. Niet voor commercieel gebruik.", "CC-BY-4.0; ticari kullanım yasaktır", "MIT License. Kommersiell användning är inte tillåten.",
    "CC-BY-4.0. Kommerzielle Nutzung ist nur mit Genehmigung erlaubt.", "Apache 2.0. Members only.", "CC BY 4.0. 本数据集仅向会员开放。",
    "CC-BY-4.0. Υπόκειται σε ειδικούς όρους.", "CC-BY-4.0. الاستخدام التجاري ممنوع", "MIT License, except for the medical images.",
    "CC-BY-4.0 only for members.", "Apache-2.0. Customers of Acme may use it.", "CC0-1.0 unless you are a competitor.",
    "MIT License. Zakaz użytku komercyjnego.", "CC-BY-4.0. Użycie wyłącznie niekomercyjne.", "ODC-By-1.0. Tylko do badań.",
    "CC-BY-4.0. Использование в продуктах без согласия автора не допускается.", "CC-BY-4.0. Chỉ dùng cho nghiên cứu.",
    "CC-BY-SA-4.0; requires a signed data use agreement.", "MIT License. Redistribution requires written permission.",
]
EXPLAINED = [("Licensed under CC-BY-4.0 only.", "CC-BY-4.0"), ("MIT License. Please cite our paper if you use this dataset.", "MIT"),
 ("Released under the MIT License (see LICENSE).", "MIT"),
             ("Llama 2 Community License Agreement", "LicenseRef-Llama-2"), ("Apache License 2.0, no warranty.", "Apache-2.0")]
STANDARD_TEXTS = json.loads((Path(__file__).resolve().parent / "standard_licence_texts.json").read_text())


@pytest.mark.parametrize("text", UNREAD_BESIDE_A_LICENCE)
def test_unread_words_beside_a_licence_make_the_verdict_unknown(text):
    r = normalise(text)
    assert r.unknown and r.use_class == "academic-only", r.to_dict()
    unread = [m for m in r.matches if m.kind == "unexplained"]
    assert unread and all(text[m.start:m.end] == m.text and m.end > m.start for m in unread), r.to_dict()
    assert "cannot read" in r.matched


@pytest.mark.parametrize("text, ident", EXPLAINED)
def test_explained_words_keep_the_precise_verdict(text, ident):
    r = normalise(text)
    assert r.identifier == ident and not r.unknown, r.to_dict()


@pytest.mark.parametrize("name", sorted(STANDARD_TEXTS))
def test_a_standard_licence_text_pasted_whole_is_that_licence(name):
    r = normalise(STANDARD_TEXTS[name])
    assert r.identifier == name and not [m for m in r.matches if m.kind == "unexplained"], r.to_dict()


@pytest.mark.parametrize("name", sorted(STANDARD_TEXTS))
def test_a_standard_licence_text_with_a_foreign_restriction_is_unknown(name):
    assert normalise(STANDARD_TEXTS[name] + "\n\nUitsluitend voor intern gebruik.").unknown


# The fourth outside round: a weak restriction beside a stronger one in the same sentence,
# purpose and audience beside the name, words no operator list had, many languages and scripts,
# disguises, key-value and markup forms, licences that may not apply, cut and malformed text.
FOURTH_ROUND = [
 'CC-BY-4.0. Pre-training is prohibited, as is commercial use.', 'CC-BY-4.0. Generative AI use is prohibited and so is commercial use.',
 'CC-BY-4.0. Feeding this into AI models is forbidden, as is selling it.', 'CC-BY-4.0 (no AI training; academic use).',
 'CC-BY-4.0. Generative AI use is prohibited, and licensees must be universities.', 'CC-BY-4.0. Derivative works are forbidden; companies are ineligible.',
 'CC-BY-4.0. Modifications are prohibited and so is selling.', 'CC-BY-4.0. Adaptations prohibited — same for commercial use.',
 'CC-BY-4.0. Derivative works are forbidden, and use is reserved for universities.',
 'CC-BY-4.0 for research.', 'CC-BY-4.0 (research use).', 'CC-BY-4.0 (academic).', 'CC-BY-4.0, merely for research.', 'CC-BY-4.0, purely for testing.',
 'CC-BY-4.0 for academic research.', 'CC-BY-4.0 for students.', 'MIT License for hobbyists.', 'Licensed under CC-BY-4.0 to universities.',
 'Licensed under CC-BY-4.0 to nonprofits.', 'Released under CC-BY-4.0 for the research community.', 'Researchers may use this data under CC-BY-4.0.',
 'Distributed to qualified researchers under CC-BY-4.0.', 'CC-BY-4.0 is granted to academics.', 'CC-BY-4.0 for approved researchers.',
 'CC-BY-4.0 upon signing a DUA.', 'CC-BY-4.0 — academia', 'CC-BY-4.0 RUO', 'CC-BY-4.0 NFP',
 'CC-BY-4.0. Commercial rights withheld.', 'CC-BY-4.0. Acme retains commercial rights.', 'CC-BY-4.0. Commercial exploitation stays with Acme.',
 'CC-BY-4.0. Commercial use is unauthorized.', 'CC-BY-4.0. Commercial use is illegal.', 'CC-BY-4.0. Commercial use voids the licence.',
 'CC-BY-4.0. Commercial use constitutes infringement.', 'CC-BY-4.0. Commercial use is out of scope.', 'CC-BY-4.0. Companies are ineligible.',
 'CC-BY-4.0. Industry requests are declined.', 'CC-BY-4.0. Free for academics.', 'CC-BY-4.0. Startups free, enterprises pay.',
 'CC-BY-4.0. For commercial use, email sales@acme.com.', 'CC-BY-4.0. Commercial use on request.', 'CC-BY-4.0. Commercial licence: $10k.',
 'CC-BY-4.0. Intended for academic research.', 'CC-BY-4.0. Keep it academic.', 'CC-BY-4.0. Use for research.', 'CC-BY-4.0. Permitted use: research.',
 'CC-BY-4.0. Field of use: healthcare.', 'CC-BY-4.0, barring commercial use.', 'CC-BY-4.0, apart from commercial use.',
 'CC-BY-4.0 with the exception of commercial use.', 'CC-BY-4.0 w/o commercial use.', 'CC-BY-4.0 (commercial use carved out).',
 'CC-BY-4.0. Territory: EU.', 'CC-BY-4.0 for 12 months.', 'CC-BY-4.0. Valid until 2026.', 'CC-BY-4.0. Licensees pay 5% of revenue to Acme.',
 'CC-BY-4.0. Delete the data after 12 months.', 'CC-BY-4.0. Notify us before publishing results.', 'CC-BY-4.0. Sign the DUA before use.',
 'CC-BY-4.0, single user.', 'CC-BY-4.0, non-transferable.', 'CC-BY-4.0 + ND',
 'CC-BY-4.0. AI training: off', 'CC-BY-4.0. Training: denied.', 'CC-BY-4.0 #NoAI', 'CC-BY-4.0 + noAI', 'CC-BY-4.0 🚫🤖', 'CC-BY-4.0. TDM opt-out.',
 'CC-BY-4.0. The rightsholder opts out of TDM.', 'CC-BY-4.0. tdm-reservation: 1', 'CC-BY-4.0. DoNotTrain', 'CC-BY-4.0. X-Robots-Tag: noai',
 'CC-BY-4.0. User-agent: GPTBot Disallow: /', 'CC-BY-4.0. Keep away from LLMs.', 'CC-BY-4.0. Ingen AI-träning.', 'CC-BY-4.0，谢绝AI训练。',
 'CC-BY-4.0，拒绝被用于训练。', 'CC-BY-4.0。AI学習NG。', 'CC-BY-4.0。AI学習への利用はご遠慮ください。',
 'CC-BY-4.0 applies to the annotations; the audio is ours.', 'Annotations: CC-BY-4.0. Audio: Acme.', 'Labels CC-BY-4.0, images © Getty.',
 'CC-BY-4.0 (withdrawn).', 'CC-BY-4.0 (revoked).', 'CC-BY-4.0 [draft]', 'CC-BY-4.0?', 'CC-BY-4.0 (TBD)', 'Licence: TBD (maybe CC-BY-4.0)', 'Probably CC-BY-4.0.',
 'We plan to use CC-BY-4.0.', 'CC-BY-4.0 after the embargo ends in 2030.', 'Embargoed until 2030, then CC-BY-4.0.', 'CC-BY-4.0 was the licence until 2023; now Acme terms.',
 'CC-BY-4.0 with modifications.', 'CC-BY-4.0 + Acme addendum.', 'CC-BY-4.0; see EULA.', 'CC-BY-4.0; T&Cs apply.', 'CC-BY-4.0* *for non-profits',
 'CC-BY-4.0-like', 'MIT-style license.', 'Apache-style license.', 'Acme Licence (a fork of MIT).', 'MIT License w/ Acme clause.',
 'CC-BY-4.0. Enkel academisch gebruik.', 'CC-BY-4.0 voor onderzoeksdoeleinden.', 'CC-BY-4.0. Voorbehouden aan universiteiten.', 'CC-BY-4.0. Enbart för akademiskt bruk.',
 'CC-BY-4.0 för forskningsändamål.', 'CC-BY-4.0. Użytek komercyjny zabroniony.', 'CC-BY-4.0 do użytku niekomercyjnego.', 'CC-BY-4.0. Niekomercyjnie.',
 'CC-BY-4.0. Ticari kullanım izni verilmez.', 'CC-BY-4.0. Ticari kullanıma kapalıdır.', 'CC-BY-4.0 araştırma amaçlı.', 'CC-BY-4.0 untuk penelitian.',
 'CC-BY-4.0 phi thương mại.', 'CC-BY-4.0 cho mục đích nghiên cứu.', 'CC-BY-4.0，谢绝商用。', 'CC-BY-4.0，专供研究。', 'CC-BY-4.0，用于学术研究。', 'CC-BY-4.0。学術研究用。',
 'CC-BY-4.0。商用NG。', 'CC-BY-4.0。研究専用', 'CC-BY-4.0 연구용', 'CC-BY-4.0. Bare til forskning.', 'CC-BY-4.0. Nekomerční.', 'CC-BY-4.0. Само за истраживање.',
 'CC-BY-4.0. Некомерційне.', 'CC-BY-4.0. Само за изследвания.', 'CC-BY-4.0. Тек зерттеу үшін.', 'CC-BY-4.0. ಸಂಶೋಧನೆಗೆ ಮಾತ್ರ',
 'CC-BY-4.0. R\u3164e\u3164s\u3164e\u3164a\u3164r\u3164c\u3164h\u3164 \u3164o\u3164n\u3164l\u3164y\u3164.', 'CC-BY-4.0. Research 0nly.', 'CC-BY-4.0. Research on1y.',
 'CC-BY-4.0. Research o-n-l-y.', 'CC-BY-4.0. R e s e a r c h  o n l y', 'CC-BY-4.0. Research&#x6f;nly.', 'CC-BY-4.0. Research %6Fnly',
 'CC-BY-4.0. 🅝🅞🅣 🅕🅞🅡 🅒🅞🅜🅜🅔🅡🅒🅘🅐🅛 🅤🅢🅔', 'CC-BY-4.0. \u202eylno hcraeseR', 'CC-BY-4.0 researchonly', 'CC-BY-4.0 ResearchOnly', 'CC-BY-4.0 NOT_FOR_COMMERCIAL_USE',
 '{"license": "CC-BY-4.0", "commercialUse": false}', '{"license": "CC-BY-4.0", "allow_commercial": false}', '{"license": "CC-BY-4.0", "commercial_use": 0}',
 '{"license": "CC-BY-4.0", "nc": true}', '{"license": "CC-BY-4.0", "ai_training": false}', '{"license": "CC-BY-4.0", "research_only": true}',
 '{"license": "CC-BY-4.0", "purpose": "research"}', '{"license": "CC-BY-4.0", "scope": "annotations"}', '{"license": "CC-BY-4.0", "status": "draft"}',
 'license: CC-BY-4.0\nai_training: false', 'license: CC-BY-4.0\nresearch_only: yes', 'license: CC-BY-4.0\ncommercial: off',
 'license: CC-BY-4.0\nextra_gated_prompt: You agree to use this dataset for research.', '| License | CC-BY-4.0 |\n| Commercial | ✗ |',
 '<license commercial="false">CC-BY-4.0</license>', 'CC-BY-4.0. Commercial use: nope', 'CC-BY-4.0. Commercial use = disabled',
 'License: CC-BY-4.0. ' + 1982 * 'x' + ' Not for commercial use.', 'MIT AND ' * 250 + 'CC-BY-NC-4.0', '(MIT OR Apache-2.0) AND ' * 100 + 'CC-BY-NC-4.0',
 'Apache-2.0 AND MIT AND', '(MIT',
]
EDITED_STANDARD_TEXTS = [
    ("to any person obtaining", "to any university obtaining"), ("free of charge", "for a fee of $1000"), ("without restriction", "with restriction"),
    ("use, copy, modify, merge", "use, copy"), ("subject to the following conditions:", "subject to the following conditions: the Software is not used commercially and"),
]


@pytest.mark.parametrize("old, new", EDITED_STANDARD_TEXTS)
def test_an_edited_standard_text_is_not_the_standard_licence(old, new):
    text = STANDARD_TEXTS["MIT"]
    assert old in text
    assert normalise(text.replace(old, new)).unknown


@pytest.mark.parametrize("text", ["CC0-1.0. No rights reserved.", "CC-BY-4.0. Provided as is.", "Apache 2.0 (see LICENSE)",
                                  '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>', "Copyright © 2021 Jane Doe. CC-BY-4.0"])
def test_restatements_stay_precise(text):
    r = normalise(text)
    assert not r.unknown and r.use_class == "commercial", r.to_dict()


def test_a_cut_text_is_unknown_and_says_so():
    text = "License: CC-BY-4.0. " + "Please cite the dataset. " * 120
    assert not normalise(text[:text.rindex(".", 0, 1900) + 1]).unknown  # every word of it is explained...
    r = normalise(text + "Not for commercial use.")  # ...but what lies past the cut is not read
    assert r.unknown and r.truncated and "not read" in r.matched


# The fifth outside round, against the allow-list itself: sentences of allowed words that still
# narrow (territory, audience, conditions, "only"), terms hidden in a copyright holder or a
# dataset's "name", a licence for one part of the data, prices and quantities, versions that do
# not exist or are not the one matched, and non-Latin text beside a name DPI's vocabulary knows.
FIFTH_ROUND = [
 'MIT License ليس للاستخدام التجاري', 'MIT License — только для исследований', 'MIT License 仅供内部使用', 'CC BY 仅限中国境内使用', 'MIT License ' + 'а' * 1988,
 'CC-BY-4.0. Custom.', 'CC-BY-4.0. Custom commercial.', 'MIT License. Custom!',
 'CC-BY-4.0 in Germany only.', 'CC-BY-4.0 (US only).', 'CC-BY-4.0. The data may only be used in the USA.', 'MIT License. You may use this data only if you are in China.',
 'MIT License. Permitted use: France.', 'CC-BY-4.0. Use granted to Germany.', 'Apache 2.0. Use for AI models only.', 'CC-BY-4.0. Only for AI use.',
 'CC-BY-4.0. You may use it for text only.', 'CC-BY-4.0. Use of the data for AI models is permitted only when granted.', 'MIT License. For our use only.',
 'CC-BY-4.0. Only we may use it.', 'CC-BY-4.0 for you only.', 'CC-BY-4.0. Use is free only when you are us.', 'CC-BY-4.0 if you share your models.',
 'CC-BY-4.0 if you release your model weights.', 'CC-BY-4.0 applies if you have a license from us.', 'CC-BY-4.0, but AI use only if permitted by us.',
 'MIT License. Any use of our models is permitted only with our license.', 'CC-BY-4.0 if free.', 'CC-BY-4.0 when free.', 'MIT License and our terms apply.',
 'MIT License. See terms.', 'CC BY 4.0; also see our terms.', 'MIT License. Models: see our terms.', 'CC-BY-4.0. Images: see us. Audio: see us.',
 'CC-BY-4.0 may apply.', 'The license may be CC-BY-4.0.', 'CC-BY-4.0 was the license.', 'CC-BY-4.0 licence may be granted.', 'CC-BY-4.0. It may be that the license applies.',
 'Images: CC-BY-4.0.', 'Code: MIT License.', 'Code: Apache 2.0.', 'MIT License applies to the code.', 'The code is licensed under MIT.',
 'CC-BY-4.0 applies only to the images.', 'MIT License. Original images only.', 'Code: MIT License. Data: see the paper.',
 'CC-BY-4.0 for $500.', 'CC-BY-4.0 ($500).', 'CC-BY-4.0 for US$ 500 only.', 'CC-BY-4.0. £500.', 'CC-BY-4.0: 2024/01/01 - 2024/12/31.', 'CC-BY-4.0 for < 1000 images.',
 'CC-BY-4.0 applies to 10% of the data.', 'CC-BY-4.0 applies to 50 images.', 'CC-BY-4.0‽',
 '© 2024 Acme, for nonprofits, CC BY 4.0', '© 2024 Acme, for charities, CC BY 4.0', '© 2024 Acme (in Europe), CC BY 4.0', '© 2024 Acme, excluding faces, CC BY 4.0',
 '© 2024 Acme, for a fee, CC BY 4.0', 'Copyright 2024 Acme, paid subscribers, MIT License', 'Copyright 2024 Acme. All rights reserved. CC-BY-4.0 applies to the metadata.',
 'Paying subscribers are licensed under CC-BY-4.0.', 'European customers are licensed under MIT.', 'The preview subset is released under CC-BY-4.0.',
 'Sample excerpts are released under CC-BY-4.0.', 'CC0-1.0: for any purpose, even 🚫 commercially', 'Commercial and non-commercial use only if permitted. CC-BY-4.0.',
 'CC-BY-4.0. 商业和非商业使用请授权', 'CC BY 4.0 本数据集的使用请授权', 'CC BY 4.0，请授权使用', 'Licensed under the Apache License 1.1',
 'Licensed under the Apache Software License 1.1', 'Licensed under the Apache Community License', 'Licensed under MIT Software Terms of Service',
 'Licensed under the MIT License version 2', 'CC BY 4.0 public version only.', 'CC-BY-4.0 Community Only.', 'CC-BY-4.0 2025 only.', 'CC BY 5.0',
 'Licensed under CC BY 1.0', 'Creative Commons Attribution 1.0', 'Licensed under CC BY-SA 1.0',
]


@pytest.mark.parametrize("text, ident", [("Apache License, Version 2.0, January 2004", "Apache-2.0"), ("CC BY-SA 3.0 ES", "CC-BY-SA-3.0"),
                                         ("Data under CC-BY-4.0; images under CC-BY-4.0", "CC-BY-4.0"), ("CC BY 2.5", "CC-BY-2.5"),
                                         ("Creative Commons Attribution 4.0 International(CC BY 4.0) licence Copyright © EU/ECDC, 1995-2020", "CC-BY-4.0")])
def test_names_versions_ports_and_notices_stay_precise(text, ident):
    r = normalise(text)
    assert r.identifier == ident and not r.unknown, r.to_dict()


@pytest.mark.parametrize("text", ["а" * 2000, "ο" * 2000, "a." * 1000, "(" * 999 + "MIT" + ")" * 999])
def test_hostile_lengths_are_answered(text):
    """A run of look-alike letters once cost a walk per letter (0.46 s for 2,000; now 0.03 s,
    measured by hand: timing is not asserted here, see benchmarks/)."""
    r = normalise(text)
    assert r.use_class != "commercial" or r.unknown


# The sixth outside round: a second prohibition stated with modal words beside a restriction
# read, a part of the data beside the word "dataset", future years, struck-through or commented
# markup, Chinese scope words and "based on", a licence name's own words used to say something
# else, words inside URLs and e-mail addresses, and pointers to terms elsewhere.
SIXTH_ROUND = ['CC-BY-4.0. No AI training, and you must not redistribute the data.', 'CC-BY-4.0. No AI training, and you may not use the data.',
 'CC-BY-4.0. No AI training, no distribution, no copies.', 'CC-BY-4.0. No AI training, and you may not share or copy the data.',
 'CC-BY-4.0. No derivatives, and you may not use this data for any purpose.', 'CC-BY-4.0 may not apply to all the data, no AI training.',
 'No AI training, and CC-BY-4.0 may not apply.', 'CC-BY-4.0 applies to 2000 of the images in this dataset.', 'CC-BY-4.0 applies to the images in this dataset.',
 'Models and weights: CC-BY-4.0. Data: see the following.', 'CC-BY-4.0 applies to data from 2019.', 'CC-BY-4.0, for the data from 2024 to 2025.',
 'CC-BY-4.0 from 2030.', 'Licensed under CC-BY-4.0 from January 2030.', '~~CC-BY-4.0~~', '<del>CC-BY-4.0</del>', '<s>CC-BY-4.0</s>', '<!-- CC-BY-4.0 -->',
 '本仓库代码采用 MIT 许可证。', '本数据集的代码采用 Apache-2.0 许可。', '本数据集的许可证基于 MIT 许可证。', 'AFL-3.0 academic use', 'Academic Free License 3.0 academic use.',
 'CC-BY-4.0 www.acme.com/commercial-use-requires-a-fee', 'CC-BY-4.0 hxxps://only,for,research', 'CC-BY-4.0 research.only.ai',
 'CC-BY-4.0. licence@only.research.edu', 'CC-BY-4.0, but see the website for more details.', 'CC-BY-4.0. Either CC-BY-4.0 or all rights to the data.']


# The seventh outside round: anything after WITH read as a harmless exception, a LICENSE link
# whose path states terms, licence elements read as a country port, proper nouns on the
# allow-list naming who gets the licence, and a weak restriction switching off the part check.
SEVENTH_ROUND = ['MIT WITH LicenseRef-scancode-commons-clause', 'Apache-2.0 WITH LicenseRef-scancode-commons-clause', 'MIT WITH CC-BY-NC-4.0', 'CC-BY-4.0 WITH CC-BY-NC-ND-4.0',
 'CC-BY-4.0 https://acme.com/non-commercial-research-only/LICENSE', 'CC-BY-4.0, see https://github.com/acme/data/blob/main/academic-use-only/LICENSE.md',
 'MIT License (https://acme.com/no-commercial-use/LICENSE.txt)', 'CC BY 3.0 ND', 'Licensed under CC BY 2.0 ND.', 'CC BY 3.0 SA',
 'Licensed to AI2 under CC-BY-4.0.', 'Data licensed to the FSF under CC-BY-4.0.', 'No derivatives, and only the annotations are licensed under CC-BY-4.0.',
 'CC-BY-4.0 applies to the labels. No AI training.', 'Images: CC-BY-4.0. No AI training.', 'CC-BY-4.0 only for AI2, no derivatives.']


@pytest.mark.parametrize("text, ident", [("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
                                         ("Our dataset is licensed under CC BY 4.0.", "CC-BY-4.0"), ("CC BY 4.0. Commercial use allowed.", "CC-BY-4.0"),
                                         ("MIT License (https://github.com/uclanlp/corefBias/blob/master/LICENSE)", "MIT")])
def test_what_the_seventh_round_kept_precise(text, ident):
    r = normalise(text)
    assert r.identifier == ident and not r.unknown, r.to_dict()


# The eighth outside round: "only" in a name's tail before more words, allow-listed words that
# narrow together ("our", "project", "upon release", months), a hyphenated audience as a
# dataset's name, "Nonprofits" as a copyright holder, and a single-tilde strikethrough.
EIGHTH_ROUND = ['CC-BY-4.0 only for our use.', 'CC-BY-4.0 only you can use it.', 'MIT License only for this project.', 'CC-BY-4.0.Only for our use.',
 'CC-BY-4.0. Our licence is required for any use.', 'Licensed under CC-BY-4.0 for the above purposes.', 'Licensed under CC-BY-4.0 for use in this project.',
 'CC-BY-4.0, free for any open project.', 'CC-BY-4.0 upon release.', 'Data released under CC-BY-4.0 upon publishing.', 'CC-BY-4.0. Commercial use permitted from December.',
 'EU-Residents are licensed under CC-BY-4.0.', 'NGO-Members are licensed under CC-BY-4.0.', 'UK-Charities are licensed under CC-BY-4.0.',
 'Copyright 2024 Acme For Nonprofits. CC-BY-4.0', '~MIT~', '~CC-BY-4.0~']
OUTSIDE_ROUNDS = [(f"r{n}-{i}", text) for n, texts in ((4, FOURTH_ROUND), (5, FIFTH_ROUND), (6, SIXTH_ROUND), (7, SEVENTH_ROUND),
                                                                                         (8, EIGHTH_ROUND)) for i, text in enumerate(texts)]


@pytest.mark.parametrize("text", [t for _, t in OUTSIDE_ROUNDS], ids=[i for i, _ in OUTSIDE_ROUNDS])
def test_what_outside_rounds_four_to_eight_found_is_never_a_precise_commercial_verdict(text):
    r = normalise(text)
    assert r.use_class != "commercial" or r.unknown, r.to_dict()
    assert all(text[m.start:m.end] == m.text for m in r.matches)
