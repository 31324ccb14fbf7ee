#!/usr/bin/env python3
"""Two builds of pickletool on the same command, run alternately (A, B, A,
B, ...) so that a busy neighbour slows both alike: the best CPU time (user +
system, wait4) of each and B's ratio to A. How bench/README.md's before and
after figures are measured:

    python3 bench/alternate.py --reps 7 OLD/pickletool NEW/pickletool -- show FILE
    python3 bench/alternate.py --reps 7 --pipe FILE OLD/pickletool NEW/pickletool -- recode -p 5 - OUT

--pipe FILE feeds FILE's bytes to each run's standard input through a pipe
(the command then reads `-`). One child at a time, measured as
bench/whole_process.py measures it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whole_process  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--pipe", help="a file fed to standard input through a pipe")
    ap.add_argument("a", help="the first (before) binary")
    ap.add_argument("b", help="the second (after) binary")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="-- then the command's arguments")
    args = ap.parse_args()
    rest = args.args[1:] if args.args[:1] == ["--"] else args.args
    best = {}
    for _ in range(args.reps):
        for name in ("a", "b"):
            cpu = whole_process.measure([getattr(args, name)] + rest, pipe_from=args.pipe)[0]
            best[name] = min(best.get(name, cpu), cpu)
    print(f"A {best['a']:.4f} s  B {best['b']:.4f} s  B/A {best['b'] / best['a']:.3f}")


if __name__ == "__main__":
    main()
