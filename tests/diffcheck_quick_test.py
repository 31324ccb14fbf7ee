#!/usr/bin/env python3
"""The quick slice of the differential check, for ctest.

Runs `ci/diffcheck --bin DIR --quick`: a deterministic sample of the corpus
(one file in four of corpus/MANIFEST.tsv, every CPython version, plus the
crafted seeds), the edge cases and a fixed set of mutants (seed 1), each
recoded at every protocol 0..5 and compared with CPython 3.11 through the
oracle. The exit status is diffcheck's (0: no difference outside
oracle/divergences.py). About 30 s on a release build.

Each pickletool call is bounded in CPU time (ci/diffcheck --timeout, 20 s
by default, as RLIMIT_CPU), not wall time: on a busy machine the wall
clock counts other processes' time. A wall-clock guard (ten times the CPU
box, at least 120 s: 200 s a call) only catches a hang.

    python3 tests/diffcheck_quick_test.py --bin build/bin
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory holding pickletool")
    ap.add_argument("extra", nargs="*", help="more ci/diffcheck options (after --)")
    args = ap.parse_args()
    tool = os.path.join(args.bin, "pickletool")
    if not os.access(tool, os.X_OK):
        print("diffcheck_quick_test: no pickletool in %s" % args.bin)
        return 1
    cmd = [sys.executable, os.path.join(ROOT, "ci", "diffcheck"), "--bin", args.bin, "--quick",
           "--max-listed", "60"] + args.extra
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
