"""publisher_from_settings picks the publisher for QSCAN_CLOUD and names the missing variable."""

from __future__ import annotations

import pytest
from qscan.config import Settings
from qscan.errors import ConfigError
from qscan.notify import publisher_from_settings
from qscan.notify.eventgrid import EventGridPublisher
from qscan.notify.sns import SnsPublisher


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def test_aws_uses_sns_with_the_endpoint_override():
    settings = Settings.from_env(
        {
            "QSCAN_ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:qscan-alerts",
            "QSCAN_AWS_ENDPOINT_URL": "http://127.0.0.1:5999",
        }
    )
    publisher = publisher_from_settings(settings)
    assert isinstance(publisher, SnsPublisher)
    assert publisher.topic_arn == "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
    assert publisher.client.meta.endpoint_url == "http://127.0.0.1:5999"
    assert publisher_from_settings(settings).client is publisher.client  # one client per cold start


def test_azure_uses_event_grid():
    settings = Settings.from_env(
        {
            "QSCAN_CLOUD": "azure",
            "QSCAN_EVENTGRID_TOPIC_ENDPOINT": "https://t.westeurope-1.eventgrid.azure.net",
        }
    )
    publisher = publisher_from_settings(settings)
    assert isinstance(publisher, EventGridPublisher)
    assert publisher.endpoint == "https://t.westeurope-1.eventgrid.azure.net/api/events"


@pytest.mark.parametrize(
    ("env", "variable"),
    [({}, "QSCAN_ALERT_TOPIC_ARN"), ({"QSCAN_CLOUD": "azure"}, "QSCAN_EVENTGRID_TOPIC_ENDPOINT")],
)
def test_missing_destination_names_the_variable(env, variable):
    with pytest.raises(ConfigError, match=f"^{variable} is required"):
        publisher_from_settings(Settings.from_env(env))
