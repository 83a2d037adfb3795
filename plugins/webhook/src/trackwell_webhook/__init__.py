"""trackwell-webhook: post ``run.alert()`` alerts to webhook URLs (JSON or Slack), with retries.

Install it and set ``TRACKWELL_WEBHOOK_URL``; the plugin (``trackwell_webhook.plugin``,
entry point ``webhook``) registers a :class:`WebhookSink` per URL for every run.
Names here are loaded on first use: the plugin is imported at every ``init()``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["FORMATS", "WebhookSink", "__version__", "json_payload", "slack_payload"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from trackwell_webhook import sink

        return getattr(sink, name)
    raise AttributeError(f"module 'trackwell_webhook' has no attribute {name!r}")
