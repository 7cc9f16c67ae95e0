"""Qualys platforms (PODs) and their Container Security API gateways."""

from __future__ import annotations

from urllib.parse import urlsplit

from qscan.errors import ConfigError

GATEWAYS: dict[str, str] = {
    "US1": "https://gateway.qg1.apps.qualys.com",
    "US2": "https://gateway.qg2.apps.qualys.com",
    "US3": "https://gateway.qg3.apps.qualys.com",
    "US4": "https://gateway.qg4.apps.qualys.com",
    "EU1": "https://gateway.qg1.apps.qualys.eu",
    "EU2": "https://gateway.qg2.apps.qualys.eu",
    "EU3": "https://gateway.qg3.apps.qualys.it",
    "IN1": "https://gateway.qg1.apps.qualys.in",
    "CA1": "https://gateway.qg1.apps.qualys.ca",
    "AE1": "https://gateway.qg1.apps.qualys.ae",
    "UK1": "https://gateway.qg1.apps.qualys.co.uk",
    "AU1": "https://gateway.qg1.apps.qualys.com.au",
    "KSA1": "https://gateway.qg1.apps.qualysksa.com",
}


def gateway_for(pod: str | None = None, gateway_url: str | None = None) -> str:
    """Return the API gateway base URL for a POD name, or a validated explicit gateway URL.

    An explicit URL (private cloud, GOV) wins; it must be https with a host and no query or fragment.
    """
    if gateway_url:
        parts = urlsplit(gateway_url.strip())
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or parts.username:
            raise ConfigError(
                "gateway_url must be an https URL with a host and no credentials, query or fragment"
            )
        return gateway_url.strip().rstrip("/")
    if not pod:
        raise ConfigError("either a Qualys POD (e.g. US1) or an explicit gateway_url is required")
    key = pod.strip().upper()
    if key not in GATEWAYS:
        raise ConfigError(f"unknown Qualys POD {pod.strip()[:16]!r}; known: {', '.join(GATEWAYS)}")
    return GATEWAYS[key]
