#!/usr/bin/env python3
"""torch_show_typed_test: `pickletool show` tells a PyTorch checkpoint by its
content (a zip archive or the legacy magic number, whatever its name) and
prints its tree with tensor summaries; --json and other pickles are as before.

    python3 tests/torch_show_typed_test.py --bin build/release/bin
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    tool = os.path.join(args.bin, "pickletool")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fmt, key in (("torch_small.pt", "zip", "storage 0"), ("torch_small_legacy.pt", "legacy", "storage ")):
            renamed = os.path.join(tmp, "no_extension_" + fmt)
            shutil.copy(os.path.join(FIX, name), renamed)
            r = subprocess.run([tool, "show", renamed], capture_output=True, text=True)
            lines = r.stdout.splitlines()
            want_head = "torch checkpoint (%s format, version %s, little-endian, 24 storages)" % (
                fmt, "3" if fmt == "zip" else "1001")
            if r.returncode != 0 or not lines or lines[0] != want_head:
                failures.append("%s: exit %d, first line %r" % (name, r.returncode, lines[:1]))
                continue
            if "    0.weight: float32 [3, 4] " + key not in r.stdout or "  step: 7" not in lines:
                failures.append("%s: tree not as expected:\n%s" % (name, r.stdout))
            # The same from a pipe (`cat FILE | pickletool show -`): told by its content too.
            with open(renamed, "rb") as f:
                piped = subprocess.run([tool, "show", "-"], input=f.read(), capture_output=True)
            if (piped.returncode, piped.stdout.decode()) != (0, r.stdout):
                failures.append("%s from a pipe: exit %d, %r" % (name, piped.returncode, piped.stdout[:200]))
    # an ordinary pickle is shown as before
    r = subprocess.run([tool, "show", "-"], input=b"\x80\x04K\x07.", capture_output=True)
    if r.stdout != b"7\n":
        failures.append("plain pickle: %r" % r.stdout)
    for f in failures:
        print("FAIL:", f)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
