"""One HTTP POST with a hard timeout, its failures sorted into retry-later and give-up."""

from __future__ import annotations

from quanta.observability.alerts.base import DeliveryError, PermanentDeliveryError

RETRIED_STATUSES = {408, 425, 429}
"""Client errors that say "later" rather than "never" (and every 5xx)."""


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, sink: str) -> None:
    """POST ``body``; raise :class:`DeliveryError` (retried) or :class:`PermanentDeliveryError`."""
    import httpx

    try:
        # A fresh client per send: the deliverer sends rarely, and no connection outlives a failure.
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError(f"sink {sink}: no answer within {timeout:g} s", hint="retried later") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"sink {sink}: {type(exc).__name__}: {exc}", hint="retried later") from None
    if response.is_success:
        return
    answer = f"sink {sink}: HTTP {response.status_code} {response.text[:200].strip()}".strip()
    if response.status_code >= 500 or response.status_code in RETRIED_STATUSES:
        raise DeliveryError(answer, hint="retried later")
    raise PermanentDeliveryError(answer, hint="fix the sink's url or the receiver, then: quanta alerts retry")
