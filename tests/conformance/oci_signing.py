#!/usr/bin/env python3
"""Compare drctl's OCI request signer with Oracle's Python SDK signer, byte for byte.

Generates random requests (every signed method, hosts with and without ports, paths and
query strings with percent-encoded reserved and non-ASCII characters, extra headers, bodies
from 0 B to 1 MiB, Object Storage PutObject, API keys and session tokens), signs each with
`oci.signer.Signer` / `SecurityTokenSigner` using a fixed `date` header, sends the same
requests as JSON lines to drctl's signer, and compares the added headers and the signing
string.  Prints `N/N requests signed identically`; exits 1 on the first mismatch (showing it),
2 when the SDK is missing.

Needs `pip install oci==2.189.0` (see .ci/deps/oci.sh); installs nothing itself.

Usage: python3 tests/conformance/oci_signing.py [--count N] [--seed S] [--signer CMD]
  CMD defaults to `cargo run --quiet --example oci_sign` run from the repository root.
"""
import argparse
import base64
import json
import os
import random
import re
import shlex
import string
import subprocess
import sys
import tempfile
import urllib.parse

try:
    import oci
    from oci._vendor import requests
    from oci.auth.signers import SecurityTokenSigner
    from cryptography.hazmat.primitives import serialization
except ImportError as e:  # pragma: no cover - environment check
    print(f"python package `oci` is not importable ({e}); run .ci/deps/oci.sh", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEY_FILE = os.path.join(ROOT, "tests", "fixtures", "oci", "test_key.pem")
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaconformancetenancy"
USER = "ocid1.user.oc1..aaaaaaaaconformanceuser"
FINGERPRINT = "11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00"

HOSTS = [
    "functions.us-ashburn-1.oci.oraclecloud.com",
    "iaas.us-phoenix-1.oraclecloud.com",
    "identity.eu-frankfurt-1.oci.oraclecloud.com",
    "kms.uk-london-1.oraclecloud.com",
    "service-connector-hub.ap-tokyo-1.oci.oraclecloud.com",
    "iaas.us-langley-1.oraclegovcloud.com",
    "objectstorage.us-ashburn-1.oraclecloud.com",
    "127.0.0.1:8777",
    "localhost:18100",
    "sim.example.test:8443",
    "10.0.0.5:65535",
]
# Characters that must be percent-encoded in a path segment or query value, plus non-ASCII.
AWKWARD = ["/", "?", "#", "&", "=", "+", " ", "%", ":", "@", "é", "東京", "ü", "€", "\"", "'", "<", ">", "{", "}", "|", "^", "`", "[", "]"]
# Sub-delimiters that may appear raw; both sides must send and sign them as they are.
RAW_SAFE = ["!", "$", "(", ")", "*", ",", ";", "~", "-", "_", "."]
METHODS = ["GET", "HEAD", "DELETE", "POST", "PUT", "PATCH"]


def word(rng, n=None):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n or rng.randint(1, 12)))


def awkward_text(rng):
    parts = []
    for _ in range(rng.randint(1, 5)):
        roll = rng.random()
        if roll < 0.4:
            parts.append(word(rng))
        elif roll < 0.8:
            parts.append(rng.choice(AWKWARD))
        else:
            parts.append(rng.choice(RAW_SAFE))
    return "".join(parts)


def encode(text):
    # Encode everything but unreserved characters and the raw-safe sub-delimiters, the
    # canonical form both `requests` and the `url` crate leave untouched.
    return urllib.parse.quote(text, safe="!$()*,;~")


def rand_path(rng):
    segments = [rng.choice(["20160918", "20181201", "20190501", "20200909", "20180608"])]
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.4:
            segments.append(word(rng))
        elif roll < 0.7:
            segments.append("ocid1.fnfunc.oc1.iad." + word(rng, 20))
        else:
            segments.append(encode(awkward_text(rng)))
    path = "/" + "/".join(segments)
    if rng.random() < 0.1:
        path += "/"
    return path


def rand_query(rng):
    if rng.random() < 0.3:
        return ""
    pairs = []
    for _ in range(rng.randint(1, 6)):
        key = rng.choice(["compartmentId", "limit", "page", "displayName", "lifecycleState", "sortBy", "q", "name"])
        roll = rng.random()
        if roll < 0.3:
            value = word(rng)
        elif roll < 0.5:
            value = str(rng.randint(1, 1000))
        elif roll < 0.6:
            value = ""
        else:
            value = encode(awkward_text(rng))
        pairs.append(f"{key}={value}")
    return "?" + "&".join(pairs)


def rand_body(rng):
    roll = rng.random()
    if roll < 0.1:
        return b""
    if roll < 0.45:
        doc = {"displayName": awkward_text(rng), "compartmentId": "ocid1.compartment.oc1.." + word(rng, 20),
               "memoryInMBs": rng.choice([128, 256, 512, 1024]), "config": {word(rng): awkward_text(rng)}}
        return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8")
    if roll < 0.9:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096)))
    # Large bodies up to 1 MiB.
    size = rng.choice([65536, 262144, 1048575, 1048576])
    return rng.randbytes(size)


def extra_headers(rng):
    headers = {"accept": "application/json"}
    if rng.random() < 0.4:
        headers["opc-retry-token"] = word(rng, 32)
    if rng.random() < 0.3:
        headers["if-match"] = word(rng, 16)
    if rng.random() < 0.5:
        headers["opc-request-id"] = word(rng, 32).upper()
    if rng.random() < 0.2:
        headers["x-custom-" + word(rng, 4).lower()] = word(rng, 10)
    if rng.random() < 0.15:
        headers["content-type"] = rng.choice(["application/octet-stream", "text/plain; charset=utf-8", "application/json"])
    return headers


def one(rng, i, signers):
    put_object = rng.random() < 0.08
    if put_object:
        method = "PUT"
        url = ("https://objectstorage.us-ashburn-1.oraclecloud.com/n/" + word(rng) + "/b/" + word(rng)
               + "/o/" + encode(awkward_text(rng)))
    else:
        method = rng.choice(METHODS)
        host = rng.choice(HOSTS)
        scheme = "http" if host.startswith(("127.", "localhost", "10.")) else "https"
        url = f"{scheme}://{host}{rand_path(rng)}{rand_query(rng)}"
    headers = extra_headers(rng)
    headers["date"] = "%s, %02d %s 2026 %02d:%02d:%02d GMT" % (
        rng.choice(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]), rng.randint(1, 28),
        rng.choice(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]),
        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    body = rand_body(rng) if method in ("POST", "PUT", "PATCH") else None
    if body is not None and rng.random() < 0.3:
        # Text bodies take the SDK's str path (it computes content-length itself).
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    auth = "security_token" if rng.random() < 0.25 else "api_key"
    signer, key_id = signers[auth]
    req = requests.Request(method, url, headers=dict(headers), data=body).prepare()
    before = {k.lower(): v for k, v in req.headers.items()}
    if put_object:
        signer(req, enforce_content_headers=False)
    else:
        signer(req)
    after = {k.lower(): v for k, v in req.headers.items()}
    added = {k: after[k] for k in sorted(after) if k not in before or after[k] != before[k]}
    raw = body.encode("utf-8") if isinstance(body, str) else body
    line = {"id": f"r{i:04d}-{method.lower()}", "method": method, "url": req.url, "headers": before,
            "key_id": key_id, "key_file": KEY_FILE, "exclude_body_headers": put_object}
    if raw is not None:
        line["body_base64"] = base64.b64encode(raw).decode("ascii")
    return line, {"headers": added, "signing_string": signing_string(method, req.url, after)}


def signing_string(method, url, headers):
    names = re.search(r'headers="([^"]*)"', headers["authorization"]).group(1).split(" ")
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return "\n".join(f"(request-target): {method.lower()} {target}" if n == "(request-target)"
                     else f"host: {parts.netloc}" if n == "host" else f"{n}: {headers[n]}" for n in names)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=250)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--signer", default="cargo run --quiet --example oci_sign")
    args = ap.parse_args()

    pem = open(KEY_FILE, "rb").read()
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25mb3JtYW5jZSJ9.c2ln"
    signers = {
        "api_key": (oci.signer.Signer(TENANCY, USER, FINGERPRINT, None, private_key_content=pem.decode()),
                    f"{TENANCY}/{USER}/{FINGERPRINT}"),
        "security_token": (SecurityTokenSigner(token, serialization.load_pem_private_key(pem, None)), f"ST${token}"),
    }
    rng = random.Random(args.seed)
    cases = [one(rng, i, signers) for i in range(args.count)]

    with tempfile.TemporaryFile("w+b") as stdin:
        for line, _ in cases:
            stdin.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        stdin.seek(0)
        proc = subprocess.run(shlex.split(args.signer), stdin=stdin, stdout=subprocess.PIPE, cwd=ROOT)
    if proc.returncode != 0:
        print(f"signer `{args.signer}` exited with {proc.returncode}", file=sys.stderr)
        return 1
    results = [json.loads(l) for l in proc.stdout.decode("utf-8").splitlines() if l.strip()]
    if len(results) != len(cases):
        print(f"signer returned {len(results)} results for {len(cases)} requests", file=sys.stderr)
        return 1

    same = 0
    for (line, expected), got in zip(cases, results):
        if "error" in got:
            print(f"MISMATCH {line['id']} {line['method']} {line['url']}: drctl error: {got['error']}")
            return 1
        if got["signing_string"] != expected["signing_string"]:
            a, b = expected["signing_string"], got["signing_string"]
            at = first_difference(a, b)
            print(f"MISMATCH {line['id']} {line['method']} {line['url']}: signing string differs at byte {at}")
            print(f"  sdk:   {a[max(0, at - 40):at + 60]!r}")
            print(f"  drctl: {b[max(0, at - 40):at + 60]!r}")
            return 1
        if got["headers"] != expected["headers"]:
            print(f"MISMATCH {line['id']} {line['method']} {line['url']}: added headers differ")
            for name in sorted(set(got["headers"]) | set(expected["headers"])):
                sdk, ours = expected["headers"].get(name), got["headers"].get(name)
                if sdk != ours:
                    print(f"  {name}:\n    sdk:   {sdk!r}\n    drctl: {ours!r}")
            return 1
        same += 1
    print(f"{same}/{len(cases)} requests signed identically")
    return 0


if __name__ == "__main__":
    sys.exit(main())
