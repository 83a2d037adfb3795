"""trackwell-webhook: post ``run.alert()`` alerts to webhook URLs (JSON or Slack), with retries.

Install it and set ``TRACKWELL_WEBHOOK_URL``; the plugin (``trackwell_webhook.plugin``,
entry point ``webhook``) registers a :class:`WebhookSink` per URL for every run.
"""

from __future__ import annotations

from trackwell_webhook.sink import FORMATS, WebhookSink, json_payload, slack_payload

__version__ = "0.1.0"
__all__ = ["FORMATS", "WebhookSink", "__version__", "json_payload", "slack_payload"]
