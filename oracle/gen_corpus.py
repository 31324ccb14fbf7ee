"""Write seed pickles into corpus/seeds/<pyver>/ from every CPython found.

    python3 oracle/gen_corpus.py            # corpus/seeds + corpus/MANIFEST.tsv
    python3 oracle/gen_corpus.py --large    # also big files into build/corpus-large (not committed)

Every interpreter (2.7, 3.6 .. 3.13) runs WRITER (below, valid Python 2.7
and 3.x) at every protocol it supports, over objects of CORPUSMOD, a module
written to a temporary directory (stdlib only).  A few pickles CPython's
pickler never writes (DUP, BINBYTES8, BINUNICODE8) are hand-made into
corpus/seeds/crafted/.  lib2to3's Grammar*.pickle files shipped with the
Pythons are copied into corpus/seeds/<pyver>/shipped/ (they are small).

Then every file is walked with pickletools.genops: each opcode of
pickletools.opcodes must occur at least once, else the missing ones are
printed and the exit status is 1.  Output is deterministic
(PYTHONHASHSEED=0, sorted, no ids or timestamps in the data).
"""

import argparse
import glob
import io
import os
import pickletools
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CORPUSMOD = r'''
# corpusmod: classes for the seed corpus (Python 2.7 and 3.x).
import sys
PY2 = sys.version_info[0] == 2
try:
    import copyreg
except ImportError:
    import copy_reg as copyreg


class SimpleObject:
    # pymotw's example; an old-style class under Python 2 (INST / OBJ).
    def __init__(self, name):
        self.name = name
        self.name_backwards = name[::-1]


class OldStyleArgs:
    # Old-style with __getinitargs__: INST/OBJ carry arguments under Python 2.
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __getinitargs__(self):
        return (self.a, self.b)


class Plain(object):
    def __init__(self, **kw):
        self.__dict__.update(kw)


class WithState(object):
    def __init__(self, state):
        self.state = state

    def __getstate__(self):
        return self.state

    def __setstate__(self, state):
        self.state = state


class Slotted(object):
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __getstate__(self):
        # Python 2 and < 3.11 need it for __slots__ at protocols 0/1.
        return (None, {"a": self.a, "b": self.b})

    def __setstate__(self, state):
        for k, v in state[1].items():
            setattr(self, k, v)


class SlottedDict(object):
    __slots__ = ("a", "__dict__")

    def __init__(self, a, **kw):
        self.a = a
        self.__dict__.update(kw)


class ReduceItems(object):
    # __reduce__ with state, list items and dict items.
    def __init__(self):
        self.items = []
        self.pairs = []
        self.state = None

    def append(self, x):
        self.items.append(x)

    def extend(self, xs):
        self.items.extend(xs)

    def __setitem__(self, k, v):
        self.pairs.append((k, v))

    def __setstate__(self, state):
        self.state = state

    def __reduce__(self):
        return (ReduceItems, (), self.state, iter(self.items), iter(self.pairs))


class Outer(object):
    class Inner(object):
        class Deep(object):
            pass

        def __init__(self, v=None):
            self.v = v


class NewArgs(object):
    def __new__(cls, *args):
        self = object.__new__(cls)
        self.args = args
        return self

    def __getnewargs__(self):
        return self.args


class NewArgsEx(object):
    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self.args = args
        self.kwargs = kwargs
        return self

    def __getnewargs_ex__(self):
        return (self.args, self.kwargs)


class Node(object):
    # pymotw's digraph.
    def __init__(self, name):
        self.name = name
        self.connections = []

    def add_edge(self, node):
        self.connections.append(node)


class ExtA(object):
    pass


class ExtB(object):
    pass


class ExtC(object):
    pass


class PersRef(object):
    def __init__(self, key):
        self.key = key


def function():
    return None


def register_extensions():
    copyreg.add_extension(__name__, "ExtA", 1)        # EXT1
    copyreg.add_extension(__name__, "ExtB", 300)      # EXT2
    copyreg.add_extension(__name__, "ExtC", 70000)    # EXT4
'''

WRITER = r'''
from __future__ import print_function
import sys, os, io, pickle, functools
sys.path.insert(0, sys.argv[1])
import corpusmod as cm
OUT = sys.argv[2]
LARGE = sys.argv[3] == "1"
PY2 = sys.version_info[0] == 2
HIGHEST = pickle.HIGHEST_PROTOCOL
if PY2:
    text_type = unicode
    long_type = long
else:
    text_type = str
    long_type = int

def u(s):
    # a text string from an ASCII/escape literal, the same under 2 and 3 (a
    # literal without escapes stays itself: Python 3 shares equal literals)
    return s.encode("ascii").decode("unicode_escape") if PY2 or "\\" in s else s

MANIFEST = []

class PersPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, cm.PersRef):
            return obj.key
        return None

def write(name, proto, obj, desc, pickler=None, **kw):
    f = io.BytesIO()
    cls = pickler or pickle.Pickler
    p = cls(f, proto, **kw)
    p.dump(obj)
    data = f.getvalue()
    fn = "%s.p%d.pickle" % (name, proto)
    with open(os.path.join(OUT, fn), "wb") as g:
        g.write(data)
    MANIFEST.append((fn, proto, desc))
    return data

def ints():
    vals = [0, 1, -1, 255, 256, -256, 65535, 65536, -65536, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
            2**63 - 1, -2**63, 2**64, 2**255 * 3, -(2**2047), 2**2040 + 1, -(2**2100) - 7]
    return [long_type(v) if PY2 else v for v in vals]

def floats():
    return [0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, 0.1, float("inf"), float("-inf"), float("nan"), 3.141592653589793]

def texts():
    return [u(""), u("a"), u("\\xff"), u("\\u0100"), u("\\u20ac"), u("\\U0001f600"), u("a\\nb\\\\c"),
            u("x") * 255, u("y") * 256, u("z") * 300, u("\\u00e9") * 128,
            u("tab\\there"), u("nul\\x00byte")] + ([] if PY2 else ["\ud800", "a\udfffb"]) + large_texts()

def large_texts():
    # Around where the codec keeps a str as latin-1 (4096 UTF-8 bytes), one
    # of them twice (a memo GET of it), and one that a last character beyond
    # U+00FF keeps as UTF-8.
    big = u("\\u00e9") * 2048
    return [u("\\u00e9") * 2047, big, big, u("\\u00e9") * 2100 + u("\\u0100")]

def byteses():
    # The last: protocols 0-2 write it as a latin-1 str of 6528 UTF-8 bytes.
    return [b"", b"a", b"\x00", b"\xff", b"ab", b"x" * 255, b"y" * 256, b"z" * 1000,
            bytes(bytearray(range(256))) * 17]

def containers():
    big_list = list(range(1500))
    big_dict = dict((i, -i) for i in range(1200))
    big_set = set(range(1100))
    nested = [[[[1, [2, (3, {4: [5]})]]]], {"k": ({"a": [()]},)}]
    return {"big_list": big_list, "big_dict": big_dict, "big_set": big_set, "nested": nested,
            "small": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1], {}, {1: 2}],
            "sets": [set(), frozenset(), set([1, 2]), frozenset([u("a"), u("b")]), frozenset(range(1200))],
            "bytearrays": [bytearray(), bytearray(b"abc"), bytearray(b"\x00" * 300)]}

def shared():
    a = [1, 2]
    d = {u("k"): a}
    t = (a, a, d)
    lst = [a, d, t, t, a]
    lst.append(lst)
    dd = {}
    dd[u("self")] = dd
    rt = ([],)
    rt[0].append(rt)            # recursive tuple: POP / POP_MARK
    rt2 = ({},)
    rt2[0][1] = rt2
    return {"shared": lst, "selfdict": dd, "rectuple": rt, "rectuple_dict": rt2}

def memo_heavy():
    strs = [u("s%04d") % i for i in range(400)]
    return strs + [strs[0], strs[300], strs[399]]   # BINGET and LONG_BINGET

def graph():
    root, a, b, c = cm.Node("root"), cm.Node("a"), cm.Node("b"), cm.Node("c")
    root.add_edge(a); root.add_edge(b); a.add_edge(b); b.add_edge(a); b.add_edge(c); a.add_edge(a)
    return root

def hooks(p):
    out = [cm.WithState({u("x"): 1}), cm.WithState(0), cm.WithState(u("")), cm.WithState({}),
           cm.WithState(()), cm.WithState(False), cm.WithState([1, 2]),
           cm.Slotted(1, u("two")),
           cm.Plain(name=u("p"), n=1), cm.Outer.Inner(5), cm.Outer.Inner.Deep(),
           cm.NewArgs(1, u("x")), cm.NewArgs(), cm.function, cm.Outer, cm.Outer.Inner,
           cm.Outer.Inner.Deep]
    if p >= 2 or sys.version_info >= (3, 11):
        # __slots__ without __getstate__: copyreg refuses protocols 0/1 before 3.11
        out.append(cm.SlottedDict(3, extra=4))
    r = cm.ReduceItems()
    r.state = {u("s"): 1}
    r.extend([1, 2, 3])
    r[u("k")] = u("v")
    r[u("k")] = u("w")
    out.append(r)
    r2 = cm.ReduceItems()
    r2.extend(range(1500))      # batched APPENDS on a non-list
    out.append(r2)
    if not PY2:
        out.append(cm.NewArgsEx(1, 2, key=u("v")))
        out.append(cm.NewArgsEx())
    return out

def picklable(objs, p):
    # Keep what this Python can pickle at p (Python 2 has no nested
    # classes; older 3.x refuse some at low protocols).
    out = []
    for o in objs:
        try:
            pickle.dumps(o, p)
        except Exception:
            continue
        out.append(o)
    return out

def main():
    protos = range(0, HIGHEST + 1)
    for p in protos:
        write("scalars", p, [None, True, False] + ints() + floats(), "None/bool/int size boundaries/floats incl. nan, inf, -0.0")
        write("text", p, texts(), "str at size boundaries (255/256 bytes), escapes, non-BMP, surrogates (py3)")
        write("bytes", p, byteses(), "bytes at size boundaries; 1-byte and empty bytes")
        for k, v in sorted(containers().items()):
            write("containers_" + k, p, v, "containers: " + k)
        for k, v in sorted(shared().items()):
            write(k, p, v, "shared references / cycles: " + k)
        write("memo", p, memo_heavy(), "400 memoized strings then GETs (LONG_BINGET/LONG_BINPUT)")
        write("graph", p, graph(), "pymotw cyclic Node graph")
        write("simpleobject", p, cm.SimpleObject(u("pickle")), "pymotw SimpleObject")
        write("hooks", p, picklable(hooks(p), p), "getstate/setstate incl. falsy states, slots, reduce items, nested classes, newargs")
        write("partial", p, functools.partial(cm.Plain, 1, k=u("v")), "functools.partial")
        write("persistent", p, [cm.PersRef(u("key1") if p == 0 else (1, u("k"))), 1, cm.PersRef(u("key2") if p == 0 else 2)],
              "persistent ids via Pickler.persistent_id", pickler=PersPickler)
        if p >= 2:
            cm.register_extensions()   # idempotent; only ExtA/B/C are affected
            write("extensions", p, [cm.ExtA, cm.ExtB, cm.ExtC, cm.ExtA],
                  "EXT1/EXT2/EXT4: copyreg.add_extension('corpusmod', ExtA/ExtB/ExtC, 1/300/70000)")
        if PY2:
            write("py2_types", p, [b"str", b"x" * 300, u("unicode"), long_type(5), long_type(2) ** 70, 2 ** 40,
                                   cm.OldStyleArgs(1, b"two"), cm.SimpleObject(b"old")],
                  "Python 2 str/unicode/long, old-style classes (INST/OBJ)")
        if p >= 5:
            pb = pickle.PickleBuffer(b"readonly-data")
            pbw = pickle.PickleBuffer(bytearray(b"writable-data"))
            bufs = []
            data = write("picklebuffer_oob", p, [pb, pbw, pb], "PickleBuffer out-of-band (buffers in .buffers sidecar)",
                         buffer_callback=lambda b: bufs.append(bytes(b.raw())) or False)
            with open(os.path.join(OUT, "picklebuffer_oob.p%d.pickle.buffers" % p), "wb") as g:
                pickle.dump(bufs, g, 5)
            write("picklebuffer_inband", p, [pickle.PickleBuffer(b"ro"), pickle.PickleBuffer(bytearray(b"rw"))],
                  "PickleBuffer in-band (no buffer_callback)")
    if HIGHEST >= 4:
        n = 40000 if LARGE else 3000
        write("frames_big", HIGHEST, [u("%030d") % i for i in range(n)],
              "frames > 64 KiB (many small objects)")
    if LARGE:
        write("large_bytes", HIGHEST, [b"\x01" * (5 << 20), list(range(200000))], "large payloads")
    for fn, p, desc in MANIFEST:
        print("%s\t%d\t%s" % (fn, p, desc))

main()
'''


def crafted(out_dir):
    """Valid pickles that CPython's pickler never writes."""
    cases = [
        ("dup", b"\x80\x02]q\x002a.", 2, "DUP: a list appended to its own duplicate"),
        ("binbytes8", b"\x80\x04\x8e\x03\x00\x00\x00\x00\x00\x00\x00abc.", 4, "BINBYTES8 with a short payload"),
        ("binunicode8", b"\x80\x04\x8d\x03\x00\x00\x00\x00\x00\x00\x00abc.", 4, "BINUNICODE8 with a short payload"),
        ("bytearray8_p4", b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00hi.", 5, "BYTEARRAY8"),
        ("stream3", b"K\x01.K\x02.\x80\x04K\x03.", 0, "three concatenated pickles"),
        ("proto_switch", b"\x80\x02c__builtin__\nset\n\x80\x04c__builtin__\nset\n\x86.", 2,
         "PROTO 2 then PROTO 4: fix_imports stops applying mid-pickle"),
        ("newobj_ex_empty", b"\x80\x04\x8c\x01m\x8c\x01C\x93)}\x92\x8c\x01m\x8c\x01C\x93)\x81\x86.", 4,
         "NEWOBJ_EX with empty kwargs next to NEWOBJ"),
        ("inst_noargs", b"(i__main__\nC\n(dp0\nS'a'\nI1\nsb.", 0, "INST without args (instantiate -> cls.__new__)"),
    ]
    rows = []
    for name, data, proto, desc in cases:
        fn = "%s.p%d.pickle" % (name, proto)
        with open(os.path.join(out_dir, fn), "wb") as f:
            f.write(data)
        rows.append((fn, proto, desc))
    return rows


def opcode_coverage(paths):
    seen = set()
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        # Walk every pickle of a stream.
        while pos < len(data):
            bio = io.BytesIO(data)
            bio.seek(pos)
            last = None
            try:
                for op, arg, p in pickletools.genops(bio):
                    seen.add(op.name)
                    last = op.name
            except Exception:
                break
            if last != "STOP":
                break
            pos = bio.tell()
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true", help="also write big seeds into build/corpus-large")
    ap.add_argument("--out", default=os.path.join(ROOT, "corpus"))
    a = ap.parse_args()
    seeds = os.path.join(a.out, "seeds")
    if os.path.isdir(seeds):
        shutil.rmtree(seeds)
    os.makedirs(seeds)
    manifest = []
    tmp = tempfile.mkdtemp(prefix="corpusmod-")
    try:
        with open(os.path.join(tmp, "corpusmod.py"), "w") as f:
            f.write(CORPUSMOD)
        found = pythons.find_pythons()
        done = set()
        for py in found:
            if py.version in done:
                continue
            done.add(py.version)
            for large in ([False, True] if a.large else [False]):
                out_dir = (os.path.join(ROOT, "build", "corpus-large", py.version) if large
                           else os.path.join(seeds, py.version))
                os.makedirs(out_dir, exist_ok=True)
                r = pythons.run_snippet(py, WRITER, [tmp, out_dir, "1" if large else "0"], cwd=tmp)
                if r.returncode != 0:
                    sys.stderr.write("writer failed under %s:\n%s\n" % (py, r.stderr.decode("utf-8", "replace")))
                    return 2
                if large:
                    continue
                for line in r.stdout.decode("utf-8").splitlines():
                    fn, proto, desc = line.split("\t")
                    manifest.append(("seeds/%s/%s" % (py.version, fn), py.version, proto, desc))
            # lib2to3 ships pickled grammars: small, real-world pickles.
            root = os.path.dirname(os.path.dirname(py.path))
            for g in sorted(glob.glob(os.path.join(root, "lib", "python*", "lib2to3", "*.pickle")) +
                            glob.glob(os.path.join(root, "lib", "python*", "test", "**", "*.pickle"),
                                      recursive=True)):
                if os.path.getsize(g) > 100 * 1024:
                    continue
                d = os.path.join(seeds, py.version, "shipped")
                os.makedirs(d, exist_ok=True)
                shutil.copyfile(g, os.path.join(d, os.path.basename(g)))
                with open(g, "rb") as f:
                    head = f.read(2)
                proto = head[1] if head[:1] == b"\x80" else 0
                manifest.append(("seeds/%s/shipped/%s" % (py.version, os.path.basename(g)), py.version,
                                 str(proto), "shipped with CPython: " + os.path.relpath(g, root)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cdir = os.path.join(seeds, "crafted")
    os.makedirs(cdir)
    for fn, proto, desc in crafted(cdir):
        manifest.append(("seeds/crafted/" + fn, "crafted", str(proto), desc))
    manifest.sort()
    with open(os.path.join(a.out, "MANIFEST.tsv"), "w") as f:
        f.write("file\tpython\tprotocol\tdescription\n")
        for row in manifest:
            f.write("\t".join(row) + "\n")
    files = [os.path.join(a.out, row[0]) for row in manifest]
    total = sum(os.path.getsize(p) for p in files)
    seen = opcode_coverage(files)
    allops = set(op.name for op in pickletools.opcodes)
    missing = sorted(allops - seen)
    print("wrote %d files, %d bytes (%.2f MB) under %s" % (len(files), total, total / 1048576.0, seeds))
    print("opcodes covered: %d/%d" % (len(allops & seen), len(allops)))
    if missing:
        print("MISSING opcodes: " + " ".join(missing))
        return 1
    if total > 5 * 1024 * 1024:
        print("corpus exceeds 5 MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
