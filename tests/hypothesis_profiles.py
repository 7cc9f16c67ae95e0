"""Hypothesis settings for the event fuzzers and reference property tests.

`HYPOTHESIS_PROFILE` selects how hard they work:
- `default` (or unset): 2,000 examples per normalizer, the normal test run;
- `fuzz`: 25,000 examples per normalizer, what `make fuzz` runs (`pytest -m slow -k fuzz`);
- `quick`: 200 examples, for iterating on a normalizer.
The tests marked `slow` always use at least the `fuzz` budget.

Profiles are registered under `qscan-*` names and applied per test with `@settings(...)`, never loaded
globally, so other suites' Hypothesis settings are untouched.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("qscan-default", max_examples=2_000, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("qscan-fuzz", max_examples=25_000, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("qscan-quick", max_examples=200, **_COMMON)  # type: ignore[arg-type]

_NAMES = {"default": "qscan-default", "fuzz": "qscan-fuzz", "quick": "qscan-quick"}


def profile_name() -> str:
    return _NAMES.get(os.environ.get("HYPOTHESIS_PROFILE", "default"), "qscan-default")


def fuzz_settings() -> settings:
    """Settings for the normal-run fuzz tests (the profile HYPOTHESIS_PROFILE selects)."""
    return settings(settings.get_profile(profile_name()))


def long_fuzz_settings() -> settings:
    """Settings for the `fuzz`-marked variants: the selected profile, but never less than `qscan-fuzz`."""
    selected = settings.get_profile(profile_name())
    floor = settings.get_profile("qscan-fuzz")
    return settings(selected, max_examples=max(selected.max_examples, floor.max_examples))


def property_settings(max_examples: int = 300) -> settings:
    """Settings for ordinary property tests: a fixed budget, scaled up under the fuzz profile."""
    selected = settings.get_profile(profile_name())
    return settings(selected, max_examples=max(max_examples, selected.max_examples // 10))
