#!/usr/bin/python3
"""Write corpus/realworld/: pickles written by the libraries people pickle with.

    /usr/bin/python3 oracle/gen_realworld.py            # (re)write corpus/realworld + MANIFEST.tsv
    /usr/bin/python3 oracle/gen_realworld.py --check    # regenerate in memory, compare with the files
    /usr/bin/python3 oracle/gen_realworld.py --out DIR  # write elsewhere

Runs under Debian's /usr/bin/python3, which has the libraries as Debian
packages (ci/deps --libraries): numpy, pandas, scikit-learn, torch,
cloudpickle, zodbpickle and persistent.  Every object of ITEMS below is written by its
library's usual writer at every protocol that writer supports (0-5 for
pickle and cloudpickle, 1-5 for torch.save's data.pkl, 1-3 for zodbpickle,
0-2 for Python 2.7's cPickle from pyenv);
corpus/realworld/MANIFEST.tsv names each file's writer, library version,
protocol, what it is, its sha256 and the encoding it loads with (the real-class oracle trusts only
files whose hash the manifest records: oracle/realclass.py).

Deterministic: PYTHONHASHSEED=0 (the script re-runs itself with it), every
RNG seeded, no paths, ids or times in the data; cloudpickle's functions are
compiled from text under the file name "<realworld>".  --check says which
files regenerate differently (a library upgrade may change bytes; the tests
never regenerate).  Large arrays are not committed: tests make them.
"""

import argparse
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "corpus", "realworld")
MANIFEST_HEADER = "file\twriter\tlibrary\tprotocol\tdescription\tsha256\tencoding\n"
# Items that load only with pickle.loads(encoding=...) (Python 2 byte strings
# that are not ASCII): the manifest's "encoding" column, ASCII otherwise.
ENCODING = {"py2_datetime": "latin1"}


def versions():
    import numpy, pandas, sklearn, torch, cloudpickle  # noqa: E401
    return {"numpy": numpy.__version__, "pandas": pandas.__version__, "sklearn": sklearn.__version__,
            "torch": torch.__version__, "cloudpickle": cloudpickle.__version__,
            "zodbpickle": _dist_version("zodbpickle"), "python": sys.version.split()[0],
            "python2": subprocess.run([python2(), "-c", "import sys; sys.stdout.write(sys.version.split()[0])"],
                                      capture_output=True, text=True).stdout}


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


# ---------------------------------------------------------------------------
# The objects.  Each maker returns a fresh object (seeded), so that every
# protocol pickles an equal one.

def np_numeric():
    import numpy as np
    names = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "g", "c8", "c16", "G"]
    out = {}
    for n in names:
        a = np.arange(3).astype(n)
        if a.dtype.type in (np.longdouble, np.clongdouble):
            # x86 long double: 10 bytes of value in 16; the padding is whatever
            # the cast left there, so zero it.
            per = a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1)
            raw = a.view(np.uint8).reshape(-1, per)
            raw[:, 10:] = 0
        out[n] = a
    return out


def np_time_text():
    import numpy as np
    return {"M8[ns]": np.array(["2021-03-04T05:06:07.000000008", "NaT"], dtype="M8[ns]"),
            "M8[D]": np.array(["1970-01-01", "2262-04-11"], dtype="M8[D]"),
            "m8[s]": np.array([1, -2, 3], dtype="m8[s]"),
            "U5": np.array(["a", "\u00e9t\u00e9", "\U0001f600"], dtype="U5"),
            "S4": np.array([b"ab", b"\x00\xff"], dtype="S4"),
            "V3": np.array([b"abc", b"xyz"], dtype="V3"),
            "big-endian >i4": np.array([1, 256], dtype=">i4")}


def np_structured():
    import numpy as np
    dt = np.dtype([("a", "<i4"), ("b", "<f8", (2,)), ("c", "U3"), ("d", [("x", "u1"), ("y", "?")])])
    return np.array([(1, (0.5, 1.5), "ab", (7, True)), (-2, (2.5, -1.0), "xyz", (0, False))], dtype=dt)


def np_object():
    import numpy as np
    a = np.empty(4, dtype=object)
    a[:] = [1, "two", None, [3.0]]
    return a


def np_layouts():
    import numpy as np
    base = np.arange(12, dtype="i4").reshape(3, 4)
    return {"0-d": np.array(3.25), "fortran": np.asfortranarray(base), "view": base[::2, 1:3],
            "transposed": base.T, "empty": np.zeros((0, 3)), "matrix": np.matrix([[1, 2], [3, 4]])}


def np_masked():
    import numpy as np
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False], fill_value=-1.0)


def np_rng():
    import numpy as np
    return {"generator": np.random.default_rng(0), "randomstate": np.random.RandomState(0)}


def np_scalars():
    import numpy as np
    return [np.float64(1.5), np.float32(-0.25), np.int32(7), np.uint8(255), np.bool_(True),
            np.complex128(1 - 2j), np.str_("s"), np.bytes_(b"b"), np.datetime64("2020-01-02"),
            np.timedelta64(5, "h"), np.dtype("f8"), np.dtype([("a", "i2")])]


def pd_mixed():
    import pandas as pd
    return pd.DataFrame({"i": [1, 2, 3], "f": [0.5, float("nan"), 2.0], "s": ["a", "b", None],
                         "b": [True, False, True],
                         "t": pd.to_datetime(["2020-01-01", "2020-06-01", None])})


def pd_nullable():
    import pandas as pd
    return pd.DataFrame({"Int64": pd.array([1, None, 3], dtype="Int64"),
                         "boolean": pd.array([True, None, False], dtype="boolean"),
                         "string": pd.array(["x", None, "z"], dtype="string"),
                         "Float64": pd.array([0.5, None, 1.5], dtype="Float64")})


def pd_categorical():
    import pandas as pd
    return pd.Series(pd.Categorical(["lo", "hi", "lo", None], categories=["lo", "hi"], ordered=True),
                     name="level")


def pd_multiindex():
    import pandas as pd
    idx = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"])
    return pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]}, index=idx)


def pd_tz():
    import pandas as pd
    return pd.Series([1, 2, 3], index=pd.date_range("2021-03-27", periods=3, freq="D", tz="Europe/Paris"))


def pd_period_interval():
    import pandas as pd
    return {"period": pd.Series([1, 2], index=pd.period_range("2020-01", periods=2, freq="M")),
            "interval": pd.Series([1, 2, 3], index=pd.interval_range(0, 3)),
            "timestamp": pd.Timestamp("2020-01-01 12:00", tz="UTC"), "timedelta": pd.Timedelta("1 day 2h")}


def pd_sparse():
    import pandas as pd
    return pd.Series(pd.arrays.SparseArray([0, 0, 1, 0, 2], fill_value=0))


def _xy():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).round(3)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


def sk_logistic():
    from sklearn.linear_model import LogisticRegression
    x, y = _xy()
    return LogisticRegression().fit(x, y)


def sk_pipeline():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.linear_model import LogisticRegression
    x, y = _xy()
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5))]).fit(x, y)


def sk_tree():
    from sklearn.tree import DecisionTreeClassifier
    x, y = _xy()
    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)


def torch_tensors():
    import torch
    torch.manual_seed(0)
    return {"f32": torch.arange(6, dtype=torch.float32).reshape(2, 3), "i64": torch.tensor([1, -2]),
            "bool": torch.tensor([True, False]), "f16": torch.tensor([0.5], dtype=torch.float16),
            "grad": torch.ones(2, requires_grad=True)}


def _net():
    import torch
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())


def torch_module():
    return _net()


def torch_state_dict():
    return _net().state_dict()


def torch_checkpoint():
    import torch
    return {"model": _net().state_dict(), "epoch": 3, "loss": 0.125, "shared": [torch.ones(2)] * 2}


CLOUD_SOURCE = '''
import math
SCALE = 3

def scaled(x, k=2):
    return math.floor(x * k * SCALE)

def make_adder(n):
    def add(x):
        return x + n
    return add

class Point:
    dims = 2
    def __init__(self, x, y):
        self.x, self.y = x, y
    def norm(self):
        return math.hypot(self.x, self.y)
'''


def _cloud_ns():
    ns = {"__name__": "__main__"}
    exec(compile(CLOUD_SOURCE, "<realworld>", "exec"), ns)
    return ns


def cloud_function():
    return _cloud_ns()["scaled"]


def cloud_closure():
    ns = _cloud_ns()
    return [ns["make_adder"](5), (lambda: None)]


def cloud_class():
    import cloudpickle.cloudpickle as cp
    ns = _cloud_ns()
    # cloudpickle names a dynamic class by uuid4(): a fixed id keeps the bytes stable.
    tracker = "0123456789abcdef0123456789abcdef"
    cp._DYNAMIC_CLASS_TRACKER_BY_CLASS[ns["Point"]] = tracker
    cp._DYNAMIC_CLASS_TRACKER_BY_ID[tracker] = ns["Point"]
    return [ns["Point"], ns["Point"](3, 4)]


def std_time():
    import datetime as dt
    import zoneinfo
    return [dt.date(2020, 2, 29), dt.time(23, 59, 59, 999999), dt.datetime(2021, 1, 2, 3, 4, 5, 6),
            dt.datetime(2021, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2), "CEST")),
            dt.datetime(2021, 7, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
            dt.timedelta(days=-1, seconds=3), dt.timezone.utc]


def std_numbers():
    import decimal
    import fractions
    return [decimal.Decimal("3.14159"), decimal.Decimal("-Infinity"), decimal.Decimal("NaN"),
            fractions.Fraction(22, 7), complex(1, -2), 2 ** 100, -(2 ** 63)]


def std_misc():
    import uuid
    import pathlib
    import re
    import ipaddress
    import types
    return [uuid.UUID("12345678-1234-5678-1234-567812345678"), pathlib.PurePosixPath("/etc/hosts"),
            pathlib.PureWindowsPath("C:/x/y"), re.compile(r"a+(b)?", re.I), ipaddress.ip_address("10.0.0.1"),
            ipaddress.ip_network("2001:db8::/32"), types.SimpleNamespace(a=1, b=[2]), slice(1, None, 2),
            range(0, 10, 3)]


def std_enums():
    import enum
    import http
    import re
    import signal
    return [http.HTTPStatus.NOT_FOUND, re.RegexFlag.IGNORECASE | re.RegexFlag.MULTILINE,
            signal.Signals.SIGTERM, enum.Enum]


def std_collections():
    import array
    import collections
    import functools
    import urllib.parse
    d = collections.defaultdict(list)
    d["k"].append(1)
    return [array.array("i", [1, -2, 3]), array.array("d", [0.5]), array.array("u", "h\u00e9"),
            collections.deque([1, 2, 3], maxlen=5), collections.OrderedDict([("b", 1), ("a", 2)]),
            collections.Counter("abracadabra"), d, urllib.parse.urlsplit("https://x.org/p?q=1#f"),
            functools.partial(int, base=2), frozenset({1, 2}), bytearray(b"ba")]


# Python 2.7's cPickle (pyenv), for the standard types as Python 2 programs
# wrote them: text as str (bytes) and unicode, long, the datetime and
# Decimal states as byte strings.  Run under 2.7 at protocols 0-2.
PY2_SOURCE = r'''
import cPickle, sys, datetime, decimal, collections, fractions, uuid
d = collections.defaultdict(list)
d["k"].append(1)
ITEMS = {
    "py2_text_numbers": [u"caf\xe9", "ascii str", 2 ** 70, -5L, 1.5, complex(1, 2), True, None],
    "py2_datetime": [datetime.date(2020, 2, 29), datetime.datetime(2021, 1, 2, 3, 4, 5, 6),
                     datetime.timedelta(days=-1, seconds=3), datetime.time(12, 30)],
    "py2_decimal_fraction_uuid": [decimal.Decimal("3.14"), fractions.Fraction(22, 7),
                                  uuid.UUID("12345678-1234-5678-1234-567812345678")],
    "py2_collections": [collections.OrderedDict([("b", 1), ("a", 2)]), collections.Counter("abracadabra"),
                        collections.deque([1, 2], 5), d, set([1, 2]), frozenset([3])],
}
name, q = sys.argv[1], int(sys.argv[2])
sys.stdout.write(cPickle.dumps(ITEMS[name], q))
'''
PY2_ITEMS = {
    "py2_text_numbers": "Python 2 str, unicode, long, float, complex, bool, None",
    "py2_datetime": "Python 2 date, datetime, timedelta, time (states as byte strings)",
    "py2_decimal_fraction_uuid": "Python 2 Decimal, Fraction, UUID",
    "py2_collections": "Python 2 OrderedDict, Counter, deque, defaultdict, set, frozenset",
}


def python2():
    import glob
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() or \
        os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", "2.7*", "bin", "python")))
    if not found:
        raise SystemExit("gen_realworld: no Python 2.7 under %s/versions (pyenv)" % root)
    return found[-1]


def write_python2(name, q):
    if q > 2:
        return None
    p = subprocess.run([python2(), "-c", PY2_SOURCE, name, str(q)], capture_output=True,
                       env=dict(os.environ, PYTHONHASHSEED="0"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode("utf-8", "replace")[-500:])
    return p.stdout


# Items whose bytes change from run to run, whatever the seeds: a tensor's
# storage pickles through torch's legacy save, which names the storage by its
# address (str(storage._cdata)).  --check does not compare them.
UNSTABLE = {"torch_tensors", "torch_module", "torch_state_dict"}

# name, writer, library, maker, description
ITEMS = [
    ("numpy_numeric", "pickle", "numpy", np_numeric, "ndarrays of every numeric dtype (bool .. clongdouble)"),
    ("numpy_time_text", "pickle", "numpy", np_time_text,
     "datetime64, timedelta64, unicode, bytes, void and big-endian ndarrays"),
    ("numpy_structured", "pickle", "numpy", np_structured, "structured ndarray with nested and sub-array fields"),
    ("numpy_object", "pickle", "numpy", np_object, "object ndarray"),
    ("numpy_layouts", "pickle", "numpy", np_layouts, "0-d, Fortran-order, view, transposed, empty, matrix"),
    ("numpy_masked", "pickle", "numpy", np_masked, "numpy.ma masked array"),
    ("numpy_rng", "pickle", "numpy", np_rng, "Generator(PCG64) and RandomState (MT19937) seeded 0"),
    ("numpy_scalars", "pickle", "numpy", np_scalars, "numpy scalars and dtypes"),
    ("pandas_mixed", "pickle", "pandas", pd_mixed, "DataFrame: int, float, object, bool, datetime64 columns"),
    ("pandas_nullable", "pickle", "pandas", pd_nullable, "DataFrame: Int64, boolean, string, Float64 with NA"),
    ("pandas_categorical", "pickle", "pandas", pd_categorical, "Series of an ordered Categorical"),
    ("pandas_multiindex", "pickle", "pandas", pd_multiindex, "DataFrame on a MultiIndex"),
    ("pandas_tz", "pickle", "pandas", pd_tz, "Series on a tz-aware DatetimeIndex (Europe/Paris, DST change)"),
    ("pandas_period_interval", "pickle", "pandas", pd_period_interval,
     "PeriodIndex, IntervalIndex, Timestamp (UTC), Timedelta"),
    ("pandas_sparse", "pickle", "pandas", pd_sparse, "Series of a SparseArray"),
    ("sklearn_logistic", "pickle", "sklearn", sk_logistic, "fitted LogisticRegression"),
    ("sklearn_pipeline", "pickle", "sklearn", sk_pipeline, "fitted Pipeline(StandardScaler, LogisticRegression)"),
    ("sklearn_tree", "pickle", "sklearn", sk_tree, "fitted DecisionTreeClassifier (Cython Tree state)"),
    ("torch_tensors", "pickle", "torch", torch_tensors, "tensors: float32, int64, bool, float16, requires_grad"),
    ("torch_module", "pickle", "torch", torch_module, "nn.Sequential(Linear, ReLU)"),
    ("torch_state_dict", "pickle", "torch", torch_state_dict, "state_dict of nn.Sequential"),
    ("torch_checkpoint", "torch.save", "torch", torch_checkpoint,
     "data.pkl of a torch.save archive: state_dict, epoch, loss, a shared tensor (persistent ids)"),
    ("torch_save_module", "torch.save", "torch", torch_module,
     "data.pkl of torch.save(nn.Sequential) (persistent ids)"),
    ("cloudpickle_function", "cloudpickle", "cloudpickle", cloud_function,
     "a function by value, with defaults and globals"),
    ("cloudpickle_closure", "cloudpickle", "cloudpickle", cloud_closure, "a closure and a lambda"),
    ("cloudpickle_class", "cloudpickle", "cloudpickle", cloud_class, "a dynamic class and an instance of it"),
    ("zodb_record", "zodbpickle", "zodbpickle", None,
     "ZODB record of a PersistentMapping: class pickle + state pickle with persistent references (oid, class)"),
    ("stdlib_time", "pickle", "python", std_time, "date, time, datetime (naive, fixed offset, zoneinfo), timedelta"),
    ("stdlib_numbers", "pickle", "python", std_numbers, "Decimal, Fraction, complex, big ints"),
    ("stdlib_misc", "pickle", "python", std_misc,
     "UUID, pure paths, compiled pattern, ip address and network, SimpleNamespace, slice, range"),
    ("stdlib_enums", "pickle", "python", std_enums, "enum members and flags (HTTPStatus, RegexFlag, Signals)"),
    ("stdlib_collections", "pickle", "python", std_collections,
     "array, deque, OrderedDict, Counter, defaultdict, namedtuple (SplitResult), partial, frozenset, bytearray"),
] + [(name, "python2", "python2", None, desc) for name, desc in sorted(PY2_ITEMS.items())]


# ---------------------------------------------------------------------------
# Writers: (maker, q) -> bytes, or None when the writer cannot write at q.

def write_pickle(maker, q):
    return pickle.dumps(maker(), q)


def write_cloudpickle(maker, q):
    import cloudpickle
    return cloudpickle.dumps(maker(), q)


def write_torch_save(maker, q):
    import torch
    if q < 1:
        return None     # torch.save's persistent ids are tuples: protocol 0 cannot write them
    buf = io.BytesIO()
    torch.save(maker(), buf, pickle_protocol=q)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        return z.read(name)


def write_zodb(_maker, q):
    """A record as ZODB's ObjectWriter writes it: the class pickle, then the
    state pickle, in one stream, by zodbpickle's Pickler; a persistent object
    inside the state is a reference (oid, class)."""
    if q < 1 or q > 3:
        return None     # zodbpickle writes protocols 0-3; the ids are tuples (PERSID cannot)
    import datetime
    import decimal
    from persistent import Persistent
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping
    from zodbpickle import pickle as zpickle

    root = PersistentMapping()
    child = PersistentList([1, 2])
    child._p_oid = b"\x00" * 7 + b"\x02"
    other = PersistentMapping()
    other._p_oid = b"\x00" * 7 + b"\x03"
    root.update({"child": child, "title": "root", "when": datetime.date(2020, 5, 17),
                 "price": decimal.Decimal("9.99"), "refs": [other, child]})

    def persistent_id(obj):
        if isinstance(obj, Persistent) and obj is not root:
            return (obj._p_oid, type(obj))
        return None

    out = io.BytesIO()
    for obj in ((type(root), None), root.__getstate__()):
        p = zpickle.Pickler(out, q)
        p.persistent_id = persistent_id
        p.dump(obj)
    return out.getvalue()


WRITERS = {"python2": write_python2, "pickle": write_pickle, "cloudpickle": write_cloudpickle, "torch.save": write_torch_save,
           "zodbpickle": write_zodb}


def generate():
    """-> [(file name, writer, library, version, q, description, bytes)]"""
    ver = versions()
    rows = []
    for name, writer, lib, maker, desc in ITEMS:
        for q in range(6):
            data = WRITERS[writer](name if writer == "python2" else maker, q)
            if data is None:
                continue
            rows.append(("%s.p%d.pickle" % (name, q), writer, lib, ver.get(lib, "?"), q, desc, data))
    return rows


def manifest_text(rows):
    out = [MANIFEST_HEADER]
    for fn, writer, lib, ver, q, desc, data in rows:
        out.append("%s\t%s\t%s %s\t%d\t%s\t%s\t%s\n" % (fn, writer, lib, ver, q, desc,
                                                        hashlib.sha256(data).hexdigest(),
                                                        ENCODING.get(fn.split(".")[0], "ASCII")))
    return "".join(out)


def read_manifest(directory=OUT):
    """-> [dict(file, writer, library, protocol, description, sha256, encoding)] of the committed corpus."""
    rows = []
    with open(os.path.join(directory, "MANIFEST.tsv"), encoding="utf-8") as f:
        keys = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(keys, line.rstrip("\n").split("\t"))))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare a regeneration with the files; write nothing")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--rewrite-unstable", action="store_true",
                    help="also rewrite the files of UNSTABLE items that exist (else they are kept)")
    args = ap.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    rows = generate()
    if args.check:
        bad = 0
        for fn, *_, data in rows:
            if fn.split(".")[0] in UNSTABLE:
                continue
            p = os.path.join(args.out, fn)
            old = open(p, "rb").read() if os.path.exists(p) else None
            if old != data:
                bad += 1
                print("differs: %s (%s)" % (fn, "missing" if old is None else "%d vs %d bytes" % (len(old), len(data))))
        stable = lambda text: [ln for ln in text.splitlines() if ln.split(".")[0] not in UNSTABLE]  # noqa: E731
        with open(os.path.join(args.out, "MANIFEST.tsv"), encoding="utf-8") as f:
            if stable(f.read()) != stable(manifest_text(rows)):
                bad += 1
                print("differs: MANIFEST.tsv")
        skipped = sum(1 for r in rows if r[0].split(".")[0] in UNSTABLE)
        print("gen_realworld: %d files, %d differ (%d not compared: %s)" % (
            len(rows), bad, skipped, ", ".join(sorted(UNSTABLE))))
        return 1 if bad else 0
    os.makedirs(args.out, exist_ok=True)
    # An UNSTABLE item's bytes change at every run: keep the committed ones.
    for i, row in enumerate(rows):
        p = os.path.join(args.out, row[0])
        if row[0].split(".")[0] in UNSTABLE and os.path.exists(p) and not args.rewrite_unstable:
            with open(p, "rb") as f:
                rows[i] = row[:-1] + (f.read(),)
    for fn in os.listdir(args.out):
        if fn.endswith(".pickle"):
            os.unlink(os.path.join(args.out, fn))
    total = 0
    for fn, *_, data in rows:
        with open(os.path.join(args.out, fn), "wb") as f:
            f.write(data)
        total += len(data)
    with open(os.path.join(args.out, "MANIFEST.tsv"), "w", encoding="utf-8") as f:
        f.write(manifest_text(rows))
    print("gen_realworld: %d files, %d bytes in %s" % (len(rows), total, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
