#!/usr/bin/env python3
"""CPython's side of the benchmark: pickle.loads / pickle.dumps of the same files.

    cpython_bench.py time DIR [--min-time S] [--repetitions N] [--no-gc] > cpython.json
        For each file of DIR/manifest.json: seconds per loads(data) and per
        dumps(obj, protocol) (the best of N repetitions, each repeating the call
        for at least S seconds), as the C++ benchmark measures its side; the
        result of loads is freed outside the timed region.
    cpython_bench.py peak loads|dumps FILE
        One measurement in this process, as JSON: the peak resident memory the
        call adds (VmHWM reset through /proc/self/clear_refs once the input is
        in memory, minus the resident size then) and whether dumps gives the
        file back byte for byte.

bench/ is put on sys.path so that bench_types (the classes of the "objects"
payload) can be imported by loads.
"""
import argparse
import gc
import json
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.setrecursionlimit(100_000)


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def resident():
    # (all resident KB, the file part) from the page tables; see
    # bench_codec.cpp's resident() for why a peak is measured this way.
    rss, anon = None, 0
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Anonymous:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    if rss is None:
        return status_kb("VmRSS"), 0
    return rss, rss - anon


def peak_since(before):
    hwm = status_kb("VmHWM")
    return hwm - before[0] - (resident()[1] - before[1])


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def protocol_of(data):
    return data[1] if len(data) >= 2 and data[0] == 0x80 else 1


def best_time(fn, min_time, repetitions):
    """CPU seconds per call of fn() (this thread's user + system time, as
    bench_codec measures: a loaded machine's other processes do not count):
    the best mean over `repetitions` rounds of at least `min_time` seconds
    each. fn returns what the call made, freed outside the timed region."""
    best = float("inf")
    for _ in range(repetitions):
        total = 0.0
        calls = 0
        while total < min_time or calls == 0:
            t0 = time.thread_time()
            r = fn()
            t1 = time.thread_time()
            del r
            total += t1 - t0
            calls += 1
        best = min(best, total / calls)
    return best


def cmd_time(args):
    if args.no_gc:
        gc.disable()
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    out = []
    for entry in manifest:
        with open(os.path.join(args.dir, entry["file"]), "rb") as f:
            data = f.read()
        proto = protocol_of(data)
        loads_s = best_time(lambda: pickle.loads(data), args.min_time, args.repetitions)
        obj = pickle.loads(data)
        dumps_s = best_time(lambda: pickle.dumps(obj, protocol=proto), args.min_time, args.repetitions)
        del obj
        gc.collect()
        out.append({"file": entry["file"], "bytes": len(data), "loads_s": loads_s, "dumps_s": dumps_s})
        print(f"cpython: {entry['file']}: loads {loads_s * 1e3:.3f} ms, dumps {dumps_s * 1e3:.3f} ms",
              file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)


def cmd_peak(args):
    with open(args.file, "rb") as f:
        data = f.read()
    proto = protocol_of(data)
    obj = pickle.loads(data) if args.what == "dumps" else None
    # The same small load and dump bench_codec warms itself with.
    pickle.dumps(pickle.loads(b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01G?\xf8\x00\x00\x00\x00\x00\x00}q\x02)e."),
                 protocol=proto)
    gc.collect()
    reset_peak()
    base = resident()
    t0 = time.perf_counter()
    if args.what == "loads":
        obj = pickle.loads(data)
        extra = {}
    else:
        out = pickle.dumps(obj, protocol=proto)
        extra = {"identical": out == data}
    secs = time.perf_counter() - t0
    peak = peak_since(base)
    print(json.dumps({"what": args.what, "file": args.file, "peak_kb": peak, "seconds": secs, **extra}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("--min-time", type=float, default=0.5)
    t.add_argument("--repetitions", type=int, default=3)
    t.add_argument("--no-gc", action="store_true", help="time with the cyclic GC disabled")
    p = sub.add_parser("peak")
    p.add_argument("what", choices=["loads", "dumps"])
    p.add_argument("file")
    args = ap.parse_args()
    cmd_time(args) if args.cmd == "time" else cmd_peak(args)


if __name__ == "__main__":
    main()
