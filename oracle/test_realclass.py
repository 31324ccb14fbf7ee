"""Tests of the real-class reference (realclass.py): what it refuses to
import or call, what it trusts, and its verdicts.

    python3 -m unittest discover -s oracle -p 'test_realclass.py'

The allowlist tests run under any python3 (a refusal comes before any
import).  LibraryTests need numpy, torch, cloudpickle and persistent: they
run in this process under Debian's /usr/bin/python3, and from any other
interpreter through a child /usr/bin/python3 (test_library_tests_pass).
"""
import os
import pickle
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import realclass  # noqa: E402

REALWORLD = realclass.REALWORLD


def global_call(module, name, *args):
    """A protocol-2 pickle calling module.name(*args) (str arguments)."""
    out = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n("
    for a in args:
        b = a.encode()
        out += b"X" + len(b).to_bytes(4, "little") + b
    return out + b"tR."


def cannot(data, trusted=False):
    """The reference's answer is "cannot": the reason, else None."""
    r = realclass.reference(data, [2], trusted=trusted)
    return r["why"] if r["answer"] == "cannot" else None


def have_libraries():
    try:
        import numpy, torch, cloudpickle, persistent  # noqa: F401,E401
        return True
    except ImportError:
        return False


class Allowlist(unittest.TestCase):
    def test_modules(self):
        for m in ("numpy", "numpy.core.multiarray", "pandas.core.frame", "torch._utils", "collections",
                  "datetime", "http", "urllib.parse"):
            self.assertTrue(realclass.module_allowed(m), m)
        for m in ("os", "posix", "subprocess", "pickle", "http.server", "numpy.lib.npyio", "pandas.io.pickle",
                  "torch.serialization", "torch.hub", "urllib.request", "numpy..core", "nump", "numpyx"):
            self.assertFalse(realclass.module_allowed(m), m)

    def test_dangerous_globals_refused_before_import(self):
        for module, name, args in (("os", "system", ("true",)), ("posix", "system", ("true",)),
                                   ("subprocess", "check_output", ("true",)), ("builtins", "eval", ("1",)),
                                   ("builtins", "exec", ("1",)), ("builtins", "__import__", ("os",)),
                                   ("builtins", "open", ("/etc/hostname",)), ("io", "open", ("/x",)),
                                   ("collections", "namedtuple", ("T", "a")), ("types", "FunctionType", ()),
                                   ("http.server", "HTTPServer", ()), ("functools", "reduce", ()),
                                   ("operator", "attrgetter", ("x",)), ("operator", "methodcaller", ("x",)),
                                   ("copyreg", "add_extension", ())):
            self.assertIsNotNone(cannot(global_call(module, name, *args)), "%s.%s" % (module, name))

    def test_python2_names_map_first(self):
        # __builtin__.set at protocol 2 is builtins.set (fix_imports): allowed.
        data = b"\x80\x02c__builtin__\nset\n]\x85R."
        r = realclass.reference(data, [2])
        self.assertEqual(r["answer"], "accept")
        self.assertEqual(r["dumps"][2], ("ok", pickle.dumps(set(), 2)))
        self.assertIsNotNone(cannot(b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R."))

    def test_getattr_is_guarded(self):
        # getattr(collections.OrderedDict, 'fromkeys') is a method: refused;
        # getattr(object, '__subclasses__') too; a nested class is fine.
        for cls, attr in (("collections\nOrderedDict", "fromkeys"), ("builtins\nobject", "__subclasses__"),
                          ("builtins\nobject", "__reduce_ex__")):
            data = (b"\x80\x02cbuiltins\ngetattr\nc" + cls.encode() + b"\nX" + len(attr).to_bytes(4, "little")
                    + attr.encode() + b"\x86R.")
            self.assertIn("getattr", cannot(data) or "", attr)

    def test_dunder_paths_refused(self):
        # Protocol 4 resolves dotted names: collections.OrderedDict.__class__ is `type`.
        for name in ("OrderedDict.__class__", "OrderedDict.__init_subclass__", "OrderedDict.__subclasses__"):
            n = name.encode()
            data = (b"\x80\x04\x8c\x0bcollections\x94\x8c" + bytes([len(n)]) + n + b"\x94\x93\x94.")
            self.assertIsNotNone(cannot(data), name)
        data = b"\x80\x02cbuiltins\ngetattr\ncbuiltins\nobject\nX\x09\x00\x00\x00__class__\x86R."
        self.assertIn("__class__", cannot(data) or "")

    def test_stdlib_values(self):
        import collections
        import datetime
        import decimal
        for v in (datetime.datetime(2020, 1, 2, 3, 4, 5), decimal.Decimal("1.5"),
                  collections.OrderedDict(a=1), collections.Counter("aab")):
            for q in range(6):
                data = pickle.dumps(v, q)
                r = realclass.reference(data, [q])
                self.assertEqual(r["dumps"][q], ("ok", data), (v, q))

    def test_class_refusing_its_arguments_is_a_rejection(self):
        r = realclass.reference(b"cdecimal\nDecimal\n(Vone\ntR.", [0])
        self.assertEqual(r["answer"], "reject")
        self.assertIn("InvalidOperation", r["why"])

    def test_persistent_ids_kept(self):
        class P(pickle.Pickler):
            def persistent_id(self, obj):
                return ("oid", 7) if obj == "ref" else None
        import io
        for q in range(1, 6):
            f = io.BytesIO()
            P(f, q).dump({"a": "ref", "b": ["ref", 2]})
            r = realclass.reference(f.getvalue(), [q])
            self.assertEqual(r["dumps"][q], ("ok", f.getvalue()), q)

    def test_judge(self):
        data = pickle.dumps(collections_ordered(), 2)
        good = {q: ("accept", pickle.dumps(collections_ordered(), q)) for q in range(6)}
        v = realclass.judge(data, range(6), good, {q: True for q in range(6)})
        self.assertEqual({q: x["status"] for q, x in v.items()}, {q: "agree" for q in range(6)})
        bad = dict(good)
        bad[3] = ("accept", pickle.dumps([1], 3))
        bad[4] = ("reject", "pickletool: error: x")
        v = realclass.judge(data, range(6), bad, {q: True for q in range(6)})
        self.assertEqual(v[3]["status"], "differ")
        self.assertEqual(v[4]["status"], "differ")
        self.assertEqual(v[2]["status"], "agree")

    @unittest.skipIf(have_libraries(), "runs LibraryTests in this process instead")
    def test_library_tests_pass(self):
        why = realclass.available()
        if why:
            self.fail("the libraries' Python is needed: %s" % why)
        p = subprocess.run([realclass.LIBRARY_PYTHON, "-m", "unittest", "test_realclass.LibraryTests"],
                           cwd=HERE, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])


def collections_ordered():
    import collections
    return collections.OrderedDict([("b", 1), ("a", [2, 3])])


@unittest.skipUnless(have_libraries(), "needs numpy, torch, cloudpickle, persistent (/usr/bin/python3)")
class LibraryTests(unittest.TestCase):
    def read(self, name):
        with open(os.path.join(REALWORLD, name), "rb") as f:
            return f.read()

    def test_torch_storages_from_persistent_ids(self):
        data = self.read("torch_checkpoint.p2.pickle")
        s, values = realclass.load(data)
        import torch
        t = values[0]["shared"][0]
        self.assertIsInstance(t, torch.Tensor)
        self.assertEqual(t.tolist(), [0.0, 0.0])       # zeroed: the data are not in data.pkl
        again = s.dumps(values, 2)
        # Re-dumped, the storages are written as the ids they were loaded with.
        self.assertEqual(again.count(b"\x8c\x07storage") + again.count(b"X\x07\x00\x00\x00storage"),
                         data.count(b"\x8c\x07storage") + data.count(b"X\x07\x00\x00\x00storage"))

    def test_zodb_record_round_trips(self):
        for q in (1, 2, 3):
            data = self.read("zodb_record.p%d.pickle" % q)
            r = realclass.reference(data, [q])
            self.assertEqual(r["dumps"][q], ("ok", data), q)

    def test_numpy_redump(self):
        import numpy as np
        a = np.arange(6, dtype="<i4").reshape(2, 3)
        for q in range(6):
            data = pickle.dumps(a, q)
            r = realclass.reference(data, [q])
            self.assertEqual(r["dumps"][q], ("ok", data), q)

    def test_cloudpickle_needs_trust(self):
        data = self.read("cloudpickle_function.p4.pickle")
        self.assertTrue(realclass.is_trusted(data))
        self.assertIsNone(cannot(data, trusted=True))
        self.assertIn("not on the allowlist", cannot(data, trusted=False))
        self.assertFalse(realclass.is_trusted(data + b"\x00"))

    def test_torch_legacy_storage_needs_trust(self):
        data = self.read("torch_tensors.p2.pickle")
        self.assertIn("_load_from_bytes", cannot(data, trusted=False))

    def test_denied_library_names(self):
        for module, name in (("numpy", "load"), ("numpy", "memmap"), ("numpy", "fromfile"), ("torch", "load"),
                             ("torch", "save"), ("pandas", "read_pickle"), ("numpy", "vectorize"),
                             ("numpy.lib.npyio", "load"), ("torch.serialization", "load")):
            self.assertIsNotNone(cannot(global_call(module, name, "x")), "%s.%s" % (module, name))

    def test_reduction_divergence(self):
        # numpy at protocol 5 re-dumps as _frombuffer: the inert bytes (what
        # the codec writes) load as the same array.
        import numpy as np
        data = pickle.dumps(np.arange(3, dtype="u1"), 2)
        import inert
        mine = inert.dumps(inert.loads(data), 5)
        v = realclass.judge(data, [5], {5: ("accept", mine)}, {5: True})
        self.assertEqual(v[5].get("divergence"), "real-class-reduction")
        v = realclass.judge(data, [5], {5: ("accept", mine)}, {5: False})
        self.assertEqual(v[5]["status"], "differ")


if __name__ == "__main__":
    unittest.main()
