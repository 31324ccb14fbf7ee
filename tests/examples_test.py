#!/usr/bin/env python3
"""examples_test: the C++ examples (examples/*.cpp) against the seed's Python
programs (examples/python/*.py), in both directions.

For each program: the C++ version prints the lines the Python one prints
(object ids aside); the pickle bytes the C++ version writes are the bytes
Python writes; what the C++ version writes, Python reads; what Python
writes, the C++ version reads. pickle_load_from_file_1 fails as the seed
describes while SimpleObject is unknown.

The Python programs run unchanged, under a small wrapper that patches
pickle.dump(s) to also save what they write (--write) and pickle.loads to
read a given file instead (--read).

    python3 tests/examples_test.py --bin build/bin [-v]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDIR = os.path.join(ROOT, "examples", "python")

WRAPPER = r'''
import io, pickle, runpy, sys
script, write, read = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = [script] + sys.argv[4:]
real_dump, real_dumps, real_loads = pickle.dump, pickle.dumps, pickle.loads
def save(b):
    if write != "-":
        with open(write, "ab") as f:
            f.write(b)
def dump(obj, file, *a, **k):
    b = real_dumps(obj, *a, **k)
    save(b)
    file.write(b)
def dumps(obj, *a, **k):
    b = real_dumps(obj, *a, **k)
    save(b)
    return b
def loads(b, *a, **k):
    if read != "-":
        with open(read, "rb") as f:
            b = f.read()
    return real_loads(b, *a, **k)
pickle.dump, pickle.dumps, pickle.loads = dump, dumps, loads
sys.path.insert(0, __import__("os").path.dirname(script))
runpy.run_path(script, run_name="__main__")
'''


class Suite:
    def __init__(self, bin_dir, verbose):
        self.bin = os.path.abspath(bin_dir)
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="pklexamples-")

    def path(self, name):
        return os.path.join(self.tmp, name)

    def cpp(self, name, *args):
        p = subprocess.run([os.path.join(self.bin, name)] + list(args), capture_output=True, timeout=120,
                           cwd=self.tmp)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def py(self, name, *args, write=None, read=None):
        if write and os.path.exists(write):
            os.remove(write)
        script = os.path.join(PYDIR, name + ".py")
        p = subprocess.run([sys.executable, "-c", WRAPPER, script, write or "-", read or "-"] + list(args),
                           capture_output=True, timeout=120, cwd=self.tmp,
                           env=dict(os.environ, PYTHONHASHSEED="0"))
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def check(self, what, cond, detail=""):
        if cond:
            self.passed += 1
            if self.verbose:
                print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + (":\n" + detail if detail else ""))

    def same(self, what, got, want):
        self.check(what, got == want, "   C++:    %r\n   Python: %r" % (got, want))

    def read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None


def without_ids(text):
    """Object ids replaced by their order of first appearance, per section."""
    out = []
    for section in text.split("\n\n"):
        seen = {}
        out.append(re.sub(r"\((\d+)\)$", lambda m: "(#%d)" % seen.setdefault(m.group(1), len(seen)),
                          section, flags=re.M))
    return "\n\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    s = Suite(args.bin, args.verbose)

    # pickle_string: the same lines, so the same pickle bytes.
    rc, out, err = s.cpp("pickle_string")
    prc, pout, perr = s.py("pickle_string")
    s.check("pickle_string runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_string prints what Python prints (PICKLE: bytes equal)", out, pout)

    # pickle_unpickle
    rc, out, err = s.cpp("pickle_unpickle")
    prc, pout, perr = s.py("pickle_unpickle")
    s.check("pickle_unpickle runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_unpickle prints what Python prints", out, pout)

    # pickle_stream: lines, and the stream's bytes.
    cw, pw = s.path("stream.cpp.bin"), s.path("stream.py.bin")
    rc, out, err = s.cpp("pickle_stream", "--write", cw)
    prc, pout, perr = s.py("pickle_stream", write=pw)
    s.check("pickle_stream runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_stream prints what Python prints", out, pout)
    s.same("pickle_stream writes Python's bytes", s.read(cw), s.read(pw))

    # pickle_dump_to_file_1 / pickle_load_from_file_1 / _2, both directions.
    cf, pf = s.path("test.cpp.dat"), s.path("test.py.dat")
    rc, out, err = s.cpp("pickle_dump_to_file_1", cf)
    prc, pout, perr = s.py("pickle_dump_to_file_1", pf)
    s.check("pickle_dump_to_file_1 runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_dump_to_file_1 prints what Python prints", out, pout)
    s.same("pickle_dump_to_file_1 writes Python's file", s.read(cf), s.read(pf))
    want = pout.replace("WRITING:", "READ:")
    rc, out, err = s.py("pickle_load_from_file_2", cf)
    s.same("Python pickle_load_from_file_2 reads the C++ file", out, want)
    rc, out, err = s.cpp("pickle_load_from_file_2", pf)
    s.same("C++ pickle_load_from_file_2 reads the Python file", out, want)
    rc, out, err = s.cpp("pickle_load_from_file_2", cf)
    s.same("C++ pickle_load_from_file_2 reads the C++ file", out, want)
    for f, who in ((cf, "C++"), (pf, "Python")):
        rc, out, err = s.cpp("pickle_load_from_file_1", f)
        last = err.strip().splitlines()[-1] if err.strip() else ""
        s.check("C++ pickle_load_from_file_1 fails on the %s file as the seed describes" % who,
                rc == 1 and out == "" and
                last == "AttributeError: Can't get attribute 'SimpleObject' on <module '__main__'>",
                "exit %d, stdout %r, stderr %r" % (rc, out, err))
        prc, pout, perr = s.py("pickle_load_from_file_1", f)
        plast = perr.strip().splitlines()[-1] if perr.strip() else ""
        s.check("Python pickle_load_from_file_1 fails on the %s file too" % who,
                prc != 0 and plast.startswith("AttributeError: Can't get attribute 'SimpleObject' on "
                                              "<module '__main__'"), perr)

    # pickle_state: lines (set_state called with the State), bytes, both directions.
    cw, pw = s.path("state.cpp.bin"), s.path("state.py.bin")
    rc, out, err = s.cpp("pickle_state", "--write", cw)
    prc, pout, perr = s.py("pickle_state", write=pw)
    s.check("pickle_state runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_state prints what Python prints", out, pout)
    s.check("pickle_state: set_state is called with the State",
            "__setstate__(State({'name': 'name here'}))\n" in out, out)
    s.same("pickle_state writes Python's bytes", s.read(cw), s.read(pw))
    rc, out, err = s.py("pickle_state", read=cw)
    s.same("Python pickle_state loads the C++ pickle", out, pout)
    rc, out, err = s.cpp("pickle_state", "--read", pw)
    s.same("C++ pickle_state loads the Python pickle", out, pout)

    # pickle_cycle: lines (ids aside), bytes, both directions.
    cw, pw = s.path("cycle.cpp.bin"), s.path("cycle.py.bin")
    rc, out, err = s.cpp("pickle_cycle", "--write", cw)
    prc, pout, perr = s.py("pickle_cycle", write=pw)
    s.check("pickle_cycle runs", rc == 0 and prc == 0, err + perr)
    s.same("pickle_cycle prints what Python prints (ids aside)", without_ids(out), without_ids(pout))
    s.same("pickle_cycle writes Python's bytes", s.read(cw), s.read(pw))
    rc, out, err = s.py("pickle_cycle", read=cw)
    s.same("Python pickle_cycle reloads the C++ pickle", without_ids(out), without_ids(pout))
    rc, out, err = s.cpp("pickle_cycle", "--read", pw)
    s.same("C++ pickle_cycle reloads the Python pickle", without_ids(out), without_ids(pout))

    shutil.rmtree(s.tmp, ignore_errors=True)
    print("examples: %d passed, %d failed" % (s.passed, s.failed))
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
