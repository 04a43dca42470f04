#!/usr/bin/python3
"""relucl against PyTorch and NumPy on the same CPU, in one run: the training step of the MLP
and the CNN presets, and the GEMM shapes of relucl-bench gemm.

Training: relucl's step is relucl-bench train's (a resident batch of 128, SGD lr 0.01
momentum 0.9, device time between OpenCL markers, best of 3 batches); PyTorch's is the same
models and optimizer in eager mode (zero_grad, forward, cross-entropy, backward, step), the
best round's mean over its steps. relucl-bench runs before and after PyTorch and the better of
its two figures counts, so both see the machine's load of the moment.
GEMM: relucl-bench gemm --quick gives relucl's GFLOP/s per shape; NumPy's matmul (OpenBLAS
when Debian's libopenblas0-pthread is installed) is timed on the same shapes and transposes.
The two take turns shape by shape (relucl-bench --only SHAPE, then NumPy), --rounds times,
and each keeps its best: on a shared machine a load that comes and goes then hits both
rather than whichever ran during it (one relucl-bench pass and then NumPy gave ratios that
moved by a factor of 1.5 between runs).
Every ratio printed is relucl's speed as a multiple of the reference's (PyTorch's step time
over relucl's, relucl's GFLOP/s over NumPy's): above 1, relucl is the faster.

Usage: /usr/bin/python3 bench/torch-reference.py [--bench build/bench/relucl-bench]
       [--rounds N] [--threads N] [--skip-gemm] [--skip-train] [--json FILE]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

BATCH = 128


def mlp():
    n = torch.nn
    return n.Sequential(n.Linear(784, 256), n.ReLU(), n.Linear(256, 128), n.ReLU(),
                        n.Linear(128, 10))


def cnn():
    n = torch.nn
    return n.Sequential(n.Conv2d(1, 32, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(32, 64, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Flatten(), n.Linear(64 * 7 * 7, 128), n.ReLU(), n.Linear(128, 10))


def torch_step_s(model, shape, rounds, budget_s):
    torch.manual_seed(0)
    x = torch.rand(BATCH, *shape)
    labels = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def steps(count):
        start = time.perf_counter()
        for _ in range(count):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), labels).backward()
            opt.step()
        return (time.perf_counter() - start) / count

    first = steps(3)  # warm-up, and the estimate for a round of about budget_s
    count = max(3, int(budget_s / max(first, 1e-6)))
    return min(steps(count) for _ in range(rounds))


def run_bench(bench, mode, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, mode + ".json")
        subprocess.run([bench, mode, "--quick", "--json", out, *extra], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)


def numpy_gemm_gflops(m, n, k, ta, tb, rounds):
    rng = np.random.default_rng(1)
    a = rng.random((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.random((n, k) if tb else (k, n), dtype=np.float32)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    c = np.empty((m, n), np.float32)
    np.matmul(opa, opb, out=c)
    start = time.perf_counter()
    np.matmul(opa, opb, out=c)
    reps = max(1, int(0.05 / max(time.perf_counter() - start, 1e-7)))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            np.matmul(opa, opb, out=c)
        best = min(best, (time.perf_counter() - start) / reps)
    return 2.0 * m * n * k / best / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", default="build/bench/relucl-bench")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--skip-gemm", action="store_true")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="PyTorch's threads (default: every core, as PoCL uses them all)")
    p.add_argument("--json", help="also write the figures to this file (atomically)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    record = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "numpy": np.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print("torch %s (%d threads), numpy %s, %s" % (torch.__version__, torch.get_num_threads(),
                                                     np.__version__, record["date"]))
    if not a.skip_train:
        runs = [run_bench(a.bench, "train")]
        ref = {"mlp": torch_step_s(mlp(), (784,), a.rounds, 0.5),
               "cnn": torch_step_s(cnn(), (1, 28, 28), a.rounds, 2.0)}
        runs.append(run_bench(a.bench, "train"))
        print("device %s; batch %d, SGD lr 0.01 momentum 0.9" % (runs[0]["device"], BATCH))
        print("%-5s %14s %14s %22s" % ("model", "relucl ms", "PyTorch ms", "PyTorch / relucl"))
        record["train"] = []
        for spec in ("mlp", "cnn"):
            mine = min(r["step_ms"] for run in runs for r in run["results"] if r["spec"] == spec)
            theirs = ref[spec] * 1e3
            print("%-5s %14.3f %14.3f %22.2f" % (spec, mine, theirs, theirs / mine))
            record["train"].append({"spec": spec, "relucl_step_ms": mine,
                                    "torch_step_ms": theirs, "torch_over_relucl": theirs / mine})
        print("(goal: relucl's step <= 0.8x PyTorch's, i.e. PyTorch / relucl >= 1.25)")
    if not a.skip_gemm:
        shapes = [r for r in run_bench(a.bench, "gemm")["results"] if "relucl_gflops" in r]
        best = {r["shape"]: [r["relucl_gflops"], 0.0] for r in shapes}
        for turn in range(a.rounds):
            for r in shapes:
                if turn > 0:  # the first turn's relucl figures are the pass above
                    mine = run_bench(a.bench, "gemm", ("--only", r["shape"]))["results"]
                    for q in mine:
                        if q["shape"] == r["shape"] and "relucl_gflops" in q:
                            best[r["shape"]][0] = max(best[r["shape"]][0], q["relucl_gflops"])
                theirs = numpy_gemm_gflops(r["m"], r["n"], r["k"], r["trans_a"], r["trans_b"], 3)
                best[r["shape"]][1] = max(best[r["shape"]][1], theirs)
        print("GEMM in %d turns, relucl-bench and NumPy shape by shape, best of each"
              % a.rounds)
        print("%-16s %6s %6s %6s %3s %12s %12s %16s" % ("GEMM", "m", "n", "k", "op",
              "relucl GF/s", "NumPy GF/s", "relucl / NumPy"))
        record["gemm"] = []
        for r in shapes:
            ta, tb = r["trans_a"], r["trans_b"]
            r["relucl_gflops"], theirs = best[r["shape"]]
            op = ("T" if ta else "N") + ("T" if tb else "N")
            print("%-16s %6d %6d %6d %3s %12.1f %12.1f %16.2f" % (
                r["shape"], r["m"], r["n"], r["k"], op, r["relucl_gflops"], theirs,
                r["relucl_gflops"] / theirs))
            record["gemm"].append({"shape": r["shape"], "relucl_gflops": r["relucl_gflops"],
                                   "numpy_gflops": theirs})
        print("(goal: relucl / NumPy >= 0.8 on the MLP's and the CNN's shapes)")
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
