"""Table-driven lineage scenarios for the compatibility engine (pure: no database)."""

from __future__ import annotations

import pytest

from licensing.compat import LineageCycle, Node, Source, check_offer, resolve
from licensing.registry_data import STANDARD
from licensing.terms import UNKNOWN_TERMS, Terms

REG = {e["identifier"]: Terms.from_dict(e["terms"]) for e in STANDARD}


def lic(identifier: str | None) -> Terms | None:
    if identifier is None:
        return None
    if identifier == "?":
        return UNKNOWN_TERMS
    return REG[identifier]


def v(name: str, license: str | None = "CC-BY-4.0", sources=(), **kw) -> Node:
    return Node(key=name, label=name, license_identifier=None if license == "?" else license, terms=lic(license), sources=list(sources), **kw)


def reg(node: Node, relation: str = "derived") -> Source:
    return Source(kind="registry", label=node.label, relation=relation, upstream=node)


def ext(name: str, license: str, relation: str = "derived") -> Source:
    return Source(kind="external", label=name, relation=relation, license_identifier=None if license == "?" else license, terms=lic(license))


def model(name: str, license: str) -> Source:
    return Source(kind="model", label=name, license_identifier=license, terms=lic(license))


FIRST = Source(kind="first_hand", label="own collection")


def chain(n: int, bottom: str, top_sources=()) -> Node:
    node = v("level-0", bottom, sources=list(top_sources))
    for i in range(1, n):
        node = v(f"level-{i}", "CC-BY-4.0" if bottom != "CC-BY-SA-4.0" else "CC-BY-SA-4.0", sources=[reg(node)])
    return node


def diamond(left: str, right: str, base: str) -> Node:
    b = v("base", base, sources=[FIRST])
    left_n = v("left", left, sources=[reg(b)])
    right_n = v("right", right, sources=[reg(b)])
    return v("top", "CC-BY-4.0", sources=[reg(left_n), reg(right_n)])


# (id, root, expected use class, codes that must appear, offered licence, offer blocked?)
SCENARIOS = [
    ("first-hand only", v("own", "CC-BY-4.0", [FIRST]), "commercial", [], "CC-BY-4.0", False),
    ("first-hand sold commercially under a custom-ish CC0", v("own", "CC0-1.0", [FIRST]), "commercial", [], "CC0-1.0", False),
    ("alpaca: openai terms + CC-BY-NC", v("alpaca", "CC-BY-NC-4.0", [model("text-davinci-003", "LicenseRef-OpenAI-Terms"), ext("self-instruct seeds", "CC-BY-NC-4.0")]),
     "non-commercial", ["model-output-terms", "use-class"], "CC-BY-NC-4.0", False),
    ("alpaca seeds NC sold commercially is blocked", v("alpaca", "CC-BY-NC-4.0", [model("gpt", "LicenseRef-OpenAI-Terms"), ext("seeds", "CC-BY-NC-4.0")]),
     "non-commercial", ["model-output-terms"], "CC-BY-4.0", True),
    ("OpenAI outputs alone sell commercially, with the no-competing-models term", v("synthetic", "CC-BY-4.0", [model("gpt", "LicenseRef-OpenAI-Terms")]),
     "commercial", ["model-output-terms"], "CC-BY-4.0", False),
    ("BY-SA upstream sold under a different licence", v("derived", "CC-BY-4.0", [ext("wiki dump", "CC-BY-SA-4.0")]), "commercial", [], "CC-BY-4.0", True),
    ("BY-SA upstream sold under the same licence", v("derived", "CC-BY-SA-4.0", [ext("wiki dump", "CC-BY-SA-4.0")]), "commercial", [], "CC-BY-SA-4.0", False),
    ("two different share-alike upstreams cannot be combined", v("mix", "CC-BY-SA-4.0", [ext("a", "CC-BY-SA-4.0"), ext("b", "ODbL-1.0")]), "commercial", [], "CC-BY-SA-4.0", True),
    ("derived from ND upstream", v("derived", "CC-BY-4.0", [ext("nd corpus", "CC-BY-ND-4.0")]), "commercial", ["no-derivatives"], "CC-BY-4.0", True),
    ("ND upstream used as-is (licensed) is not a derivative", v("bundle", "CC-BY-ND-4.0", [ext("nd corpus", "CC-BY-ND-4.0", relation="licensed")]), "commercial", [], "CC-BY-ND-4.0", False),
    ("derived from NC-ND upstream", v("d", "CC-BY-NC-4.0", [ext("x", "CC-BY-NC-ND-4.0")]), "non-commercial", ["no-derivatives"], "CC-BY-NC-4.0", True),
    ("unknown upstream licence", v("d", "CC-BY-4.0", [ext("mystery", "?")]), "academic-only", ["unknown-license"], "CC-BY-4.0", True),
    ("unknown upstream, academic offer allowed", v("d", "LicenseRef-Academic-Research-Only", [ext("mystery", "?")]), "academic-only", ["unknown-license"], "LicenseRef-MDL-Research", False),
    ("registry upstream without a declared licence", v("d", "CC-BY-4.0", [reg(v("undeclared", None))]), "academic-only", ["unknown-license"], "CC-BY-4.0", True),
    ("NC upstream sold NC", v("d", "CC-BY-NC-4.0", [ext("x", "CC-BY-NC-4.0")]), "non-commercial", [], "CC-BY-NC-4.0", False),
    ("NC upstream sold commercially", v("d", "CC-BY-4.0", [ext("x", "CC-BY-NC-4.0")]), "non-commercial", [], "CC-BY-4.0", True),
    ("academic-only upstream sold NC", v("d", "CC-BY-NC-4.0", [ext("msr", "LicenseRef-MSR-Data-License")]), "academic-only", ["no-redistribution"], "CC-BY-NC-4.0", True),
    ("MDL research-only upstream forbids resale", v("d", "CC-BY-NC-4.0", [ext("mdl", "LicenseRef-MDL-Research")]), "academic-only", ["no-redistribution"], "CC-BY-NC-4.0", True),
    ("MDL commercial upstream", v("d", "CC-BY-4.0", [ext("mdl", "LicenseRef-MDL-Commercial")]), "commercial", [], "CC-BY-4.0", False),
    ("web crawl: unspecified", v("crawl", "CC-BY-NC-4.0", [Source(kind="web_crawl", label="common crawl 2024", opt_outs_observed=["robots.txt"], opt_outs_respected=True)]),
     "unspecified", ["web-crawl"], "CC-BY-NC-4.0", False),
    ("web crawl commercial offer blocked", v("crawl", "CC-BY-4.0", [Source(kind="web_crawl", label="crawl")]), "unspecified", ["web-crawl"], "CC-BY-4.0", True),
    ("crawl ignoring opt-outs", v("crawl", "CC-BY-NC-4.0", [Source(kind="web_crawl", label="crawl", opt_outs_observed=["ai.txt", "TDMRep"], opt_outs_respected=False)]),
     "non-commercial", ["crawl-opt-out-ignored"], "CC-BY-NC-4.0", False),
    ("Llama-2 generated data: no improving other models", v("synthetic", "CC-BY-4.0", [model("llama-2-70b", "LicenseRef-Llama-2")]), "commercial",
     ["no-improving-other-models", "user-limit"], "CC-BY-4.0", False),
    ("OpenRAIL upstream: field-of-use limits carried", v("d", "LicenseRef-OpenRAIL-D", [ext("rail data", "LicenseRef-OpenRAIL-D")]), "commercial", ["field-of-use"], "LicenseRef-OpenRAIL-D", False),
    ("attribution accumulates through CC-BY chain", chain(3, "CC-BY-4.0"), "commercial", [], "CC-BY-4.0", False),
    ("chain of six, NC at the bottom", chain(6, "CC-BY-NC-4.0"), "non-commercial", ["use-class"], "CC-BY-4.0", True),
    ("chain of five, unknown at the bottom", chain(5, "?"), "academic-only", ["unknown-license"], "CC-BY-NC-4.0", True),
    ("chain of five, SA at the bottom, SA all the way", chain(5, "CC-BY-SA-4.0"), "commercial", [], "CC-BY-SA-4.0", False),
    ("chain of seven, ND at the bottom (derived at the first step)", chain(7, "CC-BY-ND-4.0"), "commercial", ["no-derivatives"], "CC-BY-4.0", True),
    ("diamond: NC on one side", diamond("CC-BY-NC-4.0", "CC-BY-4.0", "CC-BY-4.0"), "non-commercial", [], "CC-BY-4.0", True),
    ("diamond: all permissive", diamond("CC-BY-4.0", "MIT", "CC0-1.0"), "commercial", [], "CC-BY-4.0", False),
    ("diamond: SA base reached twice", diamond("CC-BY-SA-4.0", "CC-BY-SA-4.0", "CC-BY-SA-4.0"), "commercial", [], "CC-BY-SA-4.0", False),
    ("diamond: academic-only base", diamond("CC-BY-4.0", "CC-BY-4.0", "LicenseRef-Academic-Research-Only"), "academic-only", ["no-redistribution"], "CC-BY-4.0", True),
    ("personal data without lawful basis", v("ehr", "CC-BY-NC-4.0", [FIRST], personal_data="contains", sensitive_categories=["health"]),
     "commercial", ["personal-data", "no-lawful-basis", "sensitive-data"], "CC-BY-NC-4.0", False),
    ("pseudonymised with consent", v("ehr", "CC-BY-NC-4.0", [FIRST], personal_data="pseudonymised", lawful_basis="consent"), "commercial", ["pseudonymised"], "CC-BY-NC-4.0", False),
    ("Apache + MIT + CC0 mix", v("code", "Apache-2.0", [ext("a", "MIT"), ext("b", "CC0-1.0"), ext("c", "Apache-2.0")]), "commercial", [], "Apache-2.0", False),
    ("CDLA-Sharing upstream requires CDLA-Sharing", v("d", "CDLA-Permissive-2.0", [ext("s", "CDLA-Sharing-1.0")]), "commercial", [], "CDLA-Permissive-2.0", True),
    ("ODbL upstream sold under ODbL", v("map", "ODbL-1.0", [ext("osm", "ODbL-1.0")]), "commercial", [], "ODbL-1.0", False),
]


@pytest.mark.parametrize("name,root,use_class,codes,offer,blocked", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_lineage_scenario(name, root, use_class, codes, offer, blocked):
    res = resolve(root)
    assert res.use_class == use_class
    found = {f.code for f in res.findings}
    assert set(codes) <= found, found
    offer_findings = check_offer(res, offer, REG[offer])
    assert bool(offer_findings) == blocked, [f.message for f in offer_findings]
    for f in res.findings + offer_findings:
        assert f.message and (f.path or f.code == "offer-license-unknown")


def test_the_scenarios_cover_every_use_class_both_verdicts_and_are_distinct():
    """Not a count of a literal list: what the table must exercise. Every use class the engine
    can give appears, offers are both allowed and blocked, and no two scenarios share a name."""
    use_classes = {s[2] for s in SCENARIOS}
    assert {"commercial", "non-commercial", "academic-only", "unspecified"} <= use_classes, use_classes
    assert {s[5] for s in SCENARIOS} == {True, False}
    assert len({s[0] for s in SCENARIOS}) == len(SCENARIOS)


def test_alpaca_paths_name_the_model():
    root = SCENARIOS[2][1]
    res = resolve(root)
    model_finding = next(f for f in res.findings if f.code == "model-output-terms")
    assert model_finding.path == ["alpaca", "text-davinci-003"]
    assert "compete" in model_finding.message
    assert res.allowed_offer_kinds == ["academic-only", "non-commercial"]


def test_share_alike_names_the_required_licence():
    res = resolve(v("derived", "CC-BY-4.0", [ext("wiki", "CC-BY-SA-4.0")]))
    assert res.required_license == "CC-BY-SA-4.0"
    block = [f for f in check_offer(res, "CC-BY-4.0", REG["CC-BY-4.0"]) if f.code == "share-alike"][0]
    assert block.path == ["derived", "wiki"] and "CC-BY-SA-4.0" in block.message


def test_attribution_duties_accumulate_with_paths():
    res = resolve(chain(3, "CC-BY-4.0"))
    assert [a["path"] for a in res.attribution] == [["level-2", "level-1"], ["level-2", "level-1", "level-0"]]


def test_cycle_is_refused():
    a = v("a", "CC-BY-4.0")
    b = v("b", "CC-BY-4.0", [reg(a)])
    a.sources.append(reg(b))
    with pytest.raises(LineageCycle) as exc:
        resolve(a)
    assert exc.value.path[0] == "a" and exc.value.path[-1] == "a"


def test_blocked_lineage_allows_no_offer():
    res = resolve(v("d", "CC-BY-4.0", [ext("nd", "CC-BY-ND-4.0")]))
    assert res.blocked and res.allowed_offer_kinds == []
