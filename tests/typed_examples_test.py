#!/usr/bin/env python3
"""typed_examples_test: the examples ported to PKL_CLASS (examples/*_bound.cpp)
print what the seed's Python programs print and write the bytes they write,
and read what the Python programs write (pickle_load_from_file_2_bound on the
file pickle_dump_to_file_1.py wrote).

    python3 tests/typed_examples_test.py --bin build/release/bin
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDIR = os.path.join(ROOT, "examples", "python")

# Runs a seed program, saving every pickle it writes (pickle.dump / dumps) to a file.
WRAPPER = r'''
import io, pickle, runpy, sys
script, out = sys.argv[1], sys.argv[2]
real_dumps = pickle.dumps
def save(b):
    with open(out, "ab") as f:
        f.write(b)
def dumps(obj, *a, **k):
    b = real_dumps(obj, *a, **k); save(b); return b
def dump(obj, file, *a, **k):
    b = real_dumps(obj, *a, **k); save(b); file.write(b)
pickle.dumps, pickle.dump = dumps, dump
sys.argv = [script]
runpy.run_path(script, run_name="__main__")
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("pickle_state", "pickle_stream"):
            py_bytes = os.path.join(tmp, name + ".py.bin")
            cpp_bytes = os.path.join(tmp, name + ".cpp.bin")
            py = subprocess.run([sys.executable, "-c", WRAPPER, os.path.join(PYDIR, name + ".py"), py_bytes],
                                capture_output=True, text=True)
            cpp = subprocess.run([os.path.join(args.bin, name + "_bound"), "--write", cpp_bytes],
                                 capture_output=True, text=True)
            if py.returncode or cpp.returncode:
                failures.append("%s: exit %d (python) %d (c++): %s %s" % (name, py.returncode, cpp.returncode,
                                                                         py.stderr, cpp.stderr))
                continue
            if py.stdout != cpp.stdout:
                failures.append("%s: output differs\n--- python\n%s--- c++\n%s" % (name, py.stdout, cpp.stdout))
            with open(py_bytes, "rb") as f:
                pyb = f.read()
            with open(cpp_bytes, "rb") as f:
                cppb = f.read()
            if pyb != cppb:
                failures.append("%s: bytes differ\n python %r\n c++    %r" % (name, pyb, cppb))
            print("%s: %s" % (name, "ok" if pyb == cppb and py.stdout == cpp.stdout else "FAIL"))
        # pickle_dump_to_file_1: the file's bytes and the lines; then each side
        # reads the other's file as pickle_load_from_file_2 does.
        py_file, cpp_file = os.path.join(tmp, "py.dat"), os.path.join(tmp, "cpp.dat")
        py = subprocess.run([sys.executable, os.path.join(PYDIR, "pickle_dump_to_file_1.py"), py_file],
                            capture_output=True, text=True)
        cpp = subprocess.run([os.path.join(args.bin, "pickle_dump_to_file_1_bound"), cpp_file],
                             capture_output=True, text=True)
        same = (py.returncode == cpp.returncode == 0 and py.stdout == cpp.stdout and
                open(py_file, "rb").read() == open(cpp_file, "rb").read())
        if not same:
            failures.append("pickle_dump_to_file_1: output or bytes differ\n%s%s" % (py.stdout, cpp.stdout))
        env = dict(os.environ, PYTHONPATH=PYDIR)
        want = subprocess.run([sys.executable, os.path.join(PYDIR, "pickle_load_from_file_2.py"), py_file],
                              capture_output=True, text=True, env=env)
        for f in (py_file, cpp_file):
            got = subprocess.run([os.path.join(args.bin, "pickle_load_from_file_2_bound"), f],
                                 capture_output=True, text=True)
            if got.returncode != 0 or got.stdout != want.stdout or not want.stdout:
                failures.append("pickle_load_from_file_2 of %s:\n--- python\n%s--- c++\n%s%s" % (
                    os.path.basename(f), want.stdout, got.stdout, got.stderr))
        print("pickle_dump_to_file_1 / pickle_load_from_file_2: %s" % ("ok" if same else "FAIL"))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
