#!/usr/bin/python3
"""The second reference: CPython with the real classes (issue 15, §2).

Where every global of an input resolves to a real class of a library we
trust, the reference for `pickletool recode --protocol q` is what CPython
writes for the real object:

    pickle.dumps(pickle.loads(data), q)          (persistent ids kept, below)

The inert reference (inert.py) never imports anything; this one imports and
runs library code, so it answers only inside ALLOWED (module prefixes of
libraries we trust, with names that read or write files, start processes or
compile code left out) and says "cannot answer" for anything else.  Functions
that build code (cloudpickle's) or unpickle nested data (torch's legacy
storages) are allowed only for the files of corpus/realworld whose sha256 the
manifest records.  It runs in its own process (`--serve`) under Debian's
/usr/bin/python3, which has the libraries (ci/deps --libraries), capped in
memory; the client (RealClassOracle, standard library only) runs anywhere.

Persistent ids are kept, as the codec keeps them: persistent_load returns a
PersId wrapper and persistent_id gives back the id it was loaded with; a
torch.save storage id ('storage', type, key, location, numel) loads as a real
(zeroed) storage of that type and size, and the storage dumps as the ids it
was loaded with, in load order (torch.save's pickler returns a fresh tuple
per reference, and so does the pickle).

Verdicts per protocol q, given the codec's output (judge()):
  agree      the codec wrote exactly CPython's bytes
  allowed    a listed divergence of divergences.py (real-class-*): the
             two references disagree and the codec follows the inert one,
             with the proof the entry names
  differ     anything else
  cannot     a global outside ALLOWED or not importable here, CPython out of
             memory or recursion, a re-dump that changes from one load to
             the next (an address in the bytes), or the server gave no answer

    /usr/bin/python3 oracle/realclass.py --dump Q FILE      the reference's bytes at Q (stdout)
    /usr/bin/python3 oracle/realclass.py --globals FILE     each global and whether it is allowed
    /usr/bin/python3 oracle/realclass.py --serve            JSON lines on stdin/stdout
"""

import base64
import hashlib
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
REALWORLD = os.path.join(ROOT, "corpus", "realworld")
LIBRARY_PYTHON = "/usr/bin/python3"   # Debian's: the libraries are Debian packages
MEMORY_MB = 6144                      # torch maps much address space on import


class CannotAnswer(Exception):
    """The reference has no answer for this input (not CPython's refusal)."""


# ---------------------------------------------------------------------------
# What may be imported and called.

# Packages of libraries we trust: the package and its submodules.
TRUSTED_PACKAGES = ("numpy", "pandas", "sklearn", "scipy", "torch", "pytz", "dateutil", "cloudpickle",
                    "persistent")
# Standard-library modules, exactly (not their submodules: http.server binds sockets).
STDLIB_MODULES = ("collections", "datetime", "decimal", "fractions", "uuid", "pathlib", "re", "enum", "array",
                  "zoneinfo", "ipaddress", "urllib.parse", "http", "signal", "copyreg", "_codecs", "builtins",
                  "functools", "types", "operator", "_operator")
# ... minus the parts that read or write files, start processes or threads,
# compile or load code, or reach the network.
DENIED_MODULES = (
    "numpy.lib.npyio", "numpy.lib.format", "numpy.lib._datasource", "numpy.distutils", "numpy.f2py",
    "numpy.testing", "numpy.ctypeslib", "pandas.io", "pandas.util", "pandas.testing", "pandas.plotting",
    "sklearn.datasets", "sklearn.utils._testing", "sklearn.externals", "torch.utils", "torch.jit",
    "torch.hub", "torch.package", "torch.distributed", "torch.multiprocessing", "torch.serialization",
    "torch.onnx", "torch.cuda", "torch.backends", "torch.cpp_extension", "torch.fx", "torch._dynamo",
    "torch.library", "torch.ops", "torch.classes", "scipy.io", "scipy.weave", "scipy._lib",
)
DENIED_NAME = re.compile(r"memmap|DataSource|vectorize|frompyfunc|[Ff]ile|Store|Reader|Writer|Popen|"
                         r"Process|Thread|Pool|Executor|Loader|Saver|Script|[Ss]ocket|[Ll]oad|[Ss]ave|"
                         r"eval|exec|compile|import|system|open")
# Exact names in the standard-library modules: nothing else of theirs.
STDLIB_NAMES = {
    "builtins": {"set", "frozenset", "bytearray", "bytes", "complex", "slice", "range", "object", "int",
                 "float", "str", "list", "dict", "tuple", "bool", "getattr", "Ellipsis", "NotImplemented"},
    "functools": {"partial"},
    "types": {"SimpleNamespace", "MappingProxyType"},
    "copyreg": {"_reconstructor", "__newobj__", "__newobj_ex__"},
    "_codecs": {"encode"},
    "operator": {"or_", "and_", "xor", "invert"},
    "_operator": {"or_", "and_", "xor", "invert"},
    "re": {"_compile", "RegexFlag", "Pattern", "Match"},
    "collections": {"OrderedDict", "Counter", "defaultdict", "deque", "ChainMap", "UserDict", "UserList",
                    "UserString"},
}
# Functions of the trusted libraries that rebuild objects when called.
SAFE_FUNCTION = re.compile(r"^(_unpickle\w*|__pyx_unpickle_\w+|_new_\w+|_rebuild_\w+|_reconstruct\w*|scalar|"
                           r"_frombuffer|_mareconstruct|__\w+_ctor|_array_reconstructor|_timedelta_unpickle|"
                           r"_UTC|_p)$")
# Functions that build code or unpickle nested data: only for the committed corpus.
TRUSTED_ONLY = {("torch.storage", "_load_from_bytes"), ("builtins", "type")}
TRUSTED_ONLY_MODULES = ("cloudpickle",)


def _under(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def module_allowed(module):
    if not isinstance(module, str) or not all(module.split(".")):
        return False
    return module in STDLIB_MODULES or (_under(module, TRUSTED_PACKAGES) and not _under(module, DENIED_MODULES))


def object_allowed(obj, module, name, trusted):
    """May the unpickler hand `obj` (found as module.name) to the load?"""
    if (module, name) in TRUSTED_ONLY or _under(module, TRUSTED_ONLY_MODULES):
        return trusted
    if any(p.startswith("__") and p.endswith("__") for p in name.split(".")[1:]):
        return False        # ndarray.__class__, X.__subclasses__, ...: a way out of the allowlist
    top = module.split(".")[0]
    if module in STDLIB_NAMES or top in ("builtins", "functools", "types", "copyreg", "_codecs"):
        first = name.split(".")[0]
        # A dotted name (protocol 4) reaches an enum member or a nested class.
        return first in STDLIB_NAMES.get(module, ()) and (name == first or isinstance(obj, type)
                                                           or not callable(obj))
    if DENIED_NAME.search(name):
        return False
    if isinstance(obj, types.ModuleType):
        return False
    if isinstance(obj, type):
        owner = getattr(obj, "__module__", None) or ""
        return module_allowed(owner) and owner != "builtins"   # builtins' types: by STDLIB_NAMES only
    if callable(obj):
        return bool(SAFE_FUNCTION.match(name.rsplit(".", 1)[-1]))
    return True        # data: an enum member, pandas.NA, a constant


def _fix_imports(module, name):
    import _compat_pickle
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


# ---------------------------------------------------------------------------
# Loading and dumping with the real classes.

class PersId(object):
    """A persistent id kept as it was loaded."""
    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid


class Session(object):
    """One input: the unpickler's and pickler's shared state (torch storages)."""

    def __init__(self, trusted, encoding="ASCII"):
        self.trusted = trusted
        self.encoding = encoding     # of Python 2 str, as pickle.loads(encoding=...)
        self.storages = {}      # torch storage key -> storage
        self.pids = {}          # storage _cdata -> [pid objects in load order]
        self.cursor = {}

    def reset_dump(self):
        self.cursor = {}

    # -- persistent ids --
    def persistent_load(self, pid):
        if (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[2], str) and isinstance(pid[4], int) and 0 <= pid[4] <= 1 << 24):
            import torch
            stype = pid[1]
            if not (isinstance(stype, type) and issubclass(stype, (torch.storage._LegacyStorage,
                                                                    torch.UntypedStorage))):
                raise CannotAnswer("a storage id of type %r" % (stype,))
            key = pid[2]
            if key not in self.storages:
                dtype = torch.uint8 if stype is torch.UntypedStorage else stype.dtype
                untyped = torch.UntypedStorage(pid[4] * torch._utils._element_size(dtype))
                untyped.fill_(0)
                self.storages[key] = torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype)
            s = self.storages[key]
            self.pids.setdefault(s._cdata, []).append(pid)
            return s
        return PersId(pid)

    def persistent_id(self, obj):
        if isinstance(obj, PersId):
            return obj.pid
        if self.pids and type(obj).__module__ == "torch.storage" and hasattr(obj, "_cdata"):
            seen = self.pids.get(obj._cdata)
            if seen:
                i = self.cursor.get(obj._cdata, 0)
                self.cursor[obj._cdata] = i + 1
                return seen[i % len(seen)]
        return None

    # -- globals --
    def find_class(self, unpickler, module, name):
        # Below protocol 3 the C unpickler maps Python 2 names (fix_imports);
        # the Python 2 module names do not exist in Python 3, so the mapped
        # name is the one that can import.
        mapped = _fix_imports(module, name)
        if not module_allowed(mapped[0]):
            raise CannotAnswer("global %s.%s: module outside the allowlist" % (module, name))
        obj = pickle.Unpickler.find_class(unpickler, module, name)
        if not object_allowed(obj, mapped[0], mapped[1], self.trusted):
            raise CannotAnswer("global %s.%s: not on the allowlist" % (module, name))
        if obj is getattr:
            return self.guarded_getattr
        return obj

    def guarded_getattr(self, obj, name, *default):
        """builtins.getattr for nested names (protocols 0-3 write a nested
        global so): the result must be allowed too.  A method of an allowed
        class (zoneinfo.ZoneInfo._unpickle) passes when its name is one of
        the rebuilding functions'."""
        if not isinstance(name, str):
            raise CannotAnswer("getattr with a name that is not a str")
        if name.startswith("__") and name.endswith("__"):
            raise CannotAnswer("getattr(..., %r): not on the allowlist" % (name,))
        v = getattr(obj, name, *default)
        if isinstance(v, types.ModuleType):
            ok = False
        elif isinstance(v, type):
            owner = getattr(v, "__module__", "") or ""
            ok = module_allowed(owner) and not DENIED_NAME.search(getattr(v, "__qualname__", ""))
        elif callable(v):
            ok = (isinstance(obj, type) and module_allowed(getattr(obj, "__module__", "") or "")
                  and bool(SAFE_FUNCTION.match(name)))
        else:
            ok = True
        if not ok:
            raise CannotAnswer("getattr(..., %r): not on the allowlist" % (name,))
        return v

    def unpickler(self, f):
        session = self

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                return session.find_class(self, module, name)

            def persistent_load(self, pid):
                return session.persistent_load(pid)
        return Unpickler(f, encoding=self.encoding)

    def load_stream(self, data):
        """-> [value], every pickle of the stream, as pickle.loads reads one:
        through a file with peek(), so that a FRAME is a hint (the codec
        reads so: divergence frame-read-file-vs-buffer)."""
        from streammode import PeekBytesIO
        forget_dynamic_classes()
        f = PeekBytesIO(data)
        out = []
        while True:
            out.append(self.unpickler(f).load())
            if f.tell() >= len(data):
                return out

    def dumps(self, values, q, pickler=None):
        """CPython's pickler (or `pickler`, a subclass of it) at q, ids kept."""
        self.reset_dump()
        f = io.BytesIO()
        session = self
        for v in values:
            class Pickler(pickler or pickle.Pickler):
                def persistent_id(self, obj):
                    return session.persistent_id(obj)
            Pickler(f, q).dump(v)
        return f.getvalue()


def forget_dynamic_classes():
    """cloudpickle finds a dynamic class again by its tracker id, in the whole
    process: each load starts with none, so that a load makes its own class
    (and a class that lost its methods is not replaced by an earlier one)."""
    cp = sys.modules.get("cloudpickle.cloudpickle")
    if cp is not None:
        with cp._DYNAMIC_CLASS_TRACKER_LOCK:
            cp._DYNAMIC_CLASS_TRACKER_BY_ID.clear()
            cp._DYNAMIC_CLASS_TRACKER_BY_CLASS.clear()


def writer_redump(data, q, trusted, encoding="ASCII"):
    """For objects CPython's pickler refuses (cloudpickle's functions and
    classes): the re-dump by the library's own pickler, to compare two loads.
    -> bytes, or an exception string; None when no library pickler applies."""
    try:
        s, values = load(data, trusted, encoding)
    except Exception as e:
        return describe(e)
    # Only for an input that names cloudpickle: whether an earlier input of
    # this process imported it must not change the verdict (order-independent).
    if b"cloudpickle" not in bytes(data) or "cloudpickle" not in sys.modules:
        return None
    import cloudpickle
    try:
        return s.dumps(values, q, cloudpickle.CloudPickler)
    except Exception as e:
        return describe(e)


def manifest_hashes():
    out = set()
    try:
        with open(os.path.join(REALWORLD, "MANIFEST.tsv"), encoding="utf-8") as f:
            keys = f.readline().rstrip("\n").split("\t")
            for line in f:
                row = dict(zip(keys, line.rstrip("\n").split("\t")))
                if row.get("sha256"):
                    out.add(row["sha256"])
    except OSError:
        pass
    return out


_TRUSTED = None


def is_trusted(data):
    global _TRUSTED
    if _TRUSTED is None:
        _TRUSTED = manifest_hashes()
    return hashlib.sha256(data).hexdigest() in _TRUSTED


def describe(e):
    return "%s: %s" % (type(e).__name__, str(e)[:300])


def load(data, trusted=None, encoding="ASCII"):
    """-> (session, values); raises CannotAnswer, or CPython's own exception."""
    s = Session(is_trusted(data) if trusted is None else trusted, encoding)
    try:
        return s, s.load_stream(data)
    except (CannotAnswer, MemoryError, RecursionError):
        raise
    except ImportError as e:
        raise CannotAnswer("import failed here: %s" % describe(e))


def reference(data, protocols, trusted=None, encoding="ASCII"):
    """CPython's answer with the real classes:
    {"answer": "cannot", "why"} | {"answer": "reject", "why"} |
    {"answer": "accept", "dumps": {q: ("ok", bytes) | ("error", msg)}}"""
    try:
        s, values = load(data, trusted, encoding)
    except CannotAnswer as e:
        return {"answer": "cannot", "why": str(e)}
    except (MemoryError, RecursionError) as e:
        return {"answer": "cannot", "why": "CPython cannot answer: " + describe(e)}
    except Exception as e:
        return {"answer": "reject", "why": describe(e)}
    dumps = {}
    for q in protocols:
        try:
            dumps[q] = ("ok", s.dumps(values, q))
        except CannotAnswer as e:
            return {"answer": "cannot", "why": str(e)}
        except Exception as e:
            dumps[q] = ("error", describe(e))
    return {"answer": "accept", "dumps": dumps, "session": s, "values": values}


def redump_of(data, q, trusted, encoding="ASCII"):
    """Load `data` with the real classes, dump at q: bytes, or an exception
    string (a global outside the allowlist included: `data` is the codec's
    output, which must name only what the input named)."""
    try:
        s, values = load(data, trusted, encoding)
        return s.dumps(values, q)
    except Exception as e:
        return describe(e)


def judge(data, protocols, codec, inert_agrees, trusted=None, encoding="ASCII"):
    """Verdict per protocol.  codec: {q: ("accept", bytes) | ("reject", message)};
    inert_agrees: {q: bool}, the codec gave the inert reference's answer at q.
    -> {q: {"status", "divergence"?, "note"}} or {"cannot": why} for the whole input."""
    trusted = is_trusted(data) if trusted is None else trusted
    ref = reference(data, protocols, trusted, encoding)
    if ref["answer"] == "cannot":
        return {"cannot": ref["why"]}
    out = {}
    for q in protocols:
        kind, got = codec[q]
        if ref["answer"] == "reject":
            if kind == "reject":
                out[q] = {"status": "agree", "note": "both reject"}
            elif inert_agrees.get(q):
                out[q] = {"status": "allowed", "divergence": "real-class-load-refused",
                          "note": "the real classes refuse the input (%s); the codec runs no class code "
                                  "and gives the inert reference's answer" % ref["why"]}
            else:
                out[q] = {"status": "differ", "note": "CPython with the real classes rejects: " + ref["why"]}
            continue
        status, want = ref["dumps"][q]
        if status == "error":
            theirs = writer_redump(data, q, trusted, encoding)
            if kind == "reject":
                if isinstance(theirs, bytes):
                    out[q] = {"status": "differ", "note": "CPython with the real classes loads the input (its "
                                                          "pickler refuses to dump it: %s; the library's pickler "
                                                          "re-dumps it); the codec rejects: %s" % (want, got[:200])}
                else:
                    out[q] = {"status": "agree", "note": "both refuse"}
                continue
            mine = writer_redump(got, q, trusted)
            same = isinstance(mine, bytes) and mine == theirs
            if inert_agrees.get(q) and same:
                out[q] = {"status": "allowed", "divergence": "real-class-dump-refused",
                          "note": "CPython's pickler refuses the real object (%s); the codec writes the "
                                  "reduction the input spelled (the inert reference's bytes), which loads "
                                  "as the same object (the library's pickler re-dumps both alike)" % want}
            elif mine is None:
                out[q] = {"status": "cannot", "note": "CPython's pickler refuses the real object (%s) and "
                                                      "no library pickler can compare the loads" % want}
            elif not same:
                out[q] = {"status": "differ", "note": "CPython's pickler refuses the real object (%s); the "
                                                      "codec's bytes load as a different object (%s)" % (
                                                          want, mine if isinstance(mine, str) else
                                                          "the library's pickler re-dumps them differently")}
            else:
                out[q] = {"status": "differ", "note": "CPython with the real classes refuses to dump: " + want}
            continue
        if kind == "reject":
            out[q] = {"status": "differ", "note": "CPython with the real classes accepts; the codec rejects: %s"
                                                  % got[:200]}
            continue
        if got == want:
            out[q] = {"status": "agree", "note": ""}
            continue
        again = redump_of(data, q, trusted, encoding)
        if again != want:
            return {"cannot": "the real classes' re-dump changes from one load to the next (protocol %d)" % q}
        back = redump_of(got, q, trusted)
        if back == want:
            if inert_agrees.get(q):
                out[q] = {"status": "allowed", "divergence": "real-class-reduction",
                          "note": "the codec writes the reduction the input spelled (the inert reference's "
                                  "bytes); CPython, loading them with the real classes, re-dumps exactly "
                                  "its reference bytes"}
            else:
                out[q] = {"status": "differ", "note": "bytes differ from both references, although they load "
                                                      "as the same real object"}
        else:
            out[q] = {"status": "differ", "note": "bytes differ, and do not load as the same real object (%s)"
                                                  % (back if isinstance(back, str) else "re-dump differs at byte %d"
                                                     % _first_diff(back, want))}
    return out


def _first_diff(a, b):
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


# ---------------------------------------------------------------------------
# The server (runs under LIBRARY_PYTHON) and its client (any python3).

def serve(cpu_seconds):
    """Answer requests until stdin ends.  Each request may use `cpu_seconds`
    of CPU time (RLIMIT_CPU, counted from the request's start: SIGXCPU ends
    the server, and the client counts the input as one it cannot answer)."""
    import resource
    lim = MEMORY_MB << 20
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard == resource.RLIM_INFINITY or lim < hard:
        resource.setrlimit(resource.RLIMIT_AS, (lim, hard))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    out = sys.stdout
    for line in sys.stdin:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = int(ru.ru_utime + ru.ru_stime + cpu_seconds) + 1
        if cpu_hard == resource.RLIM_INFINITY or soft < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        req = json.loads(line)
        try:
            data = base64.b64decode(req["data"])
            protocols = req["protocols"]
            if req["op"] == "judge":
                codec = {int(q): (k, base64.b64decode(v) if k == "accept" else v)
                         for q, (k, v) in req["codec"].items()}
                inert = {int(q): v for q, v in req["inert_agrees"].items()}
                # "trusted" only widens the allowlist for a caller's own constant
                # (a divergence's input); the corpus is trusted by its manifest hash.
                ans = {"ok": True, "verdict": {str(k): v for k, v in
                                               judge(data, protocols, codec, inert,
                                                     True if req.get("trusted") else None,
                                                     req.get("encoding", "ASCII")).items()}}
            elif req["op"] == "reference":
                r = reference(data, protocols, encoding=req.get("encoding", "ASCII"))
                ans = {"ok": True, "answer": r["answer"], "why": r.get("why"),
                       "dumps": {str(q): [k, base64.b64encode(v).decode() if k == "ok" else v]
                                 for q, (k, v) in r.get("dumps", {}).items()}}
            else:
                ans = {"ok": False, "error": "unknown op %r" % req["op"]}
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            ans = {"ok": False, "error": "%s (at %s:%d)" % (describe(e), os.path.basename(where.filename),
                                                            where.lineno)}
        out.write(json.dumps(ans) + "\n")
        out.flush()


def available():
    """None if the library Python is here with its libraries, else why not."""
    if not os.access(LIBRARY_PYTHON, os.X_OK):
        return "no %s" % LIBRARY_PYTHON
    p = subprocess.run([LIBRARY_PYTHON, "-c", "import numpy, pandas, sklearn, torch, cloudpickle, zodbpickle, "
                        "persistent"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "%s lacks the libraries (ci/deps --libraries): %s" % (
            LIBRARY_PYTHON, (p.stderr.strip().splitlines() or ["?"])[-1])
    return None


class RealClassOracle(object):
    """A `realclass.py --serve` child.  A request may use `cpu_seconds` of
    CPU time (the server's RLIMIT_CPU); a request with no answer after
    max(120, 10 x cpu_seconds) seconds of wall time counts as hung and kills
    the child.  A new one starts on the next request."""

    def __init__(self, cpu_seconds=120.0):
        self.cpu_seconds = cpu_seconds
        self.timeout = max(120.0, 10 * cpu_seconds)
        self.proc = None

    def _start(self):
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen([LIBRARY_PYTHON, os.path.abspath(__file__), "--serve",
                                      "--cpu-seconds", str(self.cpu_seconds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=ROOT)

    def request(self, req):
        import selectors
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            self.close()
            return {"ok": False, "error": "the real-class oracle died"}
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.close()
                return {"ok": False, "error": "the real-class oracle hung: no answer after %gs" % self.timeout}
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                rc = self.proc.wait()
                self.close()
                if rc in (-signal.SIGXCPU, -signal.SIGKILL):
                    return {"ok": False, "error": "the real-class oracle used more than %gs of CPU time"
                                                  % self.cpu_seconds}
                return {"ok": False, "error": "the real-class oracle died (status %s)" % rc}
            buf += chunk
        sel.close()
        return json.loads(buf)

    def judge(self, data, protocols, codec, inert_agrees, encoding="ASCII"):
        """codec: {q: ("accept", bytes) | ("reject", msg)} -> {q: verdict} or {"cannot": why}."""
        req = {"op": "judge", "data": base64.b64encode(data).decode(), "protocols": list(protocols),
               "encoding": encoding,
               "codec": {str(q): (k, base64.b64encode(v).decode() if k == "accept" else v)
                         for q, (k, v) in codec.items()},
               "inert_agrees": {str(q): bool(v) for q, v in inert_agrees.items()}}
        ans = self.request(req)
        if not ans.get("ok"):
            return {"cannot": "real-class oracle: " + ans.get("error", "?")[-300:]}
        v = ans["verdict"]
        if "cannot" in v:
            return {"cannot": v["cannot"]}
        return {int(q): r for q, r in v.items()}

    def reference(self, data, protocols):
        ans = self.request({"op": "reference", "data": base64.b64encode(data).decode(),
                            "protocols": list(protocols)})
        if not ans.get("ok"):
            return {"answer": "cannot", "why": "real-class oracle: " + ans.get("error", "?")[-300:]}
        ans["dumps"] = {int(q): (k, base64.b64decode(v) if k == "ok" else v) for q, (k, v) in ans["dumps"].items()}
        return ans

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--cpu-seconds", type=float, default=120.0, help="CPU time per request (--serve)")
    ap.add_argument("--dump", nargs=2, metavar=("Q", "FILE"))
    ap.add_argument("--globals", metavar="FILE")
    a = ap.parse_args()
    if a.serve:
        serve(a.cpu_seconds)
        return 0
    if a.dump:
        with open(a.dump[1], "rb") as f:
            data = f.read()
        r = reference(data, [int(a.dump[0])])
        if r["answer"] != "accept":
            sys.stderr.write("realclass: %s: %s\n" % (r["answer"], r["why"]))
            return 1
        k, v = r["dumps"][int(a.dump[0])]
        if k != "ok":
            sys.stderr.write("realclass: CPython refuses to dump: %s\n" % v)
            return 1
        sys.stdout.buffer.write(v)
        return 0
    if a.globals:
        with open(a.globals, "rb") as f:
            data = f.read()
        try:
            load(data)
            print("every global allowed and loaded (trusted: %s)" % is_trusted(data))
        except Exception as e:
            print(describe(e))
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
