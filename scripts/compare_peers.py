"""Runs sinew-bench and the peer scripts of ../shared/bench/peers alternately, ROUNDS times each,
in one session, and prints a Markdown table of per-benchmark medians (the machine is shared and
noisy, so alternating rounds keep drift from favouring either side).

Usage, from the repository root, after `cargo build --release -p sinew-bench`
(the peers need $HOME/.peers, see ../shared/bench/peers/README.md):
  python3 scripts/compare_peers.py engine [ROUNDS]   # sinew-bench engine vs bench_torch_engine.py
  python3 scripts/compare_peers.py train [ROUNDS] [NAME...]  # sinew-bench train vs bench_torch.py and bench_keras.py (train_on_batch)
NAME limits the train workloads to those whose sinew name starts with it (b1, b2, b3, b4, b5, b6, b7, b8).
With SINEW_BASE=/path/to/an/older/sinew-bench, that binary runs in every round too (column
"base"), so a change is measured before and after beside the peers in one session.

With SINEW_ISA=avx2 (on an AVX-512 machine), sinew runs its AVX2 path and the peers are held to
AVX2 too: ATEN_CPU_CAPABILITY=avx2 for PyTorch's kernels, ONEDNN_MAX_CPU_ISA=AVX2 for oneDNN
(PyTorch and TensorFlow) and MKL_ENABLE_INSTRUCTIONS=AVX2 for MKL.

In train mode the table ends with sinew's roofline: the GEMM GFLOP of one step (counted by the
engine), the GFLOPS achieved and their share of the peak sinew-bench measured at start (an
FMA-throughput probe on the threads in use, on the path in use).
"""
import json, os, statistics, subprocess, sys

MODE = sys.argv[1] if len(sys.argv) > 1 else "engine"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PEERS = os.path.join("..", "shared", "bench", "peers")
PY = os.path.expanduser("~/.peers/bin/python")
TRAIN = {"b1_tabular_mlp": "b1", "b5_dense_autoencoder": "b5", "b2_mnist_cnn_b32": "b2_32",
         "b2_mnist_cnn_b128": "b2_128", "b6_cnn_predict": "b6", "b3_lstm_timeseries": "b3",
         "b4_char_gru_256": "b4_256", "b4_char_gru_1024": "b4_1024", "b7_dcgan_step": "b7",
         "b8_vae_step": "b8"}
ONLY = sys.argv[3:]
TRAIN = {k: v for k, v in TRAIN.items() if not ONLY or any(k.startswith(o) for o in ONLY)}


PEER_ENV = dict(os.environ)
if os.environ.get("SINEW_ISA") == "avx2":
    PEER_ENV.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2", DNNL_MAX_CPU_ISA="AVX2",
                    MKL_ENABLE_INSTRUCTIONS="AVX2")


def lines(cmd, cwd=None):
    out = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, env=PEER_ENV).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]


BASE = os.environ.get("SINEW_BASE")

runs = {}
for _ in range(ROUNDS):
    if BASE:
        for r in lines([BASE, MODE, "--json"] + ONLY):
            runs.setdefault(("base", r["name"]), []).append(r)
    for r in lines(["./target/release/sinew-bench", MODE, "--json"] + ONLY):
        runs.setdefault(("sinew", r["name"]), []).append(r)
    if MODE == "engine":
        for r in lines([PY, "bench_torch_engine.py"], PEERS):
            runs.setdefault(("torch", r["name"]), []).append(r)
    else:
        for name, wl in TRAIN.items():
            for r in lines([PY, "bench_torch.py", wl], PEERS):
                runs.setdefault(("torch", name), []).append(r)
            for r in lines([PY, "bench_keras.py", wl, "tob"], PEERS):
                # b6 reports predict_on_batch under "b6:predict_on_batch".
                runs.setdefault(("keras", name), []).append(r)


def key_of(r):
    # Throughput workloads: sinew prints images_per_s, the peers items_per_s.
    if r.get("name", r.get("wl", "")).startswith("b6"):
        return "images_per_s" if "images_per_s" in r else "items_per_s"
    for k in ("gflops", "ns_per_op", "ms", "ms_per_step", "ms_step_median"):
        if k in r:
            return k
    # The classic workloads (b10 RBM, b11 SOM, ...) report a rate such as samples_per_s.
    return next((k for k in r if k.endswith("_per_s") or k.startswith("ms_")), None)


def med(fw, name):
    rs = runs.get((fw, name), [])
    if not rs:
        return None
    k = key_of(rs[0])
    vals = [r[k] for r in rs]
    return statistics.median(vals), min(vals), max(vals), k


def cpu():
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("Model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("Flags")), [])
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "baseline"
    return f"{model}, {os.cpu_count()} CPUs, {isa}"


machine = runs.pop(("sinew", "machine"), [])
runs.pop(("base", "machine"), None)
peak = ""
if machine:
    peaks = [r["peak_gflops"] for r in machine]
    peak = (f"; sinew's path {machine[0]['isa']} (widest {machine[0]['widest_isa']}), {machine[0]['threads']} threads, "
            f"measured peak {statistics.median(peaks):.1f} GFLOPS ({min(peaks):.1f}–{max(peaks):.1f})")
iso = "; peers held to AVX2" if os.environ.get("SINEW_ISA") == "avx2" else ""
print(f"Machine: {cpu()}; {ROUNDS} alternating rounds{peak}{iso}.\n")
names = sorted({n for (_, n) in runs})
fws = (["base"] if BASE else []) + ["sinew", "torch"] + (["keras"] if MODE == "train" else [])
peer_fws = [f for f in fws if f not in ("base", "sinew")]
extra = " | base / fastest peer" if BASE else ""
print("| benchmark | " + " | ".join(f"{fw} (median of {ROUNDS}; range)" for fw in fws) + extra + " | sinew / fastest peer |")
print("|---|" + "---|" * (len(fws) + 1 + bool(BASE)))
for n in names:
    cells, vals = [], {}
    for fw in fws:
        m = med(fw, n)
        if m:
            vals[fw] = m
            cells.append(f"{m[0]:.3f} {m[3]} ({m[1]:.3f}–{m[2]:.3f})")
        else:
            cells.append("–")
    peers = [vals[f][0] for f in peer_fws if f in vals]
    if "sinew" not in vals:
        continue
    higher_better = vals["sinew"][3] == "gflops" or vals["sinew"][3].endswith("_per_s")
    best = (max if higher_better else min)(peers) if peers else None
    ratios = [f"{vals[f][0] / best:.2f}" if best and f in vals else "–" for f in (["base"] if BASE else []) + ["sinew"]]
    print(f"| {n} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")

roof = [n for n in names if runs.get(("sinew", n)) and "achieved_gflops" in runs[("sinew", n)][0]]
if roof:
    print("\n| benchmark | sinew GFLOP a step (GEMM) | sinew GFLOPS (median; range) | % of measured peak (median; range) |")
    print("|---|---|---|---|")
    for n in roof:
        rs = runs[("sinew", n)]
        g = [r["achieved_gflops"] for r in rs]
        p = [r["pct_of_peak"] for r in rs]
        print(f"| {n} | {rs[0]['gflop_per_step']:.4f} | {statistics.median(g):.1f} ({min(g):.1f}–{max(g):.1f}) "
              f"| {statistics.median(p):.1f} ({min(p):.1f}–{max(p):.1f}) |")
