"""The Azure reconciler's wiring: the timer function's binding (registered only with its schedule setting) and
the run's configuration from the app settings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from qscan.azure.reconciler import config_from
from qscan.config import Settings
from qscan.errors import ConfigError

APP = Path(__file__).resolve().parents[2] / "handlers" / "azure" / "function_app.py"
SUB = "00000000-0000-0000-0000-0000000000a1"


def load_app(monkeypatch: pytest.MonkeyPatch, schedule: str | None) -> ModuleType:
    if schedule is None:
        monkeypatch.delenv("QSCAN_RECONCILE_SCHEDULE", raising=False)
    else:
        monkeypatch.setenv("QSCAN_RECONCILE_SCHEDULE", schedule)
    spec = importlib.util.spec_from_file_location("qscan_function_app_timer", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_timer_trigger_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {f.get_function_name(): f for f in load_app(monkeypatch, "0 0 */6 * * *").app.get_functions()}
    (timer,) = json.loads(found["reconcile"].get_function_json())["bindings"]
    assert timer == {
        "direction": "IN",
        "type": "timerTrigger",
        "name": "timer",
        "schedule": "%QSCAN_RECONCILE_SCHEDULE%",  # the schedule is an app setting, not code
        "runOnStartup": False,  # a restart or a scale-out never adds runs
        "useMonitor": True,  # a schedule missed while the app was down runs once it is back
    }


def test_no_timer_without_its_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {f.get_function_name() for f in load_app(monkeypatch, None).app.get_functions()}
    assert "reconcile" not in names


def test_config_from_settings() -> None:
    settings = Settings.from_env(
        {
            "QSCAN_CLOUD": "azure",
            "QSCAN_RECONCILE_SUBSCRIPTION_IDS": f"{SUB.upper()}, {SUB}",
            "QSCAN_RECONCILE_LOOKBACK_DAYS": "3",
            "QSCAN_RECONCILE_MAX_PAGES": "7",
            "QSCAN_RECONCILE_MAX_SECONDS": "60",
            "QSCAN_RECONCILE_MAX_REQUESTS": "9",
            "QSCAN_CACHE_TTL_SECONDS": "86400",
        }
    )
    config = config_from(settings)
    assert config.subscriptions == (SUB,)  # lower-cased, duplicates dropped
    assert config.lookback_seconds == 3 * 86400
    assert (config.limits.max_pages, config.limits.max_seconds, config.limits.max_requests) == (7, 60.0, 9)
    assert config.rescan_interval_seconds == 86400  # the rescan interval is the cache TTL
    assert config.request_window_seconds == 6 * 3600


def test_config_needs_subscriptions() -> None:
    with pytest.raises(ConfigError, match="QSCAN_RECONCILE_SUBSCRIPTION_IDS"):
        config_from(Settings.from_env({"QSCAN_CLOUD": "azure"}))


@pytest.mark.parametrize("value", ["not-a-guid", f"{SUB},", ",".join([SUB] * 51)])
def test_subscription_ids_are_validated(value: str) -> None:
    with pytest.raises(ConfigError, match="QSCAN_RECONCILE_SUBSCRIPTION_IDS"):
        Settings.from_env({"QSCAN_RECONCILE_SUBSCRIPTION_IDS": value})
