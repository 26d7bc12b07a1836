"""Image copy benchmark (driven by benches/image_copy.sh).

Builds a ~200 MiB image of five random gzip layers, pushes it to registry 1, then times
`drctl image copy` against `skopeo copy` (alternating A B A B) for:
  fresh  - the destination registry starts empty (new storage directory every run)
  noop   - the destination already holds the image
and reports medians, MiB/s, ratios drctl/skopeo and peak RSS (/usr/bin/time).
A single-layer 200 MiB image checks that drctl's memory does not grow with layer size,
and drctl's upload modes and parallelism are compared on the fresh case.
"""

import gzip
import hashlib
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REGISTRY = "/usr/bin/docker-registry"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
DRCTL = shlex.split(os.environ["DRCTL_COPY"])
MiB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.proc = None

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        cfg = os.path.join(self.root, "config.yml")
        with open(cfg, "w") as f:
            f.write(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.root}/data\n"
                f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: bench\n"
            )
        self.proc = subprocess.Popen([REGISTRY, "serve", cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("registry did not start")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart_empty(self):
        self.stop()
        self.start()

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req)


def push_blob(host, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = http("POST", f"http://{host}/v2/{repo}/blobs/uploads/").headers["Location"]
    if loc.startswith("/"):
        loc = f"http://{host}{loc}"
    sep = "&" if "?" in loc else "?"
    http("PUT", f"{loc}{sep}digest={digest}", data=data,
         headers={"Content-Type": "application/octet-stream"})
    return digest, len(data)


def push_image(host, repo, tag, layer_sizes, seed):
    layers = []
    for i, size in enumerate(layer_sizes):
        raw = hashlib.sha256(f"{seed}-{i}".encode()).digest() + os.urandom(size)
        layers.append(push_blob(host, repo, gzip.compress(raw, compresslevel=1)))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]}}).encode()
    cfg = push_blob(host, repo, config)
    mt = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": cfg[0], "size": cfg[1]},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": d, "size": s} for d, s in layers],
    }, indent=3).encode()
    http("PUT", f"http://{host}/v2/{repo}/manifests/{tag}", data=manifest,
         headers={"Content-Type": mt})
    total = sum(s for _, s in layers) + cfg[1]
    return "sha256:" + hashlib.sha256(manifest).hexdigest(), total


def manifest_digest(host, repo, tag):
    r = http("HEAD", f"http://{host}/v2/{repo}/manifests/{tag}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    return r.headers["Docker-Content-Digest"]


def timed(cmd):
    """Wall seconds (perf_counter around the whole process) and peak RSS in MiB."""
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-o", rss.name, "-f", "%M"] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-2000:]}")
        kib = int(rss.read().strip().splitlines()[-1])
    return wall, kib / 1024


def drctl(src, dst, *extra):
    return DRCTL + ["--plain-http", *extra, src, dst]


def skopeo(src, dst):
    return ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{src}", f"docker://{dst}"]


def summary(name, samples, nbytes=None):
    walls = [w for w, _ in samples]
    med = statistics.median(walls)
    rss = max(r for _, r in samples)
    rate = f"{nbytes / MiB / med:7.0f} MiB/s" if nbytes else "           -"
    print(f"  {name:<34} wall median {med:7.3f} s (min {min(walls):.3f}, max {max(walls):.3f})"
          f"  {rate}  peak RSS {rss:6.1f} MiB")
    return med, rss


def main():
    work = tempfile.mkdtemp(prefix="imgcopy-bench-")
    r1, r2 = Registry(os.path.join(work, "r1")), Registry(os.path.join(work, "r2"))
    try:
        r1.start()
        r2.start()
        print(f"building images in registry 1 ({RUNS} runs per case)...", flush=True)
        digest, total = push_image(r1.host, "bench/app", "v1", [40 * MiB] * 5, 1)
        big_digest, big_total = push_image(r1.host, "bench/big", "v1", [200 * MiB], 2)
        src = f"{r1.host}/bench/app:v1"
        print(f"image: {total} B ({total / MiB:.1f} MiB), 5 layers, {digest}")

        fresh = {"drctl": [], "skopeo": []}
        for i in range(RUNS):
            for tool in (("drctl", "skopeo") if i % 2 == 0 else ("skopeo", "drctl")):
                r2.restart_empty()
                dst = f"{r2.host}/dr/app:v1"
                cmd = drctl(src, dst) if tool == "drctl" else skopeo(src, dst)
                fresh[tool].append(timed(cmd))
                got = manifest_digest(r2.host, "dr/app", "v1")
                assert got == digest, f"{tool}: destination digest {got} != {digest}"

        r2.restart_empty()
        subprocess.run(drctl(src, f"{r2.host}/dr/app:v1"), check=True, stdout=subprocess.DEVNULL)
        noop = {"drctl": [], "skopeo": []}
        for i in range(RUNS):
            for tool in (("drctl", "skopeo") if i % 2 == 0 else ("skopeo", "drctl")):
                dst = f"{r2.host}/dr/app:v1"
                cmd = drctl(src, dst) if tool == "drctl" else skopeo(src, dst)
                noop[tool].append(timed(cmd))

        variants = {}
        for label, extra in (("drctl --upload-mode chunked", ["--upload-mode", "chunked"]),
                             ("drctl -j 1", ["-j", "1"]), ("drctl -j 4", ["-j", "4"]),
                             ("drctl -j 8", ["-j", "8"])):
            variants[label] = []
            for _ in range(max(3, RUNS // 2)):
                r2.restart_empty()
                variants[label].append(timed(drctl(src, f"{r2.host}/dr/app:v1", *extra)))
        big = []
        for _ in range(3):
            r2.restart_empty()
            big.append(timed(drctl(f"{r1.host}/bench/big:v1", f"{r2.host}/dr/big:v1")))
            assert manifest_digest(r2.host, "dr/big", "v1") == big_digest

        print("\nfresh destination (every blob uploaded):")
        d_med, d_rss = summary("drctl image copy", fresh["drctl"], total)
        s_med, s_rss = summary("skopeo copy", fresh["skopeo"], total)
        print(f"  ratio drctl/skopeo: throughput {s_med / d_med:.2f}x, wall {d_med / s_med:.2f}x,"
              f" peak RSS {d_rss / s_rss:.2f}x")
        print("\ndestination already has the image (no-op):")
        dn, dn_rss = summary("drctl image copy", noop["drctl"])
        sn, sn_rss = summary("skopeo copy", noop["skopeo"])
        print(f"  ratio drctl/skopeo: wall {dn / sn:.2f}x (drctl {dn * 1000:.1f} ms), peak RSS {dn_rss / sn_rss:.2f}x")
        print("\ndrctl variants, fresh destination:")
        for label, samples in variants.items():
            summary(label, samples, total)
        print("\nmemory vs layer size (drctl, fresh):")
        summary("1 layer of 200 MiB", big, big_total)
        summary("5 layers of 40 MiB", fresh["drctl"], total)
    finally:
        r1.stop()
        r2.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
