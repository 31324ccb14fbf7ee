#!/usr/bin/env python3
"""pickletool_diff_test: `pickletool diff A B`, exact outputs and exit codes.

  - 0 "same": the same graph under the harness's equivalence (by default
    Equivalence::round_trip(): what a pickle keeps), e.g. CPython's pickles
    of one value at protocols 0 and 5;
  - 1 "different at <path>: <what>": the first difference, with the
    harness's difference() path; sharing counts, set order only under
    --ordered-sets or --exact, shared atoms only under --exact;
  - 2 usage (both sides from standard input, a missing operand);
  - 3 an input that cannot be read or decoded (one `pickletool: error:` line).

    python3 tests/pickletool_diff_test.py --bin build/release/bin
"""
import argparse
import os
import pickle
import subprocess
import sys
import tempfile

FAILS = []


def run(tool, args, data=b""):
    p = subprocess.run([tool, "diff"] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def expect(what, got, rc, out, err=""):
    if got != (rc, out, err):
        FAILS.append("%s: got %r, want %r" % (what, got, (rc, out, err)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    tool = os.path.join(ap.parse_args().bin, "pickletool")
    with tempfile.TemporaryDirectory() as d:
        def file(name, data):
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        # One value written by CPython at protocols 0 and 5: the same graph
        # (sharing included), from two files and with one side on stdin.
        shared = [1, 2.5]
        value = {"a": [shared, shared, "x\u20ac", b"\x00\xff"], "b": (None, True, 2 ** 70), "c": {1, 2, 3}}
        p0, p5 = pickle.dumps(value, 0), pickle.dumps(value, 5)
        f0, f5 = file("p0.pkl", p0), file("p5.pkl", p5)
        expect("protocols 0 and 5", run(tool, [f0, f5]), 0, "same\n")
        expect("protocols 0 and 5, A on stdin", run(tool, ["-", f5], p0), 0, "same\n")
        expect("protocols 0 and 5, --exact", run(tool, ["--exact", f0, f5]), 0, "same\n")

        # Only sharing differs: [x, x] against [[], []].
        x = []
        one = file("shared.pkl", pickle.dumps([x, x], 4))
        two = file("distinct.pkl", pickle.dumps([[], []], 4))
        expect("sharing", run(tool, [one, two]), 1,
               "different at root[1]: a new node where the original reaches a node again (sharing lost): "
               "list of length 0\n")
        expect("sharing, --ordered-sets", run(tool, ["--ordered-sets", one, two]), 1,
               "different at root[1]: a new node where the original reaches a node again (sharing lost): "
               "list of length 0\n")

        # Only set order differs: {1, 2} as CPython writes it, and with its
        # members the other way round.
        s12 = pickle.dumps({1, 2}, 4)
        s21 = s12.replace(b"K\x01K\x02", b"K\x02K\x01")
        assert pickle.loads(s21) == {1, 2} and s21 != s12
        a, b = file("s12.pkl", s12), file("s21.pkl", s21)
        expect("set order", run(tool, [a, b]), 0, "same\n")
        expect("set order, --ordered-sets", run(tool, ["--ordered-sets", a, b]), 1,
               "different at root[0]: expected int 1, got int 2\n")
        expect("set order, --exact", run(tool, ["--exact", a, b]), 1,
               "different at root[1]: expected int 2, got different content (int 1)\n")
        # The same set of strs dumped by two processes (their str hashes differ).
        strs = "import pickle, sys; sys.stdout.buffer.write(pickle.dumps(set('abcdefgh'), 4))"
        dumps = {subprocess.run([sys.executable, "-c", strs], capture_output=True,
                                env=dict(os.environ, PYTHONHASHSEED=seed)).stdout for seed in ("1", "2")}
        assert len(dumps) == 2, "the two hash seeds wrote the same bytes"
        s1, s2 = (file("strs%d.pkl" % i, d) for i, d in enumerate(sorted(dumps)))
        expect("a set of strs from two processes", run(tool, [s1, s2]), 0, "same\n")
        # Not the same set: one member differs.
        s3 = file("strs_other.pkl", pickle.dumps(set("abcdefgz"), 4))
        rc, out, err = run(tool, [s1, s3])
        if rc != 1 or not out.startswith("different at root"):
            FAILS.append("a different set of strs: rc=%d out=%r" % (rc, out))

        # A memoized int shared twice against two ints: the same pickle
        # values; --exact (pkl::isomorphic) tells them apart.
        memo = file("memo_int.pkl", b"(K\x01p0\ng0\nl.")
        plain = file("plain_int.pkl", b"(K\x01K\x01l.")
        expect("shared atom", run(tool, [memo, plain]), 0, "same\n")
        expect("shared atom, --exact", run(tool, ["--exact", memo, plain]), 1,
               "different at root[1]: a new node where the original reaches a node again (sharing lost): int 1\n")

        # Usage: both sides on stdin, a missing operand.
        rc, out, err = run(tool, ["-", "-"])
        expect("both stdin", (rc, out, err), 2, "", "pickletool: error: only one side may be - (standard input)\n")
        rc, out, err = run(tool, [f0])
        if rc != 2 or out:
            FAILS.append("one operand: rc=%d out=%r" % (rc, out))

        # Cannot read: a missing file, a truncated pickle, an empty input.
        missing = os.path.join(d, "missing.pkl")
        expect("missing file", run(tool, [f0, missing]), 3, "",
               "pickletool: error: B (%s): can't open '%s': No such file or directory\n" % (missing, missing))
        expect("truncated", run(tool, ["-", f0], p5[:-1]), 3, "",
               "pickletool: error: A (-): pickle data was truncated at offset 2 (opcode FRAME)\n")
        expect("empty", run(tool, [f0, "-"], b""), 3, "", "pickletool: error: B (-): Ran out of input\n")

    if FAILS:
        print("FAILED %d:\n  %s" % (len(FAILS), "\n  ".join(FAILS)))
        return 1
    print("pickletool diff: all cases pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
