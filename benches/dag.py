#!/usr/bin/env python3
"""Runs the same generated DAGs under drctl and ninja, in one run, and prints ratios.

Cases (seed 42, like the peer baselines):
  a) N tasks running `true`, each depending on 0-3 uniformly chosen earlier tasks, -j 64:
     per-task wall time of drctl (durable journal) against ninja.
  b) 1,000 tasks running `sleep 0.05`, each depending on 0-3 of the previous 64 tasks,
     parallelism 64: makespan against the critical path, for both tools. Also the floor (one
     shell running the path's sleeps back to back) and the durable bound: the floor plus one
     fdatasync per link, which any engine that records a task as done before starting its
     dependents must wait for.
  c) the same DAG with drctl's built-in `sleep` action: makespan against the critical path.
Also: validate + plan of the 10,000-task runbook, resume of a 10,000-task run that crashed after its last task
(journal replay), and peak memory at 10,000 tasks.

Usage: benches/dag.py [--drctl target/release/drctl] [--runs 5] [--quick]
"""
import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def gen_dag(n, window, seed=42):
    rng = random.Random(seed)
    deps = []
    for i in range(n):
        lo = 0 if window is None else max(0, i - window)
        pool = list(range(lo, i))
        k = rng.randint(0, min(3, len(pool)))
        deps.append(sorted(rng.sample(pool, k)))
    return deps


def critical_path_tasks(deps):
    depth = []
    for d in deps:
        depth.append(1 + max((depth[x] for x in d), default=0))
    return max(depth)


def write_ninja(path, deps, command):
    with open(path, "w") as f:
        f.write(f"rule run\n  command = {command}\n\n")
        for i, d in enumerate(deps):
            extra = (" | " + " ".join(f"t{x}" for x in d)) if d else ""
            f.write(f"build t{i}: run{extra}\n")
        f.write("default " + " ".join(f"t{i}" for i in range(len(deps))) + "\n")


def write_runbook(path, deps, uses, with_):
    with open(path, "w") as f:
        f.write(f"version: 1\nname: bench-{len(deps)}\ntasks:\n")
        for i, d in enumerate(deps):
            f.write(f"  t{i}:\n    uses: {uses}\n    with: {with_}\n")
            if d:
                f.write("    depends_on: [" + ", ".join(f"t{x}" for x in d) + "]\n")


def timed(cmd, cwd):
    """Wall seconds and peak RSS (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0


def peak_rss(cmd, cwd):
    """Peak RSS in MiB of one run, measured by GNU time when available."""
    if not os.path.exists("/usr/bin/time"):
        return None
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    try:
        return int(p.stderr.strip().splitlines()[-1]) / 1024.0
    except (ValueError, IndexError):
        return None


def journal_span(state):
    """Seconds from the first `start` record to the last `done` record of the run in `state`."""
    import glob
    import json
    first, last = None, None
    for path in glob.glob(os.path.join(state, "runs", "*", "journal.log")):
        for line in open(path):
            record = json.loads(line[9:])
            if record.get("t") == "start":
                first = record["at"] if first is None else min(first, record["at"])
            elif record.get("t") == "done":
                last = record["at"] if last is None else max(last, record["at"])
    return (last - first) / 1000.0


def sync_latency(work, gap, samples=25):
    """Median seconds of one append + fdatasync on the file system of `work`, each after `gap`
    seconds of idleness: what one link of a critical path waits for in a durable engine (its
    dependency's `done` record is on disk before it starts). On a VM, a flush after an idle
    spell costs about twice as much as one in a busy stream."""
    path = os.path.join(work, "sync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(samples):
            time.sleep(gap)
            os.write(fd, b"x" * 120 + b"\n")
            t = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times)


def median(xs):
    return statistics.median(xs)


def bench_pair(work, label, drctl_cmd, ninja_cmd, runs, tasks):
    d_times, n_times = [], []
    for _ in range(runs):
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        d_times.append(timed(drctl_cmd, work)[0])
        if ninja_cmd:
            n_times.append(timed(ninja_cmd, work)[0])
    d = median(d_times)
    line = f"{label:<34} drctl {d:7.3f}s ({d / tasks * 1e6:6.0f} µs/task)"
    if n_times:
        n = median(n_times)
        line += f"   ninja {n:7.3f}s ({n / tasks * 1e6:6.0f} µs/task)   ratio drctl/ninja {d / n:5.2f}x"
    print(line, flush=True)
    return d, (median(n_times) if n_times else None), d_times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drctl", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "drctl"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    args = ap.parse_args()
    drctl = os.path.abspath(args.drctl)
    ninja = shutil.which("ninja")
    if not ninja:
        print("ninja not found (apt-get install ninja-build); drctl figures only", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="drctl-bench-")
    runs = 3 if args.quick else args.runs
    sizes = [1000] if args.quick else [1000, 10000]
    base = [drctl, "-q"]
    sd = ["--state-dir", "state"]

    print(f"# drctl DAG benchmark, {runs} runs each, medians; ninja: {ninja or 'absent'}")
    print("## (a) `true` tasks, up to 3 deps on any earlier task, parallelism 64")
    for n in sizes:
        deps = gen_dag(n, None)
        write_ninja(os.path.join(work, "build.ninja"), deps, "true")
        write_runbook(os.path.join(work, "a.yaml"), deps, "shell", "{ run: 'true' }")
        ninja_cmd = [ninja, "-j", "64", "-f", "build.ninja"] if ninja else None
        bench_pair(work, f"(a) N={n}", base + ["run", "a.yaml"] + sd + [ "--parallelism", "64", "--progress", "plain"],
                   ninja_cmd, runs, n)

    print("## (b)/(c) 1,000 tasks, `sleep 0.05`, deps among the previous 64, parallelism 64")
    deps = gen_dag(1000, 64)
    cp = critical_path_tasks(deps) * 0.05
    write_ninja(os.path.join(work, "build.ninja"), deps, "sleep 0.05")
    write_runbook(os.path.join(work, "b.yaml"), deps, "shell", "{ run: 'sleep 0.05' }")
    write_runbook(os.path.join(work, "c.yaml"), deps, "sleep", "{ duration: 50ms }")
    d, n, b_runs = bench_pair(work, "(b) shell sleep 0.05", base + ["run", "b.yaml"] + sd + [ "--parallelism", "64", "--progress", "plain"],
                      [ninja, "-j", "64", "-f", "build.ninja"] if ninja else None, runs, 1000)
    links = critical_path_tasks(deps)
    floor = median([timed(["sh", "-c", "; ".join(["sleep 0.05"] * links)], work)[0] for _ in range(runs)])
    print(f"    critical path {links} tasks = {cp:.2f}s; makespan/CP: drctl {d / cp:.3f}"
          f" (runs {min(b_runs) / cp:.3f}-{max(b_runs) / cp:.3f})" + (f", ninja {n / cp:.3f}" if n else ""))
    print(f"    floor: one shell running the path's {links} `sleep 0.05` back to back takes {floor / cp:.3f}x CP;"
          f" drctl/floor {d / floor:.3f}" + (f", ninja/floor {n / floor:.3f}" if n else ""))
    sync = sync_latency(work, 0.05)
    bound = (floor + links * sync) / cp
    print(f"    durable bound: the floor plus one fdatasync per link ({sync * 1e3:.2f} ms after 50 ms idle,"
          f" median) is {bound:.3f}x CP; drctl/bound {d / cp / bound:.3f}")
    # The same path with nothing else running: what drctl costs per link on this machine when
    # no other task competes for its thread, the disk or the CPUs.
    write_runbook(os.path.join(work, "chain.yaml"), [[i - 1] if i else [] for i in range(links)], "shell",
                  "{ run: 'sleep 0.05' }")
    chain = []
    for _ in range(runs):
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        chain.append(timed(base + ["run", "chain.yaml"] + sd + ["--progress", "plain"], work)[0])
    alone = median(chain)
    print(f"    the path alone (its {links} tasks as a chain, nothing else running): drctl {alone / cp:.3f}x CP,"
          f" {(alone - floor) / links * 1e3:.2f} ms per link above the floor; in the DAG,"
          f" {(d - alone) / links * 1e3:.2f} ms more per link")
    walls, spans = [], []
    for _ in range(runs):
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        walls.append(timed(base + ["run", "c.yaml"] + sd + ["--parallelism", "64", "--progress", "plain"], work)[0])
        spans.append(journal_span(os.path.join(work, "state")))
    d = median(walls)
    print(f"{'(c) built-in sleep 50ms':<34} drctl {d:7.3f}s")
    print(f"    makespan/CP: drctl {d / cp:.3f} for the whole process (start-up, parse and validate included);"
          f" {median(spans) / cp:.3f} from the first task's start to the last one's end (journal)")

    if not args.quick:
        print("## 10,000 tasks: validate + plan, resume of a finished run, memory")
        deps = gen_dag(10000, None)
        write_runbook(os.path.join(work, "big.yaml"), deps, "shell", "{ run: 'true' }")
        vp = median([timed([drctl, "validate", "big.yaml"], work)[0] + timed([drctl, "plan", "big.yaml", "-o", "json"], work)[0]
                     for _ in range(runs)])
        print(f"validate + plan (two processes)      {vp:.3f}s")
        one = median([timed([drctl, "plan", "big.yaml", "-o", "json"], work)[0] for _ in range(runs)])
        print(f"`drctl plan` (validates, then plans)   {one:.3f}s")
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        out = subprocess.run([drctl, "run", "big.yaml"] + sd + [ "--parallelism", "64", "--progress", "plain"], cwd=work,
                             capture_output=True, text=True)
        run_id = next(l[4:] for l in out.stdout.splitlines() if l.startswith("run "))
        journal = os.path.join(work, "state", "runs", run_id, "journal.log")
        # Drop the final `segment_end` record: the run then reads as one that crashed just after
        # its last task, and resume goes all the way (replay, scheduling, new segment records)
        # instead of stopping at "already succeeded".
        with open(journal) as f:
            lines = f.readlines()
        if lines and '"t":"segment_end"' in lines[-1]:
            lines.pop()
        crashed = "".join(lines)
        records = len(lines)

        def resume_once():
            with open(journal, "w") as f:
                f.write(crashed)
            return timed(base + ["resume", run_id] + sd + ["--progress", "plain"], work)[0]

        rs = median([resume_once() for _ in range(runs)])
        print(f"resume of a run that crashed after its last task ({records} journal records)  {rs:.3f}s")
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        rss = peak_rss(base + ["run", "big.yaml"] + sd + [ "--parallelism", "64", "--progress", "plain"], work)
        if rss:
            print(f"peak RSS, 10,000-task run               {rss:.1f} MiB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
