#!/usr/bin/env python3
"""Routing cost: `evmatch RULES` delivering every match to a file target,
against match-only (`evmatch --count`) on the same rules and events.

Usage: python3 benches/route.py [--events N] [--runs K] [--set NAME ...]

Needs the release binary (cargo build --release -p evmatch-cli) and
../shared/bench (gen_citylots2.py, cl2-rules.json); skips when absent.
Prints, per rule set, the best wall time of K runs of each and the
throughput ratio routing / match-only (the issue asks for >= 0.5).
The set ALL is one rule matching every event: the worst case, where every
event is parsed, written and counted.
"""
import argparse, json, os, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
shared = os.path.join(root, "..", "shared", "bench")
exe = os.path.join(root, "target", "release", "evmatch")

ap = argparse.ArgumentParser()
ap.add_argument("--events", type=int, default=50000)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--set", action="append", default=None)
a = ap.parse_args()

if not os.path.exists(os.path.join(shared, "cl2-rules.json")):
    print("skipped: ../shared/bench is absent")
    sys.exit(0)
if not os.path.exists(exe):
    sys.exit("build first: cargo build --release -p evmatch-cli")

tmp = tempfile.mkdtemp(prefix="evmatch-route-bench-")
events = os.path.join(tmp, "events.ndjson")
with open(events, "wb") as f:
    subprocess.run([sys.executable, os.path.join(shared, "gen_citylots2.py"),
                    "--events", str(a.events)], stdout=f, check=True)
sets = json.load(open(os.path.join(shared, "cl2-rules.json")))
sets["ALL"] = {"rules": {"all": {"type": ["Feature"]}}}
names = a.set or ["ALL", "COMBO", "ANYTHING_BUT", "NUMERIC", "EXACT"]


def best(args, out=None):
    times = []
    for _ in range(a.runs):
        if out and os.path.exists(out):
            os.remove(out)
        t = time.perf_counter()
        with open(events, "rb") as i:
            subprocess.run([exe] + args, stdin=i, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


print(f"{a.events} events, best of {a.runs}")
for name in names:
    rules = sets[name]["rules"]
    plain = os.path.join(tmp, f"{name}-match.json")
    routed = os.path.join(tmp, f"{name}-route.json")
    out = os.path.join(tmp, f"{name}-out.ndjson")
    json.dump(rules, open(plain, "w"))
    json.dump([{"Name": n, "EventPattern": p,
                "Targets": [{"Id": "f", "Arn": "file://" + out}]}
               for n, p in rules.items()], open(routed, "w"))
    m = best(["--count", plain])
    r = best([routed], out)
    lines = sum(1 for _ in open(out)) if os.path.exists(out) else 0
    print(f"{name:14} match-only {m:6.3f}s  route-to-file {r:6.3f}s  "
          f"deliveries {lines:7d}  throughput ratio {m / r:.2f}")
