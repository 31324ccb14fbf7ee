#!/usr/bin/env python3
r"""Where CPython's own loaders disagree: a differential explorer.

Feeds inputs to three loaders of the running CPython (3.11):
  loads   pickle.loads(bytes)                    (the C unpickler on a buffer)
  file    pickle.Unpickler(f).load()             (the C unpickler on a file that can peek)
  python  pickle._Unpickler(f).load()            (the pure-Python unpickler: joblib.load's)
with a find_class that imports nothing: every (module, name) becomes a
recording stand-in type whose call, __new__ and item methods are logged. Each
load's outcome is its log (find_class, calls, news, methods, BUILD's
setattr), then how it ended (the result's shape, or the error), and, for the
file loaders, where the file was left. Inputs where the outcomes differ are
classified (the pure-Python loader goes on where the C one stops, or the
reverse, or both fail with other texts, ...) and counted.

Inputs: the pickles of corpus/scan, corpus/seeds, corpus/fuzz_decode,
corpus/fuzz_scan and corpus/regressions, the hand-written cases below
(CASES), and seeded mutants of them (byte flips, opcode swaps, cuts).

  python3 oracle/loader_diff.py                       # counts per class
  python3 oracle/loader_diff.py --mutants 20000 -v    # with an example per class
  python3 oracle/loader_diff.py --cases               # the hand-written cases only, each shown
"""
import argparse
import io
import os
import pickle
import random
import re
import resource
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOG = []


def short(x, depth=0):
    """A deterministic, bounded description of a value built by a load."""
    if depth > 3:
        return "..."
    t = type(x)
    if isinstance(x, Obj):
        d = {k: short(v, depth + 1) for k, v in sorted(x.__dict__.items(), key=lambda kv: str(kv[0]))}
        return f"<{object.__getattribute__(x, '_pti_name')} {d}>"
    if isinstance(x, type) and issubclass(x, Stand):
        return x._pti_name
    if t in (list, tuple, set, frozenset):
        items = [short(i, depth + 1) for i in list(x)[:8]]
        if t in (set, frozenset):
            items.sort()
        return f"{t.__name__}[{', '.join(items)}{', ...' if len(x) > 8 else ''}]"
    if t is dict:
        items = [f"{short(k, depth + 1)}: {short(v, depth + 1)}" for k, v in list(x.items())[:8]]
        return "{" + ", ".join(items) + "}"
    if t in (bytes, bytearray, str):
        return repr(x[:40])
    if t in (int, float, bool, type(None)):
        r = repr(x)
        return r if len(r) < 40 else r[:20] + "..."
    return f"<{t.__name__}>"


class Meta(type):
    def __call__(cls, *args, **kw):
        LOG.append(("call", cls._pti_name, short(args), short(kw)))
        return Obj._make(cls._pti_name + "()")

    def __repr__(cls):
        return cls._pti_name


class Stand(metaclass=Meta):
    _pti_name = "?"

    def __new__(cls, *args, **kw):
        LOG.append(("new", cls._pti_name, short(args), short(kw)))
        return Obj._make(cls._pti_name)


class Obj(object):
    """What a stand-in's call or __new__ makes: records the item methods and setattr."""

    @staticmethod
    def _make(name):
        o = object.__new__(Obj)
        object.__setattr__(o, "_pti_name", name)
        return o

    def __setattr__(self, k, v):
        LOG.append(("setattr", object.__getattribute__(self, "_pti_name"), short(k)))
        object.__setattr__(self, k, v)

    def append(self, x):
        LOG.append(("append", self._pti_name))

    def extend(self, xs):
        LOG.append(("extend", self._pti_name, len(list(xs))))

    def __setitem__(self, k, v):
        LOG.append(("__setitem__", self._pti_name, short(k)))

    def add(self, x):
        LOG.append(("add", self._pti_name))


class WholeFile(object):
    """A file whose first read(n) gives the whole input: the C unpickler then reads from its buffer
    alone, as pickle.loads does on bytes (checked against pickle.loads on pickles naming no global)."""

    def __init__(self, data):
        self.data = data

    def read(self, n=-1):
        data, self.data = self.data, b""
        return data

    def readline(self):
        return b""

    def readinto(self, b):
        return 0


def stand_in(module, name):
    return Meta(name, (Stand,), {"_pti_name": f"{module}.{name}"})


class CFile(pickle.Unpickler):
    def find_class(self, module, name):
        LOG.append(("find_class", module, name))
        return stand_in(module, name)

    def persistent_load(self, pid):
        LOG.append(("persistent_load", short(pid)))
        return Obj._make("pid")


class PyFile(pickle._Unpickler):
    def find_class(self, module, name):
        LOG.append(("find_class", module, name))
        return stand_in(module, name)

    def persistent_load(self, pid):
        LOG.append(("persistent_load", short(pid)))
        return Obj._make("pid")


def outcome(loader, data):
    """(log, end, position) of one load under `loader`."""
    del LOG[:]
    pos = None
    try:
        if loader == "loads":
            # pickle.loads takes no find_class: a C Unpickler whose first read returns the whole input
            # holds it in its buffer as loads does, and never reads its file again (WholeFile).
            r = CFile(WholeFile(data)).load()
        else:
            f = io.BufferedReader(io.BytesIO(data))
            u = (CFile if loader == "file" else PyFile)(f)
            try:
                r = u.load()
            finally:
                pos = f.tell()
        end = "ok " + short(r)
    except RecursionError:
        end = "RecursionError"
    except MemoryError:
        end = "MemoryError"
    except Exception as e:  # noqa: BLE001 -- any failure is an outcome
        end = f"{type(e).__name__}: {str(e)[:80]}"
    return list(LOG), end, pos


LOADERS = ("loads", "file", "python")


def norm(end):
    return re.sub(r"\d+", "N", re.sub(r"'.*?'", "'X'", end))


def classify(outs):
    """A class name for three outcomes that differ (None when they agree)."""
    (cl, ce, _), (fl, fe, fp), (pl, pe, pp) = (outs[k] for k in LOADERS)
    both_ok = fe.startswith("ok") and pe.startswith("ok")
    if (cl, ce) == (fl, fe) == (pl, pe) and (fp == pp or not both_ok):
        return None

    def end(e):  # how a load ended: ok, or the error's type and the start of its text
        return "ok" if e.startswith("ok") else norm(e)[:48]
    if (cl, ce) != (fl, fe):
        return f"C loads vs C file: loads {end(ce)} | file {end(fe)}"
    c_ok, p_ok = ce.startswith("ok"), pe.startswith("ok")
    if cl == pl:
        if c_ok and p_ok:
            return "both load, other results" if ce != pe else f"file left elsewhere (C at {fp}, Py at {pp})"
        if not c_ok and not p_ok:
            return "both fail after the same steps (error texts differ)"
        return f"only {'C' if c_ok else 'Py'} loads, same steps: C {end(ce)} | Py {end(pe)}"
    if pl[:len(cl)] == cl:
        who, extra = "Py", pl[len(cl):]
    elif cl[:len(pl)] == pl:
        who, extra = "C", cl[len(pl):]
    else:
        return f"steps diverge: C {end(ce)} | Py {end(pe)}"
    kinds = "/".join(sorted({e[0] for e in extra}))
    return f"{who} goes on ({kinds}): C {end(ce)} | Py {end(pe)}"


def u8(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def g(m, n):
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


P2, P4 = b"\x80\x02", b"\x80\x04"
SYS = g("os", "system")

# Hand-written cases: (name, bytes). Each is a candidate difference.
CASES = [
    ("reduce list args", P2 + g("m", "f") + b"]" + u8("x") + b"aR" + SYS + u8("true") + b"\x85R."),
    ("reduce None args", P2 + g("m", "f") + b"NR."),
    ("newobj non-type cls", P2 + g("m", "f") + b"K\x01\x85\x81."),
    ("newobj list args", P2 + g("m", "C") + b"]\x81" + SYS + u8("true") + b"\x85R."),
    ("newobj_ex list kwargs", P4 + g("m", "C") + b")]\x92."),
    ("newobj_ex tuple kwargs", P4 + g("m", "C") + b"))\x92."),
    ("build falsy 0", P2 + g("m", "C") + b")\x81K\x00b" + SYS + u8("true") + b"\x85R."),
    ("build falsy empty str", P2 + g("m", "C") + b")\x81X\x00\x00\x00\x00b."),
    ("build falsy empty list", P2 + g("m", "C") + b")\x81]b."),
    ("build falsy empty tuple", P2 + g("m", "C") + b")\x81)b."),
    ("build non-dict state", P2 + g("m", "C") + b")\x81K\x01b."),
    ("build slot state list", P2 + g("m", "C") + b")\x81N]\x86b."),
    ("build slot state empty tuple", P2 + g("m", "C") + b")\x81N)\x86b."),
    ("build on int", P2 + b"K\x01}b."),
    ("build on int falsy", P2 + b"K\x01K\x00b."),
    ("setitems odd on object", P2 + g("m", "C") + b")\x81(K\x01K\x02K\x03u."),
    ("setitems odd on dict", P2 + b"}(K\x01K\x02K\x03u."),
    ("inst without mark", b"im\nC\n."),
    ("inst bad module", b"(i\x80\nC\n."),
    ("text line at eof", b"I1"),
    ("int underscores", b"I1_0\n."),
    ("int spaces", b"I 10 \n."),
    ("int plus", b"I+10\n."),
    ("long underscores", b"L1_0L\n."),
    ("put underscores", b"I1\np1_0\ng10\n."),
    ("put negative", b"I1\np-1\n."),
    ("get negative", b"I1\np1\ng-1\n."),
    ("get spaces", b"I1\np1\ng 1\n."),
    ("binput then get str", P2 + b"K\x01q\x05g5\n."),
    ("pop at mark", P2 + b"(0K\x01."),
    ("pop mark empty", P2 + b"1."),
    ("frame short", P4 + b"\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x01."),
    ("frame in frame", P4 + b"\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01\x95\x01\x00\x00\x00\x00\x00\x00\x00."),
    ("stop in frame", P4 + b"\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.K\x02"),
    ("proto 6", b"\x80\x06K\x01."),
    ("string quotes", b"S'abc\"\n."),
    ("string no quotes", b"Sabc\n."),
    ("float junk", b"F1.0x\n."),
    ("float spaces", b"F 1.0 \n."),
    ("persid non-ascii", b"P\xe9\n."),
    ("binpersid", P2 + b"K\x01Q."),
    ("dup empty", P2 + b"2."),
    ("append to object", P2 + g("m", "C") + b")\x81K\x01a."),
    ("appends empty on object", P2 + g("m", "C") + b")\x81(e."),
    ("appends to object", P2 + g("m", "C") + b")\x81(K\x01K\x02e."),
    ("additems on object", P2 + g("m", "C") + b")\x81(K\x01\x90."),
    ("stack_global bytes", P4 + b"C\x01mC\x01f\x93."),
    ("ext unregistered", P2 + b"\x82\x01."),
    ("dict odd", P2 + b"(K\x01d."),
    ("obj empty", P2 + b"(o."),
    ("obj non-class", P2 + b"(K\x01o."),
    ("global non-utf8", b"c\xff\nf\n."),
    ("binunicode surrogate", P2 + b"X\x03\x00\x00\x00\xed\xa0\x80."),
    ("memo long binget", P2 + b"K\x01r\x00\x00\x00\x80j\x00\x00\x00\x80."),
    ("tuple no mark", P2 + b"K\x01t."),
    ("mark at stop", P2 + b"(."),
    ("readonly buffer", P4 + b"K\x01\x98."),
    ("next buffer", P4 + b"\x97."),
    ("bytearray8", b"\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00a."),
    ("empty", b""),
    ("long4 negative", P2 + b"\x8b\xff\xff\xff\xff."),
    ("binstring negative", P2 + b"T\xff\xff\xff\xff."),
]


def corpus_inputs():
    out = []
    for sub in ("scan", "seeds", "fuzz_decode", "fuzz_scan", "regressions", "fuzz_decode_paths"):
        top = os.path.join(ROOT, "corpus", sub)
        for dirpath, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith((".tsv", ".md", ".txt", ".json")):
                    continue
                p = os.path.join(dirpath, f)
                if os.path.getsize(p) <= 1 << 16:
                    out.append((os.path.relpath(p, ROOT), open(p, "rb").read()))
    return out


# Opcode swaps that keep the shape: each byte may become one of its group.
SWAPS = [b"t]\x85\x86\x87)", b"RbQ\x81", b"\x81\x92R", b"us\x90ae", b"0123", b"Kh\x94q", b"bR0"]


def mutate(rng, data):
    b = bytearray(data)
    if not b:
        return bytes(b)
    for _ in range(rng.randint(1, 3)):
        if not b:
            break
        r = rng.random()
        i = rng.randrange(len(b))
        if r < 0.35:
            for grp in SWAPS:
                if b[i] in grp:
                    b[i] = rng.choice(grp)
                    break
            else:
                b[i] = rng.choice(b"tR0b\x81\x92(u.Ne]")
        elif r < 0.55:
            b.insert(i, rng.choice(b"0(tR]NK)\x85b"))
        elif r < 0.7:
            del b[i]
        elif r < 0.8:
            del b[i:]
            if not b:
                b = bytearray(data[:1])
        else:
            b[i] = rng.randrange(256)
    return bytes(b)


def run(inputs, verbose):
    classes = {}
    for name, data in inputs:
        outs = {k: outcome(k, data) for k in LOADERS}
        c = classify(outs)
        if c is None:
            continue
        ent = classes.setdefault(c, [0, name, data, outs])
        ent[0] += 1
    return classes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mutants", type=int, default=5000, help="how many mutants (default 5000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", action="store_true", help="the hand-written cases only, each shown")
    ap.add_argument("-v", action="store_true", help="an example per class")
    a = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    sys.setrecursionlimit(3000)
    if a.cases:
        for name, data in CASES:
            outs = {k: outcome(k, data) for k in LOADERS}
            c = classify(outs)
            print(f"{name:28} {'same' if c is None else c}")
            if c and a.v:
                for k in LOADERS:
                    print(f"    {k:6} {outs[k][1]}  pos={outs[k][2]}  steps={outs[k][0]}")
        return 0
    base = corpus_inputs() + [("case:" + n, d) for n, d in CASES]
    rng = random.Random(a.seed)
    mutants = []
    for k in range(a.mutants):
        name, data = rng.choice(base)
        mutants.append((f"mutant {k} of {name}", mutate(rng, data)))
    classes = run(base + mutants, a.v)
    total = sum(v[0] for v in classes.values())
    print(f"{len(base)} inputs + {len(mutants)} mutants: {total} differ, {len(classes)} classes")
    for c, (n, name, data, outs) in sorted(classes.items(), key=lambda kv: -kv[1][0]):
        print(f"{n:6}  {c}")
        if a.v:
            print(f"        e.g. {name}: {data[:80]!r}")
            for k in LOADERS:
                print(f"        {k:6} {outs[k][1][:90]}  pos={outs[k][2]}  steps={outs[k][0][:6]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
