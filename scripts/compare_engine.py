"""Runs `sinew-bench engine` and the PyTorch peer script alternately, ROUNDS times each, in one
session, and prints a Markdown table of per-benchmark medians (the machine is shared and noisy, so
alternating rounds keep drift from favouring either side).

Usage, from the repository root, after `cargo build --release -p sinew-bench`:
  python3 scripts/compare_engine.py [ROUNDS]       (default 3; needs $HOME/.peers, see ../shared/bench/peers/README.md)
"""
import json, os, statistics, subprocess, sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
PEERS = os.path.join("..", "shared", "bench", "peers")
PY = os.path.expanduser("~/.peers/bin/python")
runs = {"sinew": [], "torch": []}
for _ in range(ROUNDS):
    out = subprocess.run(["./target/release/sinew-bench", "engine", "--json"], check=True, capture_output=True, text=True).stdout
    runs["sinew"].append([json.loads(l) for l in out.splitlines() if l.strip()])
    out = subprocess.run([PY, "bench_torch_engine.py"], cwd=PEERS, check=True, capture_output=True, text=True).stdout
    runs["torch"].append([json.loads(l) for l in out.splitlines() if l.strip()])

def med(fw, name, key):
    vals = [r[key] for rnd in runs[fw] for r in rnd if r["name"] == name]
    return statistics.median(vals), min(vals), max(vals)

print(f"| benchmark | metric | sinew (median of {ROUNDS}; range) | PyTorch (median of {ROUNDS}; range) | sinew / PyTorch |")
print("|---|---|---|---|---|")
for r in runs["torch"][0]:
    name = r["name"]
    key = "gflops" if "gflops" in r else ("ns_per_op" if "ns_per_op" in r else "ms")
    s, t = med("sinew", name, key), med("torch", name, key)
    print(f"| {name} | {key} | {s[0]:.2f} ({s[1]:.2f}–{s[2]:.2f}) | {t[0]:.2f} ({t[1]:.2f}–{t[2]:.2f}) | {s[0] / t[0]:.2f} |")
