"""notify-order: reacts to new order files and to the daily schedule.

Invoked by the Events rule when an object is created in the orders bucket (a CloudEvents
1.0 JSON body with eventType com.oraclecloud.objectstorage.createobject), and once a day
by the resource schedule with an empty body. It answers with what it would notify; the
notification channel itself is configured with NOTIFY_TOPIC.
"""

import io
import json
import os

from fdk import response

CREATE_OBJECT = "com.oraclecloud.objectstorage.createobject"


def summarize(event):
    """A notification for an event dict, or None when the event is not about an order file."""
    if event.get("eventType") != CREATE_OBJECT:
        return None
    data = event.get("data") or {}
    name = data.get("resourceName", "")
    bucket = (data.get("additionalDetails") or {}).get("bucketName", "")
    if not name.endswith(".json"):
        return None
    return {"subject": "new order file", "bucket": bucket, "object": name}


def handler(ctx, data: io.BytesIO = None):
    raw = data.getvalue() if data else b""
    topic = os.environ.get("NOTIFY_TOPIC", "")
    if not raw.strip():
        body = {"kind": "daily-digest", "topic": topic}
    else:
        try:
            event = json.loads(raw)
        except ValueError:
            event = {}
        note = summarize(event) if isinstance(event, dict) else None
        body = {"kind": "order-file", "topic": topic, "notification": note, "ignored": note is None}
    return response.Response(ctx, response_data=json.dumps(body), headers={"Content-Type": "application/json"})
