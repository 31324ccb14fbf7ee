"""Raw seed pickles for the fuzz targets (before minimizing with -merge=1).

    python3 fuzz/make_seeds.py OUT_DIR [--python EXE]...

Writes OUT_DIR/pickles/: one pickle per (value, protocol) from each Python
given (default: this one, plus pyenv's 2.7 and 3.6 when present), and
OUT_DIR/fuzz_<target>/: each target's raw seeds in its input format
(fuzz_stream: several pickles and a read-pattern byte; fuzz_structured:
pickles, plus graph-mode inputs starting with 0xff). ci/fuzz --reseed runs
this and merges the result into corpus/<target>/.
This file runs under Python 2.7 too (the generator part is sent to each
interpreter on stdin).
"""
import os
import random
import subprocess
import sys

# Runs in each interpreter: prints "name protocol hex" lines.
GENERATOR = r'''
import pickle, sys, binascii, collections, datetime, decimal, fractions
PY3 = sys.version_info[0] >= 3

class Point(object):
    def __init__(self, x, y): self.x = x; self.y = y

class Slotted(object):
    __slots__ = ("a", "b")
    def __init__(self): self.a = 1; self.b = [2]

class WithNewArgs(object):
    def __new__(cls, *args): return object.__new__(cls)
    def __init__(self, v): self.v = v
    def __getnewargs__(self): return (self.v,)

class WithState(object):
    def __init__(self, s): self.s = s
    def __getstate__(self): return self.s
    def __setstate__(self, s): self.s = s

class MyList(list): pass
class MyDict(dict): pass
class Outer(object):
    class Inner(object): pass

class OldStyle: pass

Point.__module__ = WithState.__module__ = MyList.__module__ = MyDict.__module__ = "__main__"

values = {}
values["none"] = None
values["bools"] = [True, False]
values["ints"] = [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63, -2**63 - 1, 10**40]
values["floats"] = [0.0, -0.0, 1.5, 1e300, float("inf"), float("-inf"), float("nan"), 5e-324]
values["strs"] = [u"", u"a", u"\xe9", u"\u20ac", u"caf\xe9 \n\\ \x00", u"x" * 300]
values["bytes"] = [b"", b"a", b"\x00\xff", b"y" * 300]
values["bytearray"] = bytearray(b"abc")
values["tuples"] = [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]
values["dict"] = {u"a": 1, u"b": [1, 2], 3: (u"c",), (1, 2): None}
values["sets"] = [set([1, 2, 3]), frozenset([u"a", u"b"]), set(), frozenset()]
shared = [1, 2]
values["shared"] = [shared, shared, {u"k": shared}]
rec = []
rec.append(rec)
values["recursive_list"] = rec
d = {}
d[u"self"] = d
values["recursive_dict"] = d
t = ([],)
t[0].append(t)
values["recursive_tuple"] = t
values["objects"] = [Point(1, u"two"), Slotted(), WithNewArgs(3), WithState({u"s": 1}), WithState(0)]
ml = MyList([1, 2]); ml.attr = 1
md = MyDict(a=1)
values["subclasses"] = [ml, md]
values["nested_class"] = Outer.Inner
values["classes"] = [Point, int, type(None)]
values["stdlib"] = [collections.OrderedDict([(u"a", 1)]), datetime.datetime(2020, 1, 2, 3, 4, 5),
                    decimal.Decimal("1.5"), fractions.Fraction(1, 3), complex(1, 2)]
values["deep"] = [[[[[[[[[[u"deep"]]]]]]]]]]
values["big_list"] = list(range(1200))
values["big_dict"] = dict((i, i) for i in range(1100))
if not PY3:
    values["oldstyle"] = OldStyle()
    values["py2str"] = ["abc", "\xff", u"u"]
if PY3:
    values["defaultdict"] = collections.defaultdict(list, {u"a": [1]})
    ns = {}
    exec("class KwOnly(object):\n"
         "    def __new__(cls, *, a): return object.__new__(cls)\n"
         "    def __getnewargs_ex__(self): return ((), {'a': 1})\n", ns)
    KwOnly = ns["KwOnly"]
    KwOnly.__module__ = "__main__"
    values["newobj_ex"] = KwOnly.__new__(KwOnly, a=1)
    if sys.version_info >= (3, 8):
        values["picklebuffer"] = [pickle.PickleBuffer(b"ro"), pickle.PickleBuffer(bytearray(b"rw"))]

for name in sorted(values):
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        try:
            data = pickle.dumps(values[name], proto)
        except Exception:
            continue
        sys.stdout.write("%s %d %s\n" % (name, proto, binascii.hexlify(data).decode("ascii")))
'''


def pyenv_pythons():
    out = []
    try:
        root = subprocess.check_output(["pyenv", "root"]).decode().strip()
    except Exception:
        return out
    for v in ("2.7", "3.6"):
        versions = os.path.join(root, "versions")
        for d in sorted(os.listdir(versions)) if os.path.isdir(versions) else []:
            exe = os.path.join(versions, d, "bin", "python")
            if d.startswith(v + ".") and os.path.exists(exe):
                out.append(exe)
                break
    return out


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    out = argv[1]
    pythons = [sys.executable]
    explicit = [argv[i + 1] for i, a in enumerate(argv) if a == "--python"]
    pythons = explicit or pythons + pyenv_pythons()
    pickles = []
    os.makedirs(os.path.join(out, "pickles"), exist_ok=True)
    for exe in pythons:
        tag = subprocess.check_output([exe, "-c", "import sys; print('py%d%d' % sys.version_info[:2])"]).decode().strip()
        text = subprocess.run([exe, "-"], input=GENERATOR.encode(), stdout=subprocess.PIPE, check=True).stdout
        for line in text.decode().splitlines():
            name, proto, hexdata = line.split()
            data = bytes.fromhex(hexdata)
            pickles.append(data)
            write(os.path.join(out, "pickles", "%s-%s-p%s.pkl" % (tag, name, proto)), data)

    rng = random.Random(1)
    for target in ("fuzz_decode", "fuzz_recode", "fuzz_diff_cpython", "fuzz_structured", "fuzz_tools", "fuzz_stream"):
        os.makedirs(os.path.join(out, target), exist_ok=True)
    for i, data in enumerate(pickles):
        for target in ("fuzz_decode", "fuzz_recode", "fuzz_diff_cpython", "fuzz_structured", "fuzz_tools"):
            write(os.path.join(out, target, "seed-%04d" % i), data)
    for i in range(200):  # streams of 2-4 pickles and a read-pattern byte
        parts = [rng.choice(pickles) for _ in range(rng.randint(2, 4))]
        write(os.path.join(out, "fuzz_stream", "stream-%04d" % i), b"".join(parts) + bytes([rng.randrange(256)]))
    for i in range(64):  # graph mode: 0xff then bytes for the FuzzedDataProvider
        write(os.path.join(out, "fuzz_structured", "graph-%04d" % i),
              b"\xff" + bytes(rng.randrange(256) for _ in range(rng.randint(16, 400))))
    print("make_seeds: %d pickles from %d interpreters into %s" % (len(pickles), len(pythons), out))


if __name__ == "__main__":
    main(sys.argv)
