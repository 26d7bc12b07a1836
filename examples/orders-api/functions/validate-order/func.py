"""validate-order: checks an order before it is accepted.

POST /orders/validate (through the API gateway) with a JSON order:

    {"orderId": "A-1001", "customerId": "C-42", "currency": "USD",
     "items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 12.5}]}

Answers 200 with {"valid": true|false, "errors": [...], "total": ...}; the caller decides
what to do with an invalid order, so a well-formed request never gets an error status.
A body that is not a JSON object is a 400.
"""

import io
import json

from fdk import response

REQUIRED_FIELDS = ("orderId", "customerId", "currency", "items")
KNOWN_CURRENCIES = {"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF"}


def validate(order):
    """Returns (errors, total) for an order given as a dict."""
    errors = []
    for field in REQUIRED_FIELDS:
        if field not in order or order[field] in (None, "", []):
            errors.append(f"missing field: {field}")
    currency = order.get("currency")
    if currency and currency not in KNOWN_CURRENCIES:
        errors.append(f"unknown currency: {currency}")
    total = 0.0
    items = order.get("items") or []
    if not isinstance(items, list):
        errors.append("items must be a list")
        items = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"items[{i}] must be an object")
            continue
        if not item.get("sku"):
            errors.append(f"items[{i}]: missing sku")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            errors.append(f"items[{i}]: quantity must be a positive integer")
            continue
        price = item.get("unitPrice", 0)
        if not isinstance(price, (int, float)) or isinstance(price, bool) or price < 0:
            errors.append(f"items[{i}]: unitPrice must be a non-negative number")
            continue
        total += quantity * price
    return errors, round(total, 2)


def handler(ctx, data: io.BytesIO = None):
    try:
        order = json.loads(data.getvalue() or b"{}")
    except (ValueError, AttributeError):
        order = None
    if not isinstance(order, dict):
        return response.Response(
            ctx,
            status_code=400,
            response_data=json.dumps({"valid": False, "errors": ["body must be a JSON object"]}),
            headers={"Content-Type": "application/json"},
        )
    errors, total = validate(order)
    result = {"orderId": order.get("orderId"), "valid": not errors, "errors": errors, "total": total}
    return response.Response(
        ctx, status_code=200, response_data=json.dumps(result), headers={"Content-Type": "application/json"}
    )
