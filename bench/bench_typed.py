#!/usr/bin/env python3
"""The typed layer and the checkpoint reader, measured against CPython.

  python3 bench/bench_typed.py --bin build/release/bin [--items N] [--checkpoint-mb M] [--check]

1. pkl::load<std::vector<double>> of pickle.dumps([float] * N, 4) (N = 10**6)
   against pickle.loads of the same bytes: CPU time, best of 9 on each side.
   --check: exit 1 unless the codec is at least 5x faster.
2. With --checkpoint-mb M (needs torch under /usr/bin/python3): a checkpoint
   of M MB of float32 tensors, written by torch.save; opening it and listing
   its tensors (CPU time, peak resident memory added), then reading every
   byte of them once, against the file's size: the reader maps, it does not copy.
"""
import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time


def cpython_loads_best(data, repeat=9):
    best = None
    for _ in range(repeat):
        t0 = time.thread_time()
        pickle.loads(data)
        dt = time.thread_time() - t0
        best = dt if best is None else min(best, dt)
    return best


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--items", type=int, default=10**6)
    ap.add_argument("--checkpoint-mb", type=int, default=0)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    tool = os.path.join(args.bin, "bench_typed")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        data = pickle.dumps([i * 0.5 for i in range(args.items)], 4)
        path = os.path.join(tmp, "floats.pickle")
        with open(path, "wb") as f:
            f.write(data)
        ours = run([tool, "--load-doubles", path])
        theirs = cpython_loads_best(data)
        ratio = theirs / ours["cpu_s_best"]
        print("load<vector<double>> of %d floats (%d bytes): %.2f ms; pickle.loads: %.2f ms; %.1fx"
              % (ours["items"], len(data), ours["cpu_s_best"] * 1e3, theirs * 1e3, ratio))
        if ours["items"] != args.items or (args.check and ratio < 5):
            ok = False
        if args.checkpoint_mb:
            ck = os.path.join(tmp, "big.pt")
            make = ("import torch,sys; n=%d*(1<<20)//4//8; "
                    "torch.save({'layer%%d.weight' %% i: torch.ones(n) for i in range(8)}, sys.argv[1])"
                    % args.checkpoint_mb)
            subprocess.run(["/usr/bin/python3", "-c", make, ck], check=True)
            size = os.path.getsize(ck)
            listed = run([tool, "--checkpoint", ck])
            touched = run([tool, "--checkpoint", ck, "--touch"])
            print("checkpoint of %d bytes, %d tensors (%d bytes of tensors):" % (size, listed["tensors"],
                                                                                  listed["tensor_bytes"]))
            print("  open + list tensors: %.2f ms CPU, peak RSS %d kB (%d kB before)"
                  % (listed["cpu_s"] * 1e3, listed["peak_rss_kb"], listed["rss_before_kb"]))
            print("  + read every byte:   %.2f ms CPU, peak RSS %d kB (the file's pages, mapped)"
                  % (touched["cpu_s"] * 1e3, touched["peak_rss_kb"]))
            t0 = time.thread_time()
            with open(ck, "rb") as f:
                f.read()
            print("  (reading the file into memory in Python: %.2f ms CPU)" % ((time.thread_time() - t0) * 1e3))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
