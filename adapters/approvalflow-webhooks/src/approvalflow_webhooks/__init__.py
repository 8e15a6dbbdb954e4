"""approvalflow-webhooks: approvalflow's recorded events as signed webhooks.

The sender side is :class:`WebhookSink`, an ``EventSink`` for approvalflow's
delivery follower::

    import approvalflow
    from approvalflow_webhooks import WebhookSink

    sink = WebhookSink("https://host.example/hooks/approvals", secret)
    app = approvalflow.connect(url, directory=..., event_sink=sink)

The receiver side is :func:`verify`, which checks a request's Standard
Webhooks signature and age and returns its JSON payload.
"""

from approvalflow_webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    verify,
)
from approvalflow_webhooks.sink import WebhookSink

__all__ = [
    "WebhookSink",
    "WebhookVerificationError",
    "generate_secret",
    "verify",
]
