#!/usr/bin/env python3
"""py2_instances_test: Python 2 instances through `pickletool recode`,
loaded by CPython 3 with the real classes.

corpus/py2/ (written by oracle/gen_py2.py with Python 2.7's pickle and
cPickle) holds `[obj, obj]` for classic and new-style classes, with and
without __getinitargs__, __getstate__ and __setstate__, at protocols 0-2.
Python 2 writes a classic instance with INST/OBJ and no arguments unless the
class has __getinitargs__; CPython 3 then makes it with cls.__new__(cls),
without calling __init__. For every file and every protocol q in 0..5:

  - `pickletool recode --encoding latin1 --protocol q` succeeds;
  - CPython 3 loads the recode with the real classes below (each __init__
    needs arguments and counts its calls): __init__ runs exactly as often as
    on loading the Python 2 pickle itself (only for __getinitargs__), the
    state is the same, and the two items are one object;
  - the recode is byte for byte CPython 3's own
    pickle.dumps(pickle.loads(b, encoding='latin1'), q) with those classes,
    except in the cases EXPECTED_DIFFERENCES names (the codec records how
    an object was made, the real class forgets it): those must differ, and
    exactly there.

    python3 tests/py2_instances_test.py --bin build/release/bin [-v]
"""
import argparse
import os
import pickle
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "corpus", "py2")
PROTOCOLS = range(6)

INIT_CALLS = []


# ---- the real classes (mirror oracle/gen_py2.py's CLASSES) ------------------

class _Counted(object):
    def __init__(self, a, b):
        INIT_CALLS.append(type(self).__name__)
        self.a = a
        self.b = b


class Classic(_Counted):
    pass


class ClassicInitArgs(_Counted):
    def __getinitargs__(self):  # not used by Python 3's pickler
        return (self.a, self.b)


class ClassicGetState(_Counted):
    def __getstate__(self):
        return (self.a, self.b)

    def __setstate__(self, state):
        self.a, self.b = state


class ClassicSetState(_Counted):
    def __setstate__(self, state):
        self.__dict__.update(state)


class ClassicEmpty(object):
    def __init__(self, a, b):
        INIT_CALLS.append(type(self).__name__)


class ClassicInitArgsGetState(_Counted):
    def __getstate__(self):
        return {"b": self.b}

    def __setstate__(self, state):
        self.b = state["b"]


class NewStyle(_Counted):
    pass


class NewGetState(ClassicGetState):
    pass


class NewInitArgs(ClassicInitArgs):
    pass


MODULE = types.ModuleType("py2inst")
for _c in (Classic, ClassicInitArgs, ClassicGetState, ClassicSetState, ClassicEmpty,
           ClassicInitArgsGetState, NewStyle, NewGetState, NewInitArgs):
    _c.__module__ = "py2inst"
    setattr(MODULE, _c.__name__, _c)
sys.modules["py2inst"] = MODULE

# Classes whose instances Python 2 writes with arguments (INST/OBJ with
# __getinitargs__'s tuple): loading calls __init__.
CALLED = {"ClassicInitArgs", "ClassicInitArgsGetState"}


def expected_difference(cls, proto, q):
    """Why the recode differs from the real class's re-dump, or None.

    An object made by cls.__new__(cls) alone (NEWOBJ, INST/OBJ without
    arguments, copy_reg._reconstructor(cls, object, None)) is written as
    CPython writes an instance of a plain class: byte for byte the real
    class's. Where the pickle says more than the real class keeps (here: a
    call of the class, Python 2's __getinitargs__), the codec keeps what the
    pickle says (oracle/divergences.py: real-class-reduction)."""
    if cls in CALLED:
        return "made by a call of the class: REDUCE of it, where the real class writes NEWOBJ / _reconstructor"
    if cls == "ClassicEmpty" and q >= 2:
        # A __getstate__ returning {} writes NEWOBJ + BUILD {}: recoding
        # CPython's own bytes must give them back (property DecodesCPython).
        return "BUILD of an empty dict kept, where the real class without __getstate__ writes none"
    return None


def state_of(obj):
    return sorted(vars(obj).items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    tool = os.path.join(os.path.abspath(args.bin), "pickletool")
    with open(os.path.join(CORPUS, "MANIFEST.tsv")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    if not rows:
        print("FAIL corpus/py2/MANIFEST.tsv lists no files")
        return 1
    passed = failed = allowed = 0

    def fail(what, detail):
        nonlocal failed
        failed += 1
        print("FAIL %s: %s" % (what, detail))

    for fname, writer, proto, cls, _doc, _sha in rows:
        proto = int(proto)
        with open(os.path.join(CORPUS, fname), "rb") as f:
            data = f.read()
        del INIT_CALLS[:]
        original = pickle.loads(data, encoding="latin1")
        init_original = list(INIT_CALLS)
        want_init = [cls] if cls in CALLED else []
        if init_original != want_init:
            fail(fname, "CPython 3 called __init__ %r on the Python 2 pickle, expected %r" % (init_original, want_init))
            continue
        for q in PROTOCOLS:
            what = "%s q=%d" % (fname, q)
            p = subprocess.run([tool, "recode", "--encoding", "latin1", "--protocol", str(q), "-", "-"],
                               input=data, capture_output=True, timeout=60)
            if p.returncode != 0:
                fail(what, "recode exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip()))
                continue
            recoded = p.stdout
            del INIT_CALLS[:]
            try:
                loaded = pickle.loads(recoded)
            except Exception as e:
                fail(what, "CPython 3 cannot load the recode: %s: %s" % (type(e).__name__, e))
                continue
            if INIT_CALLS != want_init:
                fail(what, "loading the recode called __init__ %r, expected %r" % (INIT_CALLS, want_init))
                continue
            if (type(loaded) is not list or len(loaded) != 2 or loaded[0] is not loaded[1]
                    or type(loaded[0]) is not type(original[0])):
                fail(what, "the recode loads as %r, not one %s twice" % (loaded, cls))
                continue
            if state_of(loaded[0]) != state_of(original[0]):
                fail(what, "state %r, expected %r" % (state_of(loaded[0]), state_of(original[0])))
                continue
            real = pickle.dumps(original, q)
            why = expected_difference(cls, proto, q)
            if why is None and recoded != real:
                fail(what, "recode differs from CPython 3's re-dump with the real class:\n"
                           "   codec:   %r\n   CPython: %r" % (recoded, real))
            elif why is not None and recoded == real:
                fail(what, "recode equals CPython 3's re-dump, but a difference is expected (%s)" % why)
            else:
                if why is None:
                    passed += 1
                else:
                    allowed += 1
                if args.verbose:
                    print("ok   %s%s" % (what, "" if why is None else " (differs as expected: %s)" % why))
    print("py2-instances: %d files x %d protocols: %d byte-identical, %d differ as expected, %d failed"
          % (len(rows), len(PROTOCOLS), passed, allowed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
