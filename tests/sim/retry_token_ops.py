#!/usr/bin/env python3
"""Prints the operations that take `opc-retry-token`, read from Oracle's Python SDK.

Each line is `METHOD /version/path`, with `{}` for a path parameter, for the services the
simulator serves. `drctl sim` honours a retry token only on these operations, as OCI does;
on any other it ignores the header. The list is src/sim/retry_token_operations.txt:

    python3 tests/sim/retry_token_ops.py > src/sim/retry_token_operations.txt

`sdk_smoke.py` checks that the file is current for the SDK CI installs.
"""
import glob
import os
import re

import oci

SERVICES = ["apigateway", "artifacts", "core", "events", "functions", "identity", "key_management", "limits",
            "logging", "monitoring", "object_storage", "ons", "resource_scheduler", "sch", "secrets", "vault"]


def operations():
    root = os.path.dirname(oci.__file__)
    found = set()
    for service in SERVICES:
        for path in glob.glob(os.path.join(root, service, "*_client.py")):
            source = open(path).read()
            base = re.search(r"'base_path': '([^']*)'", source)
            base = base.group(1) if base else ""
            for method in re.finditer(r"\n    def (\w+)\(self.*?(?=\n    def |\Z)", source, re.S):
                body = method.group(0)
                resource = re.search(r'resource_path = "([^"]+)"', body)
                verb = re.search(r'method = "(\w+)"', body)
                if resource and verb and verb.group(1) in ("POST", "PUT") and "opc_retry_token" in body:
                    template = re.sub(r"\{[^}]+\}", "{}", base + resource.group(1))
                    found.add(f"{verb.group(1)} {re.sub('/+', '/', template)}")
    return sorted(found)


if __name__ == "__main__":
    print(f"# Operations that take opc-retry-token, from oci {oci.__version__} (tests/sim/retry_token_ops.py)")
    for line in operations():
        print(line)
