"""Every profile of every notebook names things that exist: data sets, extractors, shipped
generators. A typo in a ``full`` section would otherwise surface only on an instructor's GPU."""

from __future__ import annotations

import pytest

from ganlab import data
from ganlab.course.pretrained import SPECS
from ganlab.metrics import EXTRACTORS
from ganlab.profiles import PROFILES, notebook_names, settings

CASES = [(p, nb) for nb in notebook_names() for p in PROFILES]


@pytest.mark.parametrize(("profile", "notebook"), CASES, ids=[f"{nb}-{p}" for p, nb in CASES])
def test_profile_names_registered_things(profile: str, notebook: str) -> None:
    S = settings(profile, notebook)
    names = set(data.names())
    assert S.dataset in names, f"{notebook}/{profile}: dataset {S.dataset!r} is not registered"
    for spec in S.get("extra_datasets", []):
        name = spec["dataset"] if isinstance(spec, dict) else spec
        assert name in names, f"{notebook}/{profile}: extra dataset {name!r} is not registered"
        if isinstance(spec, dict) and "extractor" in spec:
            assert spec["extractor"] in EXTRACTORS, f"{notebook}/{profile}: extractor {spec['extractor']!r}"
    for key, value in S.items():
        if key.endswith("extractor") and isinstance(value, str):
            assert value in EXTRACTORS, f"{notebook}/{profile}: {key} = {value!r} is not an extractor"
        if key.endswith("generator") and isinstance(value, str):
            assert value in SPECS, f"{notebook}/{profile}: {key} = {value!r} is not a shipped generator"
