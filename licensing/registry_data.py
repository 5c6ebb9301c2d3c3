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
    {"identifier": "GPL-2.0-only", "name": "GNU General Public License v2.0 only", "url": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "GPL-2.0-or-later", "name": "GNU General Public License v2.0 or later", "url": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "GPL-3.0-or-later", "name": "GNU General Public License v3.0 or later", "url": "https://www.gnu.org/licenses/gpl-3.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    # Weak copyleft: the work itself, modified, stays under the licence. A derived dataset is a
    # modification of the data, so we record share-alike where DPI records none (see the README).
    {"identifier": "LGPL-2.1-only", "name": "GNU Lesser General Public License v2.1 only", "url": "https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "LGPL-3.0-only", "name": "GNU Lesser General Public License v3.0 only", "url": "https://www.gnu.org/licenses/lgpl-3.0.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "MPL-2.0", "name": "Mozilla Public License 2.0", "url": "https://www.mozilla.org/en-US/MPL/2.0/",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "EPL-1.0", "name": "Eclipse Public License 1.0", "url": "https://www.eclipse.org/legal/epl-v10.html",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "EPL-2.0", "name": "Eclipse Public License 2.0", "url": "https://www.eclipse.org/legal/epl-2.0/",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True)},
    {"identifier": "ISC", "name": "ISC License", "url": "https://opensource.org/license/isc-license-txt", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "Artistic-2.0", "name": "Artistic License 2.0", "url": "https://opensource.org/license/artistic-2-0", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "MS-PL", "name": "Microsoft Public License", "url": "https://opensource.org/license/ms-pl-html", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "Zlib", "name": "zlib License", "url": "https://opensource.org/license/zlib", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "BSL-1.0", "name": "Boost Software License 1.0", "url": "https://www.boost.org/LICENSE_1_0.txt", "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "0BSD", "name": "BSD Zero Clause License", "url": "https://opensource.org/license/0bsd", "terms": dict(PERMISSIVE)},
    {"identifier": "Unlicense", "name": "The Unlicense", "url": "https://unlicense.org/", "terms": dict(PERMISSIVE)},
    {"identifier": "OGL-UK-3.0", "name": "Open Government Licence v3.0 (UK)", "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
     "terms": dict(PERMISSIVE, attribution=True)},
    # AI2 ImpACT: use-based restrictions that travel with derivatives; the medium- and high-risk
    # agreements do not allow redistributing the artifact or derivatives of it.
    {"identifier": "LicenseRef-AI2-ImpACT-LR", "name": "AI2 ImpACT License: Low Risk Artifacts", "url": "https://allenai.org/licenses/impact-lr",
     "terms": dict(PERMISSIVE, attribution=True, share_alike=True, field_of_use_exclusions=["military-weapons", "surveillance", "disinformation"])},
    {"identifier": "LicenseRef-AI2-ImpACT-MR", "name": "AI2 ImpACT License: Medium Risk Artifacts", "url": "https://allenai.org/licenses/impact-mr",
     "terms": dict(PERMISSIVE, redistribution=P, attribution=True, field_of_use_exclusions=["military-weapons", "surveillance", "disinformation"])},
    {"identifier": "LicenseRef-AI2-ImpACT-HR", "name": "AI2 ImpACT License: High Risk Artifacts", "url": "https://allenai.org/licenses/impact-hr",
     "terms": dict(PERMISSIVE, redistribution=P, derivatives=P, attribution=True, field_of_use_exclusions=["military-weapons", "surveillance", "disinformation"])},
    # Named agreements in the Data Provenance Initiative's vocabulary, with DPI's class.
    {"identifier": "LicenseRef-OANC", "name": "Open American National Corpus licence", "url": "https://anc.org/data/oanc/",
     "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "LicenseRef-CSLU-Agreement", "name": "CSLU corpus licence agreement", "url": "https://cslu.ohsu.edu/",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "attribution": True}},
    {"identifier": "LicenseRef-LDC-User-Agreement", "name": "LDC User Agreement for Non-Members", "url": "https://www.ldc.upenn.edu/data-management/using/licensing",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "attribution": True}},
    {"identifier": "LicenseRef-Skywork-Community", "name": "Skywork Community License", "url": "https://github.com/SkyworkAI/Skywork",
     "terms": dict(PERMISSIVE, attribution=True)},
    {"identifier": "LicenseRef-LMSYS-Chat-1M", "name": "LMSYS-Chat-1M Dataset License Agreement", "url": "https://huggingface.co/datasets/lmsys/lmsys-chat-1m",
     "terms": dict(PERMISSIVE)},
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
    # Model providers' terms that bind generated outputs. Each entry names the provider, the
    # document and the date it took effect, from the provider's published text (README: "Model
    # providers"). Using outputs commercially is allowed by all of them; what they restrict is
    # building models, and that is kept as terms of its own rather than collapsed into a class.
    {"identifier": "LicenseRef-OpenAI-Terms", "name": "OpenAI Terms of Use", "url": "https://openai.com/policies/terms-of-use",
     "provider": "OpenAI", "effective": "2024-01-31",
     "terms": dict(PERMISSIVE, no_competing_models=True, outputs_commercial=A)},
    {"identifier": "LicenseRef-Anthropic-Terms", "name": "Anthropic Commercial Terms of Service", "url": "https://www.anthropic.com/legal/commercial-terms",
     "provider": "Anthropic", "effective": "2025-06-17",
     "terms": dict(PERMISSIVE, no_competing_models=True, outputs_commercial=A)},
    {"identifier": "LicenseRef-Google-Gemini-API-Terms", "name": "Gemini API Additional Terms of Service", "url": "https://ai.google.dev/gemini-api/terms",
     "provider": "Google", "effective": "2025-05-20",
     "terms": dict(PERMISSIVE, no_competing_models=True, outputs_commercial=A)},
    {"identifier": "LicenseRef-Google-Cloud-Terms", "name": "Google Cloud Platform Terms of Service (e.g. Cloud Translation API output)",
     "url": "https://cloud.google.com/terms", "provider": "Google", "effective": None,
     "terms": dict(PERMISSIVE, no_competing_models=True, outputs_commercial=A)},
    {"identifier": "LicenseRef-Llama-2", "name": "Llama 2 Community License Agreement", "url": "https://github.com/meta-llama/llama/blob/main/LICENSE",
     "provider": "Meta", "effective": "2023-07-18",
     "terms": dict(PERMISSIVE, attribution=True, no_improving_other_models=True, user_limit_mau=700_000_000, outputs_commercial=A)},
    {"identifier": "LicenseRef-Meta-Llama-3", "name": "Meta Llama 3 Community License Agreement", "url": "https://github.com/meta-llama/llama3/blob/main/LICENSE",
     "provider": "Meta", "effective": "2024-04-18",
     "terms": dict(PERMISSIVE, attribution=True, no_improving_other_models=True, model_attribution="Built with Meta Llama 3",
                   model_name_prefix="Llama 3", user_limit_mau=700_000_000, outputs_commercial=A)},
    *[{"identifier": f"LicenseRef-Meta-Llama-{v}", "name": f"Llama {v} Community License Agreement",
       "url": f"https://github.com/meta-llama/llama-models/blob/main/models/llama{v.replace('.', '_')}/LICENSE", "provider": "Meta", "effective": day,
       # From 3.1 on, outputs may train other models, which then carry the Llama name and notice.
       "terms": dict(PERMISSIVE, attribution=True, model_attribution="Built with Llama", model_name_prefix="Llama",
                     user_limit_mau=700_000_000, outputs_commercial=A)}
      for v, day in (("3.1", "2024-07-23"), ("3.2", "2024-09-25"), ("3.3", "2024-12-06"))],
    {"identifier": "LicenseRef-Mistral-Terms", "name": "Mistral AI Terms of Service", "url": "https://mistral.ai/terms",
     "provider": "Mistral AI", "effective": None,
     "terms": dict(PERMISSIVE, outputs_commercial=A)},
    {"identifier": "LicenseRef-Mistral-Research-License", "name": "Mistral AI Research License (MRL-0.1)", "url": "https://mistral.ai/licenses/MRL-0.1.md",
     "provider": "Mistral AI", "effective": None,
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": A, "academic_only": True, "attribution": True}},
    {"identifier": "LicenseRef-Qwen-License", "name": "Tongyi Qianwen License Agreement", "url": "https://huggingface.co/Qwen/Qwen1.5-7B/blob/main/LICENSE",
     "provider": "Alibaba Cloud (Qwen)", "effective": "2023-08-03",
     "terms": dict(PERMISSIVE, attribution=True, no_improving_other_models=True, user_limit_mau=100_000_000, outputs_commercial=A)},
    {"identifier": "LicenseRef-Qwen-License-2024", "name": "Qwen License Agreement", "url": "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
     "provider": "Alibaba Cloud (Qwen)", "effective": "2024-09-19",
     "terms": dict(PERMISSIVE, attribution=True, model_attribution="Built with Qwen (or: Improved using Qwen)", user_limit_mau=100_000_000, outputs_commercial=A)},
    {"identifier": "LicenseRef-Qwen-Research", "name": "Qwen Research License Agreement", "url": "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
     "provider": "Alibaba Cloud (Qwen)", "effective": "2024-09-19",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": A, "academic_only": True, "attribution": True,
               "model_attribution": "Built with Qwen (or: Improved using Qwen)"}},
    # DeepSeek: no claim on outputs, but a model trained on synthetic data from the model is a
    # "Derivative" that must carry the use restrictions of Attachment A.
    {"identifier": "LicenseRef-DeepSeek-License", "name": "DeepSeek License Agreement v1.0", "url": "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL",
     "provider": "DeepSeek", "effective": "2023-10-23",
     "terms": dict(PERMISSIVE, share_alike=True, outputs_commercial=A,
                   field_of_use_exclusions=["military", "harm-to-minors", "disinformation", "discrimination", "illegal-activity"])},
    {"identifier": "LicenseRef-DeepSeek-Platform-Terms", "name": "DeepSeek Open Platform Terms of Service",
     "url": "https://cdn.deepseek.com/policies/en-US/deepseek-open-platform-terms-of-service.html", "provider": "DeepSeek", "effective": "2026-04-29",
     "terms": dict(PERMISSIVE, outputs_commercial=A)},
    {"identifier": "LicenseRef-MSR-Data-License", "name": "Microsoft Research Data License Agreement", "url": "https://msropendata.com/",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "academic_only": True, "attribution": True}},
    {"identifier": "LicenseRef-Academic-Research-Only", "name": "Academic research purposes only", "url": "",
     "terms": {"commercial_use": P, "ai_training": A, "derivatives": A, "redistribution": P, "academic_only": True, "attribution": True}},
    {"identifier": "NONE", "name": "No licence (all rights reserved)", "url": "",
     "terms": {"commercial_use": U, "ai_training": U, "derivatives": U, "redistribution": U}},
]


def reference_text(entry: dict[str, Any]) -> str:
    """The pinned text of a standard licence: its name and the canonical URL of its legal code
    (and, for a model provider's terms, who publishes them and since when)."""
    url = entry["url"] or "(no public text)"
    text = f"{entry['name']} ({entry['identifier']})\nLegal code: {url}\n"
    if entry.get("provider"):
        text += f"Provider: {entry['provider']}\nEffective: {entry.get('effective') or 'not stated in the published text'}\n"
    return text


MODEL_PROVIDER_TERMS = [e for e in STANDARD if e.get("provider")]
