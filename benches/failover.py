#!/usr/bin/env python3
"""Fails a generated OCI Functions workload over between two regions of `drctl sim` and
compares the makespan with the critical path of the runbook's task graph.

What it does, per run:
  1. generates (in a temp dir) an inventory of N functions behind M applications with the
     surrounding resources a real workload has: a VCN with a service gateway, route table,
     security list, NSG and two subnets; a dynamic group and policy; a vault, key and one
     secret per application; a log group and one invoke log per application; one container
     repository per function; an API gateway with one deployment routing to every fifth
     function; Events rules, schedules and a connector for a few functions; one alarm per
     application. Every function gets its own `functions/<name>/` directory (func.py and
     func.yaml with distinct content), so each one seeds a distinct image;
  2. starts `drctl sim` as its own process, seeded with that inventory in us-ashburn-1, with
     `--latency` and a faults file giving us-phoenix-1 per-operation latencies (see LATENCIES);
  3. runs `runbooks/oci-functions-failover.yaml` from us-ashburn-1 to us-phoenix-1 (`--yes`);
  4. reads `drctl report RUN --format json` and the task edges of `drctl graph`, and computes
       makespan       first instance start to last instance end;
       critical path  the longest path through the task graph, each task weighted by its
                      slowest instance (a task activates when every instance of every task it
                      depends on has ended: src/engine/scheduler.rs, `remaining`/`activate`);
     and prints their ratio, the phases, and the gaps on the critical path (a dependent's
     first start minus the end of the dependency that released it: the scheduler's own delay).

Two cases:
  (a) the runbook as shipped: concurrency groups core 4 / registry 4 / functions 8 and
      parallelism 16. These caps queue instances, so the makespan legitimately exceeds the
      unconstrained critical path; the ratio shows what the caps cost.
  (b) a generated copy with the groups at 256 and `--parallelism 256`: nothing queues, so the
      ratio isolates drctl's scheduling overhead. The 1.1x target is judged on (b).

Usage: python3 benches/failover.py [--functions 50 --apps 5 --runs 3 --scale 0.25]
                                   [--drctl target/release/drctl] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNBOOK = os.path.join(REPO, "runbooks", "oci-functions-failover.yaml")
SOURCE, DEST = "us-ashburn-1", "us-phoenix-1"
COMPARTMENT = "ocid1.compartment.oc1..benchfailover"
NAMESPACE = "drctlsim"

# Per-operation latencies at scale 1, in seconds: (op pattern, low, high). These are
# assumptions, not measurements of OCI: typical times seen from OCI's consoles and SDK waiters
# for a create to be usable (VCN resources settle in a second or two, a Functions application
# in a few seconds, a function in several, a KMS vault and an API gateway in the better part of
# a minute or more, a deployment in tens of seconds), and 50-200 ms for reads. Oracle
# publishes no latency figures for these operations. The simulator's uniform `--latency`
# (the CREATING->ACTIVE step and work requests, which drctl polls for) takes ASYNC_TAIL of
# each; the rest is the create call's own latency. First matching rule wins.
ASYNC_TAIL = 1.0
LATENCIES = [
    ("POST /20160918/vcns", 1.0, 3.0),
    ("POST /20160918/subnets", 1.0, 3.0),
    ("POST /20160918/serviceGateways", 2.0, 4.0),
    ("POST /20160918/routeTables", 1.0, 2.0),
    ("POST /20160918/securityLists", 1.0, 2.0),
    ("POST /20160918/networkSecurityGroups*", 1.0, 2.0),
    ("POST /20160918/container/repositories", 0.3, 1.0),
    ("POST /20180608/vaults", 30.0, 60.0),
    ("POST /20180608/keys", 5.0, 10.0),
    ("POST /20180608/secrets", 2.0, 5.0),
    ("POST /20200531/logGroups", 1.0, 3.0),
    ("POST /20200531/logGroups/*/logs", 2.0, 5.0),
    ("POST /20180401/alarms", 0.5, 2.0),
    ("POST /20181201/applications", 2.0, 5.0),
    ("POST /20181201/functions", 3.0, 8.0),
    ("POST /20181201/functions/*/actions/invoke", 0.2, 1.0),
    ("POST /20190501/gateways", 30.0, 60.0),
    ("POST /20190501/deployments", 10.0, 30.0),
    ("POST /20181201/rules", 0.5, 2.0),
    ("POST /20200909/serviceConnectors", 5.0, 15.0),
    ("POST /20240430/schedules", 0.5, 2.0),
    # Registry: blob and manifest uploads of small images within a region pair.
    ("PUT /v2/*", 0.2, 0.6),
    ("POST /v2/*", 0.1, 0.3),
    ("GET *", 0.05, 0.2),
    ("HEAD *", 0.05, 0.2),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ workload generation

def ref(kind, key):
    return "@{%s:%s}" % (kind, key)


def gen_inventory(n_fn, n_app):
    apps = [f"app{a:02d}" for a in range(n_app)]
    fns = []  # (app, name)
    for i in range(n_fn):
        app = apps[i % n_app]
        fns.append((app, f"{app}-fn{i:03d}"))
    inv = {
        "version": 1,
        "source": {"region": SOURCE, "compartment_id": COMPARTMENT, "namespace": NAMESPACE},
        "captured_at": "2026-11-25T20:00:00Z",
        "vcns": [{"key": "wl-vcn", "spec": {"displayName": "wl-vcn", "cidrBlocks": ["10.20.0.0/16"], "dnsLabel": "wl"}}],
        "service_gateways": [{"key": "wl-sgw", "spec": {"displayName": "wl-sgw", "services": "all", "vcnId": ref("vcn", "wl-vcn")}}],
        "route_tables": [{"key": "wl-rt", "spec": {
            "displayName": "wl-rt", "vcnId": ref("vcn", "wl-vcn"),
            "routeRules": [{"destination": "all-iad-services-in-oracle-services-network",
                            "destinationType": "SERVICE_CIDR_BLOCK", "networkEntityId": ref("service_gateway", "wl-sgw")}]}}],
        "security_lists": [{"key": "wl-sl", "spec": {
            "displayName": "wl-sl", "vcnId": ref("vcn", "wl-vcn"),
            "egressSecurityRules": [{"destination": "all-iad-services-in-oracle-services-network",
                                     "destinationType": "SERVICE_CIDR_BLOCK", "protocol": "6",
                                     "tcpOptions": {"destinationPortRange": {"min": 443, "max": 443}}}],
            "ingressSecurityRules": [{"source": "10.20.0.0/16", "protocol": "6",
                                      "tcpOptions": {"destinationPortRange": {"min": 443, "max": 443}}}]}}],
        "nsgs": [{"key": "wl-nsg", "rules": [{"direction": "INGRESS", "protocol": "6", "source": "10.20.0.0/16",
                                              "sourceType": "CIDR_BLOCK",
                                              "tcpOptions": {"destinationPortRange": {"min": 443, "max": 443}}}],
                  "spec": {"displayName": "wl-nsg", "vcnId": ref("vcn", "wl-vcn")}}],
        "subnets": [
            {"key": name, "spec": {"displayName": name, "cidrBlock": cidr, "dnsLabel": label,
                                   "prohibitPublicIpOnVnic": True, "routeTableId": ref("route_table", "wl-rt"),
                                   "securityListIds": [ref("security_list", "wl-sl")], "vcnId": ref("vcn", "wl-vcn")}}
            for name, cidr, label in [("wl-fn-subnet", "10.20.1.0/24", "fn"), ("wl-gw-subnet", "10.20.2.0/24", "gw")]
        ],
        "dynamic_groups": [{"key": "wl-fn-dg", "spec": {
            "name": "wl-fn-dg", "description": "functions of the workload",
            "matchingRule": f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{COMPARTMENT}'}}"}}],
        "policies": [{"key": "wl-fn-policy", "spec": {
            "name": "wl-fn-policy", "description": "what the functions may use",
            "statements": [f"Allow dynamic-group wl-fn-dg to read secret-family in compartment id {COMPARTMENT}"]}}],
        "vaults": [{"key": "wl-vault", "spec": {"displayName": "wl-vault", "vaultType": "DEFAULT"}}],
        "keys": [{"key": "wl-key", "vault": "wl-vault", "spec": {
            "displayName": "wl-key", "keyShape": {"algorithm": "AES", "length": 32}, "vaultId": ref("vault", "wl-vault")}}],
        "secrets": [{"key": f"{a}-db", "vault": "wl-vault", "spec": {
            "secretName": f"{a}-db", "description": f"database password of {a}",
            "vaultId": ref("vault", "wl-vault"), "keyId": ref("key", "wl-key")}} for a in apps],
        "log_groups": [{"key": "wl-logs", "spec": {"displayName": "wl-logs", "description": "workload logs"}}],
        "logs": [{"key": f"{a}-invoke", "spec": {
            "displayName": f"{a}-invoke", "logGroupId": ref("log_group", "wl-logs"), "logType": "SERVICE",
            "retentionDuration": 30,
            "configuration": {"source": {"category": "invoke", "resource": ref("application", a),
                                         "service": "functions", "sourceType": "OCISERVICE"}}}} for a in apps],
        "repositories": [{"key": f"{a}/{f}", "spec": {"displayName": f"{a}/{f}"}} for a, f in fns],
        "applications": [{"key": a, "spec": {
            "displayName": a, "config": {"APP": a}, "subnetIds": [ref("subnet", "wl-fn-subnet")],
            "networkSecurityGroupIds": [ref("nsg", "wl-nsg")]}} for a in apps],
        "functions": [{"key": f"{a}/{f}", "application": a,
                       "image": {"repository": f"{NAMESPACE}/{a}/{f}", "tag": "1.0.0"},
                       "spec": {"displayName": f, "applicationId": ref("application", a),
                                "image": f"iad.ocir.io/{NAMESPACE}/{a}/{f}:1.0.0",
                                "memoryInMBs": 128 + 128 * (i % 3), "timeoutInSeconds": 30,
                                "config": {"DB_SECRET_ID": ref("secret", f"{a}-db"), "INDEX": str(i)}}}
                      for i, (a, f) in enumerate(fns)],
    }
    routed = fns[::5]
    inv["gateways"] = [{"key": "wl-gw", "spec": {
        "displayName": "wl-gw", "endpointType": "PRIVATE", "subnetId": ref("subnet", "wl-gw-subnet"),
        "networkSecurityGroupIds": [ref("nsg", "wl-nsg")]}}]
    inv["deployments"] = [{"key": "wl-api", "spec": {
        "displayName": "wl-api", "gatewayId": ref("gateway", "wl-gw"), "pathPrefix": "/v1",
        "specification": {"routes": [
            {"path": f"/{f}", "methods": ["POST"],
             "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": ref("function", f"{a}/{f}")}}
            for a, f in routed]}}}]
    few = fns[1::max(1, n_fn // 5)][:5]
    inv["events_rules"] = [{"key": f"{f}-on-upload", "spec": {
        "displayName": f"{f}-on-upload", "description": f"uploads to {f}-inbox", "isEnabled": True,
        "condition": json.dumps({"eventType": ["com.oraclecloud.objectstorage.createobject"],
                                 "data": {"additionalDetails": {"bucketName": [f"{f}-inbox"]}}}),
        "actions": {"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": ref("function", f"{a}/{f}")}]}}}
        for a, f in few]
    inv["schedules"] = [{"key": f"{f}-nightly", "spec": {
        "displayName": f"{f}-nightly", "action": "START_RESOURCE", "recurrenceType": "ICAL",
        "recurrenceDetails": "FREQ=DAILY;BYHOUR=3;BYMINUTE=0",
        "resources": [{"id": ref("function", f"{a}/{f}")}]}} for a, f in few[:3]]
    a0, f0 = fns[0]
    inv["connectors"] = [{"key": "wl-logs-to-fn", "spec": {
        "displayName": "wl-logs-to-fn", "description": "invoke logs to a function",
        "source": {"kind": "logging", "logSources": [{"compartmentId": COMPARTMENT, "logGroupId": ref("log_group", "wl-logs"),
                                                      "logId": ref("log", f"{a0}-invoke")}]},
        "target": {"kind": "functions", "functionId": ref("function", f"{a0}/{f0}")}}}]
    first_of = {}
    for a, f in fns:
        first_of.setdefault(a, f)
    inv["alarms"] = [{"key": f"{a}-errors", "spec": {
        "displayName": f"{a}-errors", "body": f"{first_of[a]} answered with errors", "isEnabled": True,
        "destinations": ["ocid1.onstopic.oc1.iad.benchalerts"], "metricCompartmentId": COMPARTMENT,
        "namespace": "oci_faas", "severity": "CRITICAL", "pendingDuration": "PT5M",
        "query": 'FunctionResponseCount[1m]{resourceId = "%s", responseType = "Error"}.sum() > 0'
                 % ref("function", f"{a}/{first_of[a]}")}} for a in apps if a in first_of]
    for name in list(inv):
        if isinstance(inv[name], list):
            inv[name].sort(key=lambda item: item["key"])
    return inv, fns


def write_functions(base, fns):
    for i, (app, name) in enumerate(fns):
        d = os.path.join(base, "functions", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "func.py"), "w") as f:
            f.write(f'"""{name}: generated benchmark function {i} of {app}."""\n\nimport io\nimport json\n\n'
                    f"from fdk import response\n\n\ndef handler(ctx, data: io.BytesIO = None):\n"
                    f'    return response.Response(ctx, response_data=json.dumps({{"function": "{name}", "index": {i}}}))\n')
        with open(os.path.join(d, "func.yaml"), "w") as f:
            f.write(f"schema_version: 20180708\nname: {name}\nversion: 1.0.0\nruntime: python\n"
                    f"entrypoint: /python/bin/fdk /function/func.py handler\nmemory: 128\ntimeout: 30\n")


def write_json_as_yaml(path, value):
    # JSON is YAML 1.2; drctl's loader reads it as such.
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)


def faults_file(path, scale, tail):
    lines = [f"{DEST}:", "  latency:"]
    for op, lo, hi in LATENCIES:
        if op.startswith("POST /20") and not op.endswith("invoke"):
            lo, hi = max(0.0, lo - tail), max(0.0, hi - tail)
        lines.append(f'    - op: "{op}"')
        lines.append(f"      delay: {int(lo * scale * 1000)}ms..{int(hi * scale * 1000)}ms")
    # Reads of the source region (the inventory capture and image pulls) also take time.
    lines += [f"{SOURCE}:", "  latency:"]
    for op in ("GET *", "HEAD *"):
        lines.append(f'    - op: "{op}"')
        lines.append(f"      delay: {int(0.05 * scale * 1000)}ms..{int(0.2 * scale * 1000)}ms")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def uncapped_runbook(path):
    text = open(RUNBOOK).read()
    text, n = re.subn(r"^concurrency: \{[^}]*\}", "concurrency: { core: 256, registry: 256, functions: 256 }",
                      text, flags=re.M)
    text, m = re.subn(r"^(  parallelism:) \d+", r"\1 256", text, flags=re.M)
    if n != 1 or m != 1:
        sys.exit("could not lift the caps of the runbook (its concurrency/parallelism lines changed)")
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------------ running

def build(drctl):
    if drctl != os.path.join(REPO, "target", "release", "drctl"):
        return
    env = dict(os.environ, CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "1"))
    log("cargo build --release ...")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, env=env, check=True)


class Sim:
    def __init__(self, drctl, work, seed, faults, latency):
        self.dir = os.path.join(work, "sim")
        subprocess.run([drctl, "sim", "init", self.dir], check=True, stdout=subprocess.DEVNULL)
        endpoints = os.path.join(self.dir, "endpoints.json")
        self.log = open(os.path.join(work, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [drctl, "sim", "--dir", self.dir, "--seed", seed, "--faults", faults, "--latency", latency,
             "--region", SOURCE, "--region", DEST, "-q"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while not os.path.exists(endpoints):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit(f"simulator did not start; see {self.log.name}:\n" + open(self.log.name).read()[-3000:])
            time.sleep(0.1)
        self.args = ["--config-file", os.path.join(self.dir, "config"), "--endpoints", endpoints]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def run_failover(drctl, work, runbook, params, sim, parallelism):
    state = os.path.join(work, "state")
    cmd = [drctl, "run", runbook, "--params-file", params, "--yes", "--state-dir", state,
           "--progress", "plain", "-q"] + sim.args
    if parallelism:
        cmd += ["--parallelism", str(parallelism)]
    t0 = time.time()
    p = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.time() - t0
    runs = sorted(os.listdir(os.path.join(state, "runs")))
    if not runs:
        sys.exit("drctl run made no run directory:\n" + p.stdout[-3000:])
    run_id = runs[-1]
    rep = subprocess.run([drctl, "report", run_id, "--format", "json", "--state-dir", state],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    report = json.loads(rep.stdout)
    if p.returncode != 0:
        failures = [(i["id"], i.get("error")) for ph in report["phases"] for i in ph["instances"]
                    if i["state"] not in ("succeeded", "skipped")]
        sys.exit(f"drctl run failed (exit {p.returncode}):\n{p.stdout[-2000:]}\nfailed: {failures[:10]}")
    return report, wall


def task_edges(drctl, runbook):
    """(task, dependency) pairs from `drctl graph --format dot`."""
    out = subprocess.run([drctl, "graph", runbook, "--format", "dot"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, check=True).stdout
    edges = []
    for a, b in re.findall(r'"([^"]+)"\s*->\s*"([^"]+)"', out):
        edges.append((b, a))  # dot draws dependency -> dependent
    if not edges:
        sys.exit("no edges in drctl graph's output:\n" + out[:2000])
    return edges


# ------------------------------------------------------------------ analysis

def analyse(report, edges):
    tasks = {}
    for ph in report["phases"]:
        for inst in ph["instances"]:
            if inst["start"] is None or inst["end"] is None:
                continue
            t = tasks.setdefault(inst["task"], {"starts": [], "ends": [], "durs": [], "retries": 0, "phase": ph["name"]})
            t["starts"].append(inst["start"])
            t["ends"].append(inst["end"])
            t["durs"].append(inst["end"] - inst["start"])
            t["retries"] += inst["retries"]
    first = min(min(t["starts"]) for t in tasks.values())
    last = max(max(t["ends"]) for t in tasks.values())
    makespan = last - first
    deps = {}
    for task, dep in edges:
        deps.setdefault(task, set()).add(dep)
    weight = {k: max(t["durs"]) for k, t in tasks.items()}
    # Longest path, weights on nodes; memoised over the DAG.
    memo = {}

    def longest(k):
        if k not in memo:
            best, via = 0, None
            for d in deps.get(k, ()):
                if longest(d)[0] > best:
                    best, via = longest(d)[0], d
            memo[k] = (best + weight.get(k, 0), via)
        return memo[k]

    end_task = max(tasks, key=lambda k: longest(k)[0])
    cp = longest(end_task)[0]
    path = []
    k = end_task
    while k is not None:
        path.append(k)
        k = longest(k)[1]
    path.reverse()
    # Gap on each critical edge: the dependent's first start minus the moment its last
    # dependency (any, not only the critical one) ended, i.e. the scheduler's own delay.
    gaps = []
    for k in path:
        ds = [d for d in deps.get(k, ()) if d in tasks]
        if k not in tasks or not ds:
            continue
        released = max(max(tasks[d]["ends"]) for d in ds)
        gaps.append((k, min(tasks[k]["starts"]) - released))
    phases = [(ph["name"], ph.get("wall_ms")) for ph in report["phases"]]
    retries = sum(t["retries"] for t in tasks.values())
    # Time an instance queued behind caps: its start minus its task's first start.
    queued = max((max(t["starts"]) - min(t["starts"]) for t in tasks.values()), default=0)
    return {"makespan": makespan, "cp": cp, "ratio": makespan / cp if cp else float("nan"), "path": path,
            "weights": {k: weight.get(k, 0) for k in path}, "gaps": gaps, "phases": phases, "retries": retries,
            "queued": queued, "instances": sum(len(t["durs"]) for t in tasks.values())}


def print_result(label, r, wall):
    print(f"  {label}: makespan {r['makespan'] / 1000:.2f} s, critical path {r['cp'] / 1000:.2f} s, "
          f"ratio {r['ratio']:.3f}  ({r['instances']} instances, {r['retries']} retries, process {wall:.1f} s)")
    print("    phases: " + ", ".join(f"{n} {w / 1000:.2f}s" for n, w in r["phases"] if w is not None))
    print("    critical path: " + " -> ".join(f"{k} {r['weights'][k] / 1000:.2f}s" for k in r["path"]))
    print("    scheduler gaps on it: " + ", ".join(f"{k} {g} ms" for k, g in r["gaps"])
          + f" (sum {sum(g for _, g in r['gaps'])} ms); longest queueing inside one task {r['queued'] / 1000:.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", type=int, default=50)
    ap.add_argument("--apps", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.25,
                    help="factor applied to every latency (1 = the assumed OCI figures)")
    ap.add_argument("--async-tail", type=float, default=ASYNC_TAIL,
                    help="seconds (at scale 1) of each create spent after the call answered, "
                         "which drctl polls for (the simulator's uniform --latency)")
    ap.add_argument("--drctl", default=os.path.join(REPO, "target", "release", "drctl"))
    ap.add_argument("--cases", default="a,b", help="a (as shipped), b (caps lifted) or both")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    args = ap.parse_args()
    build(args.drctl)
    drctl = os.path.abspath(args.drctl)

    root = tempfile.mkdtemp(prefix="drctl-failover-bench-")
    inv, fns = gen_inventory(args.functions, args.apps)
    inv_path = os.path.join(root, "inventory.yaml")
    write_json_as_yaml(inv_path, inv)
    write_functions(root, fns)
    params = os.path.join(root, "params.yaml")
    write_json_as_yaml(params, {
        "source_region": SOURCE, "dest_region": DEST, "compartment_id": COMPARTMENT, "inventory_file": inv_path,
        "secret_values": {s["key"]: f"bench-{s['key']}" for s in inv["secrets"]},
    })
    faults = os.path.join(root, "faults.yaml")
    faults_file(faults, args.scale, args.async_tail)
    latency = f"{int(args.async_tail * args.scale * 1000)}ms"
    uncapped = os.path.join(root, "failover-uncapped.yaml")
    uncapped_runbook(uncapped)
    cases = {"a": ("(a) as shipped", RUNBOOK, None), "b": ("(b) caps lifted", uncapped, 256)}
    edges = task_edges(drctl, RUNBOOK)

    print(f"failover of {args.functions} functions behind {args.apps} applications, {SOURCE} -> {DEST}; "
          f"latency scale {args.scale}, async tail {args.async_tail} s (sim --latency {latency}); "
          f"drctl {drctl}")
    summary = {}
    try:
        for run in range(args.runs):
            for c in args.cases.split(","):
                label, runbook, par = cases[c]
                work = os.path.join(root, f"run{run}-{c}")
                os.makedirs(work)
                sim = Sim(drctl, work, inv_path, faults, latency)
                try:
                    report, wall = run_failover(drctl, work, runbook, params, sim, par)
                finally:
                    sim.stop()
                r = analyse(report, edges)
                print(f"run {run + 1}/{args.runs}")
                print_result(label, r, wall)
                summary.setdefault(c, []).append(r)
        print("summary (median over runs):")
        for c, rs in summary.items():
            print(f"  {cases[c][0]}: ratio {statistics.median(r['ratio'] for r in rs):.3f} "
                  f"(min {min(r['ratio'] for r in rs):.3f}, max {max(r['ratio'] for r in rs):.3f}), "
                  f"makespan {statistics.median(r['makespan'] for r in rs) / 1000:.2f} s, "
                  f"critical path {statistics.median(r['cp'] for r in rs) / 1000:.2f} s")
        if "b" in summary:
            ok = statistics.median(r["ratio"] for r in summary["b"]) <= 1.1
            print(f"target: (b) makespan within 1.1x the critical path: {'met' if ok else 'MISSED'}")
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
