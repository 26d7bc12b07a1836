#!/usr/bin/env python3
"""Writes schemas/oci-models.json: the fields of the polymorphic objects nested in some
resource bodies (an API deployment's specification, a connector's source, tasks and target, a
gateway's cache and CA bundles, a schedule's resources), read from the models of Oracle's
Python SDK, the version CI installs.

drctl checks these bodies against the file: a field close to a known one is a misspelling,
a value of the wrong type is refused before the run. Where a model is polymorphic (a backend's
`type`, a source's `kind`), the value of its discriminator picks the variant.

Usage: python3 schemas/oci_models.py > schemas/oci-models.json
A test compares the checked-in file with this script's output when the SDK is installed.
"""
import importlib
import inspect
import json
import re
import sys

import oci

# Where each checked body starts: resource kind -> top-level field -> SDK type.
ROOTS = {
    "oci.apigateway.deployment": ("apigateway", {"specification": "ApiSpecification"}),
    "oci.apigateway.gateway": (
        "apigateway",
        {
            "responseCacheDetails": "ResponseCacheDetails",
            "caBundles": "list[CaBundle]",
            "ipv4AddressConfiguration": "Ipv4AddressConfiguration",
            "ipv6AddressConfiguration": "Ipv6AddressConfiguration",
        },
    ),
    "oci.sch.connector": (
        "sch",
        {"source": "SourceDetails", "tasks": "list[TaskDetails]", "target": "TargetDetails"},
    ),
    "oci.scheduler.schedule": (
        "resource_scheduler",
        {"resources": "list[Resource]", "resourceFilters": "list[ResourceFilter]"},
    ),
}

SCALARS = {"str", "int", "float", "bool", "datetime", "date", "object"}
CONTAINER = re.compile(r"^(list)\[(.*)\]$|^(dict)\(str, (.*)\)$")


def model_names(sdk_type):
    """The model names a SDK type string refers to."""
    m = CONTAINER.match(sdk_type)
    if m:
        return model_names(m.group(2) or m.group(4))
    return [] if sdk_type in SCALARS else [sdk_type]


def subtypes(cls):
    """The discriminator field (as sent) and its values' models, read from `get_subtype`."""
    if "get_subtype" not in cls.__dict__:
        return None
    source = inspect.getsource(cls.get_subtype)
    key = re.search(r"object_dictionary\['(\w+)'\]", source)
    pairs = re.findall(r"if type == '([^']+)':\s*return '(\w+)'", source)
    if not key or not pairs:
        return None
    return key.group(1), dict(sorted(pairs))


def without_response(module, sdk_type):
    """A type of a `...Response` model, named by the model sent in requests where there is one."""

    def plain(m):
        name = m.group(0)
        return name[: -len("Response")] if hasattr(module, name[: -len("Response")]) else name

    return re.sub(r"\b\w+Response\b", plain, sdk_type)


def fields(module, name):
    """A model's fields, as sent, with their SDK types. What OCI answers (its `...Response`
    twin, which an inventory captured from OCI holds) adds its own fields."""
    out = {}
    for candidate in (name, name + "Response"):
        cls = getattr(module, candidate, None)
        if cls is None:
            continue
        obj = cls()
        for attr, sdk_type in obj.swagger_types.items():
            out.setdefault(obj.attribute_map[attr], without_response(module, sdk_type))
    return dict(sorted(out.items()))


def collect(module, start, models):
    todo = list(model_names(start))
    while todo:
        name = todo.pop()
        if name in models:
            continue
        cls = getattr(module, name)
        entry = {"fields": fields(module, name)}
        found = subtypes(cls)
        if found:
            entry["discriminator"] = found[0]
            entry["variants"] = found[1]
            todo.extend(found[1].values())
        models[name] = entry
        for sdk_type in entry["fields"].values():
            todo.extend(model_names(sdk_type))


def main():
    out = {"sdk": f"oci {oci.__version__}", "roots": {}, "models": {}}
    for action, (service, tops) in sorted(ROOTS.items()):
        module = importlib.import_module(f"oci.{service}.models")
        models = out["models"].setdefault(service, {})
        out["roots"][action] = {"service": service, "fields": dict(sorted(tops.items()))}
        for sdk_type in tops.values():
            collect(module, sdk_type, models)
    out["models"] = {s: dict(sorted(m.items())) for s, m in sorted(out["models"].items())}
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
