#!/usr/bin/env python3
"""Write corpus/py2/: Python 2.7 pickles of class instances + MANIFEST.tsv.

Python 2 writes a classic-class instance with INST (protocol 0) or OBJ
(protocols 1 and 2) and no arguments unless the class has
__getinitargs__; a new-style instance as copy_reg._reconstructor (0-1) or
NEWOBJ (2). CPython 3 makes an INST/OBJ instance without arguments with
cls.__new__(cls): __init__ is not called. tests/py2_instances_test.py loads
these files with real classes (the ones in PY3_CLASSES there mirror
CLASSES here) and checks what `pickletool recode` writes for them.

Each file is `[obj, obj]` (one instance, written once then by memo) for
every class of CLASSES, by `pickle` and `cPickle`, at protocols 0, 1 and 2.

    python3 oracle/gen_py2.py          # needs $(pyenv root)/versions/2.7*/bin/python

Without a Python 2.7 on the machine it says so and changes nothing (the
committed files are tested all the same).
"""
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "corpus", "py2")
sys.path.insert(0, HERE)

# The classes, in Python 2. Each __init__ needs its arguments, as the Python
# 3 counterparts' do (a call without them would fail the load).
CLASSES = r'''
class Classic:
    """Plain classic class: INST/OBJ without arguments, BUILD of __dict__."""
    def __init__(self, a, b):
        self.a = a
        self.b = b

class ClassicInitArgs:
    """__getinitargs__: INST/OBJ with arguments, so __init__ runs on load."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __getinitargs__(self):
        return (self.a, self.b)

class ClassicGetState:
    """__getstate__ / __setstate__: BUILD of a tuple."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __getstate__(self):
        return (self.a, self.b)
    def __setstate__(self, state):
        self.a, self.b = state

class ClassicSetState:
    """__setstate__ only: BUILD of __dict__, given to __setstate__."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __setstate__(self, state):
        self.__dict__.update(state)

class ClassicEmpty:
    """No attributes: BUILD of an empty dict."""
    def __init__(self, a, b):
        pass

class ClassicInitArgsGetState:
    """__getinitargs__ and __getstate__ / __setstate__."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __getinitargs__(self):
        return (self.a, 0)
    def __getstate__(self):
        return {'b': self.b}
    def __setstate__(self, state):
        self.b = state['b']

class NewStyle(object):
    """New-style: copy_reg._reconstructor (0-1), NEWOBJ (2)."""
    def __init__(self, a, b):
        self.a = a
        self.b = b

class NewGetState(object):
    """New-style with __getstate__ / __setstate__."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __getstate__(self):
        return (self.a, self.b)
    def __setstate__(self, state):
        self.a, self.b = state

class NewInitArgs(object):
    """New-style: __getinitargs__ is not used."""
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __getinitargs__(self):
        return (self.a, self.b)
'''

# Runs under Python 2.7: defines CLASSES in a module `py2inst`, then prints
# one line per pickle: name, writer, protocol, hex of the bytes.
PY2_SNIPPET = r'''
import imp, pickle, cPickle, sys, binascii
mod = imp.new_module("py2inst")
sys.modules["py2inst"] = mod
exec(compile(CLASSES, "py2inst", "exec"), mod.__dict__)
names = [n for n in sorted(mod.__dict__) if isinstance(mod.__dict__[n], (type, type(mod.Classic)))]
for name in names:
    cls = getattr(mod, name)
    doc = (cls.__doc__ or "").strip()
    for writer in (pickle, cPickle):
        for proto in (0, 1, 2):
            obj = cls(1, "text \xe9")
            data = writer.dumps([obj, obj], proto)
            sys.stdout.write("%s\t%s\t%d\t%s\t%s\n" % (name, writer.__name__, proto, doc,
                                                      binascii.hexlify(data)))
'''


def python27():
    import pythons
    for p in pythons.find_pythons():
        if p.short == "2.7":
            return p.path
    return None


def main():
    py = python27()
    if py is None:
        print("gen_py2: no Python 2.7 on this machine; corpus/py2/ left as it is")
        return 0
    code = "CLASSES = %r\n%s" % (CLASSES, PY2_SNIPPET)
    out = subprocess.run([py, "-c", code], capture_output=True, check=True,
                         env=dict(os.environ, PYTHONHASHSEED="0")).stdout.decode("ascii")
    os.makedirs(OUT, exist_ok=True)
    rows = ["file\twriter\tprotocol\tclass\tdescription\tsha256"]
    for line in out.splitlines():
        name, writer, proto, doc, hexdata = line.split("\t")
        data = bytes.fromhex(hexdata)
        fname = "%s.%s.p%s.pickle" % (name, writer, proto)
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        rows.append("\t".join([fname, "python 2.7 " + writer, proto, name, doc,
                               hashlib.sha256(data).hexdigest()]))
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("gen_py2: %d pickles in %s" % (len(rows) - 1, os.path.relpath(OUT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
