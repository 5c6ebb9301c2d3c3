"""The standard licences the registry starts with: SPDX ids (or LicenseRef-* where SPDX has
none), canonical URLs and machine-readable terms. The legal text of a standard licence is the one
published at its URL; the registry pins the reference text below by SHA-256."""

from __future__ import annotations

from typing import Any

A, P, U = "allowed", "prohibited", "unspecified"


def _cc(code: str, version: str, name: str) -> dict[str, Any]:
    nc, sa, nd = "nc" in code, "sa" in code, "nd" in code
    return {
        "identifier": f"CC-{code.upper()}-{version}",
        "name": f"Creative Commons {name} {version}{' International' if version == '4.0' else ''}",
        "url": f"https://creativecommons.org/licenses/{code}/{version}/",
        "terms": {"commercial_use": P if nc else A, "ai_training": A, "derivatives": P if nd else A, "redistribution": A,
                  "share_alike": sa, "attribution": True},
    }


CC = [
    ("by", "Attribution"), ("by-sa", "Attribution-ShareAlike"), ("by-nc", "Attribution-NonCommercial"),
    ("by-nc-sa", "Attribution-NonCommercial-ShareAlike"), ("by-nd", "Attribution-NoDerivatives"),
    ("by-nc-nd", "Attribution-NonCommercial-NoDerivatives"),
]

PERMISSIVE = {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": A}

STANDARD: list[dict[str, Any]] = [
    *[_cc(code, v, name) for v in ("4.0", "3.0") for code, name in CC],
    *[_cc(code, "2.0", name) for code, name in CC[:4]],
    *[_cc(code, "2.5", name) for code, name in CC[:1]],
    {"identifier": "CC0-1.0", "name": "Creative Commons Zero v1.0 Universal", "url": "https://creativecommons.org/publicdomain/zero/1.0/",
     "terms": dict(PERMISSIVE)},
    {"identifier": "LicenseRef-PDM-1.0", "name": "Public Domain Mark 1.0", "url": "https://creativecommons.org/publicdomain/mark/1.0/",
     "terms": dict(PERMISSIVE)},
    {"identifier": "ODC-By-1.0", "name": "Open Data Commons Attribution License v1.0", "url": "https://opendatacommons.org/licenses/by/1-0/",
     "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "ODbL-1.0", "name": "Open Data Commons Open Database License v1.0", "url": "https://opendatacommons.org/licenses/odbl/1-0/",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "PDDL-1.0", "name": "Open Data Commons Public Domain Dedication & License 1.0", "url": "https://opendatacommons.org/licenses/pddl/1-0/",
     "terms": dict(PERMISSIVE)},
    {"identifier": "CDLA-Permissive-2.0", "name": "Community Data License Agreement Permissive 2.0", "url": "https://cdla.dev/permissive-2-0/",
     "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "CDLA-Permissive-1.0", "name": "Community Data License Agreement Permissive 1.0", "url": "https://cdla.dev/permissive-1-0/",
     "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "CDLA-Sharing-1.0", "name": "Community Data License Agreement Sharing 1.0", "url": "https://cdla.dev/sharing-1-0/",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "C-UDA-1.0", "name": "Computational Use of Data Agreement v1.0", "url": "https://github.com/microsoft/Computational-Use-of-Data-Agreement",
     "terms": {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": A, "attribution": True, "share_alike": True,
               "no_competing_models": False}},
    {"identifier": "Apache-2.0", "name": "Apache License 2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "MIT", "name": "MIT License", "url": "https://opensource.org/license/mit", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "BSD-2-Clause", "name": "BSD 2-Clause License", "url": "https://opensource.org/license/bsd-2-clause", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "BSD-3-Clause", "name": "BSD 3-Clause License", "url": "https://opensource.org/license/bsd-3-clause", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "GPL-3.0-only", "name": "GNU General Public License v3.0 only", "url": "https://www.gnu.org/licenses/gpl-3.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "AGPL-3.0-only", "name": "GNU Affero General Public License v3.0 only", "url": "https://www.gnu.org/licenses/agpl-3.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "AFL-3.0", "name": "Academic Free License v3.0", "url": "https://opensource.org/license/afl-3-0-php", "terms": dict(PERMISSIVE, attribution=True)},
    # OpenRAIL: open access with use-based restrictions that travel with derivatives.
    {"identifier": "LicenseRef-OpenRAIL-M", "name": "Open RAIL-M (model)", "url": "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True, field_of_use_exclusions=["medical-advice", "law-enforcement-profiling", "disinformation"])},
    {"identifier": "LicenseRef-OpenRAIL-D", "name": "Open RAIL-D (data)", "url": "https://www.licenses.ai/",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True, field_of_use_exclusions=["surveillance", "discrimination"])},
    {"identifier": "LicenseRef-BigScience-OpenRAIL-M", "name": "BigScience Open RAIL-M", "url": "https://bigscience.huggingface.co/blog/bigscience-openrail-m",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True, field_of_use_exclusions=["medical-advice", "law-enforcement-profiling", "disinformation"])},
    # Montreal Data License family: data rights and model rights stated separately.
    {"identifier": "LicenseRef-MDL-Research", "name": "Montreal Data License: research only", "url": "https://www.montrealdatalicense.com/",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "academic_only": True, "attribution": True,
               "mdl_data_rights": {"training": A, "research": A, "internal_use": P, "publish_trained_model": P, "commercialise_outputs": P, "commercialise_model": P},
               "mdl_model_rights": {"training": A, "research": A, "internal_use": P, "publish_trained_model": P, "commercialise_outputs": P, "commercialise_model": P}}},
    {"identifier": "LicenseRef-MDL-Internal", "name": "Montreal Data License: internal use, outputs commercial", "url": "https://www.montrealdatalicense.com/",
     "terms": {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": P, "attribution": True, "outputs_commercial": A,
               "mdl_data_rights": {"training": A, "research": A, "internal_use": A, "publish_trained_model": P, "commercialise_outputs": A, "commercialise_model": P},
               "mdl_model_rights": {"training": A, "research": A, "internal_use": A, "publish_trained_model": P, "commercialise_outputs": A, "commercialise_model": P}}},
    {"identifier": "LicenseRef-MDL-Commercial", "name": "Montreal Data License: commercial, model commercialisation", "url": "https://www.montrealdatalicense.com/",
     "terms": {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": A, "attribution": True, "outputs_commercial": A,
               "mdl_data_rights": {r: A for r in ("training", "research", "internal_use", "publish_trained_model", "commercialise_outputs", "commercialise_model")},
               "mdl_model_rights": {r: A for r in ("training", "research", "internal_use", "publish_trained_model", "commercialise_outputs", "commercialise_model")}}},
    # Model providers' terms that bind generated outputs.
    {"identifier": "LicenseRef-OpenAI-Terms", "name": "OpenAI Terms of Use (outputs)", "url": "https://openai.com/policies/terms-of-use",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": A, "no_competing_models": True, "outputs_commercial": A}},
    {"identifier": "LicenseRef-Llama-2", "name": "Llama 2 Community License", "url": "https://ai.meta.com/llama/license/",
     "terms": {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": A, "attribution": True, "no_competing_models": True}},
    {"identifier": "LicenseRef-Meta-Llama-3", "name": "Meta Llama 3 Community License", "url": "https://llama.meta.com/llama3/license/",
     "terms": {"commercial_use": A, "ai_training": A, "derivatives": A, "redistribution": A, "attribution": True, "no_competing_models": True}},
    {"identifier": "LicenseRef-MSR-Data-License", "name": "Microsoft Research Data License Agreement", "url": "https://msropendata.com/",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "academic_only": True, "attribution": True}},
    {"identifier": "LicenseRef-Academic-Research-Only", "name": "Academic research purposes only", "url": "",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "academic_only": True, "attribution": True}},
    {"identifier": "NONE", "name": "No licence (all rights reserved)", "url": "",
     "terms": {"commercial_use": U, "ai_training": U, "derivatives": U, "redistribution": U}},
]


def reference_text(entry: dict[str, Any]) -> str:
    """The pinned text of a standard licence: its name and the canonical URL of its legal code."""
    url = entry["url"] or "(no public text)"
    return f"{entry['name']} ({entry['identifier']})\nLegal code: {url}\n"
