"""Files the client writes for people to fill in, and the YAML reading that keeps what they typed.

`PROVENANCE` is what `marketplace provenance template` prints: every field of a provenance
declaration, commented, with values the server accepts as they stand (a test declares it).
`infra/examples/provenance.yaml` is the same text, for the README to link.

YAML 1.1, which PyYAML implements, reads `NO` (Norway's country code) as false, `2024-01-31` as a
date object that JSON cannot carry, and `12:30` as the integer 750. `load_yaml` reads booleans
as YAML 1.2 does (true and false only) and leaves dates, times and everything else as the text
that was written.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

PROVENANCE = """\
# Provenance of one dataset version: where the data came from, how it was collected, what
# personal data it holds, how it was annotated, and what it cannot be used for.
# Declare it with:  marketplace provenance set VERSION_ID provenance.yaml
# Sending it attests, in your name and your organisation's, that it is accurate.
# Valid values: `marketplace licenses` lists licence identifiers; country codes are ISO 3166
# alpha-2 (NO is Norway here, not "no").

sources:                      # at least one; each says what kind of source it is
  - kind: first_hand          # first_hand | licensed | web_crawl | registry | external | model
    name: Outpatient consultations recorded at partner clinics
    description: Consented recordings, transcribed by our staff.

  - kind: licensed            # data you licensed from a third party
    name: Hospital discharge summaries
    license: CC-BY-4.0        # an identifier, a licence name or its URL
    contract_reference: DPA-2024-017

#  - kind: web_crawl          # a crawl needs its period and whether opt-outs were honoured
#    name: Public health forums
#    crawl_start: 2024-01-01
#    crawl_end: 2024-03-31
#    domains: [forum.example.org]
#    opt_outs_observed: [robots-ai, tdmrep]    # robots-ai | tdmrep | ai-txt
#    opt_outs_respected: true
#
#  - kind: registry           # derived from a dataset version on this marketplace
#    name: Clinical dialogues v1
#    version_id: 00000000-0000-0000-0000-000000000000
#
#  - kind: external           # another published dataset
#    name: MIMIC-IV demo
#    url: https://physionet.org/content/mimic-iv-demo/
#    license: ODbL-1.0
#
#  - kind: model              # synthetic data: the model that generated it
#    name: Synthetic follow-up questions
#    model_name: example-model-7b
#    model_provider: Example Labs
#    license: Apache-2.0

collection:
  period_start: 2023-01-01    # dates as YYYY-MM-DD
  period_end: 2024-06-30
  geography: [NO, SE, DK]     # ISO 3166 alpha-2 codes, or "worldwide"
  lawful_basis: consent       # consent | contract | legitimate_interest | public_task | legal_obligation | vital_interest | not_applicable

personal_data:
  status: pseudonymised       # none | pseudonymised | anonymised | contains
  anonymisation_method: Names, dates and record numbers replaced with stable pseudonyms.
  sensitive_categories: [health]   # health | biometric | genetic | ethnicity | religion | political | sexual-orientation | trade-union | criminal | children

annotation:                   # optional
  workforce: Two licensed nurses per record
  guidelines_url: https://example.org/annotation-guidelines
  qa_method: 10 % double annotation, disagreements adjudicated
  qa_pass_rate: 0.97          # 0-1
  inter_annotator_agreement: 0.81
  agreement_metric: Cohen's kappa

limitations: >
  Adult outpatients only; no emergency care. English and Norwegian.
biases: >
  Urban clinics are over-represented.
"""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with YAML 1.2's booleans and ints, and timestamps left as text."""


_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int"}
_Loader.yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
                                   for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
# (a number with a leading zero, "0123", stays text: YAML 1.1 would read it as octal)


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_yaml(text: str) -> Any:
    """Parse YAML as people mean it (see the module's docstring); a key given twice is an error,
    not a silent overwrite. Raises yaml.YAMLError with the line and column."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
