#!/usr/bin/python3
"""Linear(784, 256) + ReLU, forward and backward at batch 256: relucl through its PyTorch
modules (relucl.torch) against torch itself, on the same CPU in the same run.

Each step is: zero the gradients, y = relu(linear(x)), y.backward(g). Steps are timed in
interleaved rounds (relucl, torch, relucl, ...) so both see the same machine load; the figure
is the best round's mean step time, and the ratio relucl / torch is what to compare.

Usage: RELUCL_LIBRARY=build/host/librelucl.so PYTHONPATH=bindings/python \\
       /usr/bin/python3 bench/torch-linear.py [--rounds N] [--steps N] [--threads N]"""

import argparse
import time

import torch

import relucl
import relucl.torch as rt


def model(m):
    return torch.nn.Sequential(m.Linear(784, 256), m.ReLU())


def step_time(net, x, g, steps):
    start = time.perf_counter()
    for _ in range(steps):
        net.zero_grad(set_to_none=True)
        x.grad = None
        net(x).backward(g)
    return (time.perf_counter() - start) / steps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=0, help="torch's threads (0: its default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ref, mine = model(torch.nn), model(rt)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(a.batch, 784, requires_grad=True)
    g = torch.randn(a.batch, 256)
    # Same results first: a fast wrong answer is no answer.
    ya, yb = mine(x), ref(x)
    torch.testing.assert_close(ya, yb, rtol=1e-4, atol=1e-5)
    for net in (mine, ref):  # warm up (kernel builds, CLBlast's first call, torch's pools)
        step_time(net, x, g, 3)
    best = {"relucl": float("inf"), "torch": float("inf")}
    for _ in range(a.rounds):
        best["relucl"] = min(best["relucl"], step_time(mine, x, g, a.steps))
        best["torch"] = min(best["torch"], step_time(ref, x, g, a.steps))
    print("relucl %s on %s; torch %s with %d threads" % (relucl.__version__,
          rt.context().device_name, torch.__version__, torch.get_num_threads()))
    print("Linear(784, 256) + ReLU, forward + backward, batch %d, best of %d rounds of %d "
          "steps" % (a.batch, a.rounds, a.steps))
    print("relucl.torch %8.3f ms/step" % (best["relucl"] * 1e3))
    print("torch        %8.3f ms/step" % (best["torch"] * 1e3))
    print("ratio relucl / torch: %.2f (goal <= 1.0)" % (best["relucl"] / best["torch"]))


if __name__ == "__main__":
    main()
