"""Tests for the oracle: python3 -m unittest discover -s oracle -p 'test_*.py'"""

import base64
import copyreg
import io
import os
import pickle
import pickletools
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import builder  # noqa: E402
import divergences  # noqa: E402
import inert  # noqa: E402
import pythons  # noqa: E402
from client import OracleClient, OracleError  # noqa: E402

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


class RealModule(object):
    """Put real classes into a module (for the 'what CPython writes for a
    real class of that name' comparisons), removed again afterwards."""

    def __init__(self, name, **objs):
        self.name, self.objs = name, objs
        self.saved = None

    def __enter__(self):
        self.saved = sys.modules.get(self.name)
        mod = self.saved if self.saved is not None else types.ModuleType(self.name)
        self.added = [k for k in self.objs if not hasattr(mod, k)]
        for k, v in self.objs.items():
            v.__module__ = self.name
            setattr(mod, k, v)
        sys.modules[self.name] = mod
        return mod

    def __exit__(self, *exc):
        mod = sys.modules[self.name]
        for k in self.added:
            delattr(mod, k)
        if self.saved is None:
            del sys.modules[self.name]


class SimpleObject:
    def __init__(self, name):
        self.name = name
        self.name_backwards = name[::-1]


class Outer(object):
    class Inner(object):
        def __init__(self, v=1):
            self.v = v


class Items(object):
    def __init__(self):
        self.l, self.d, self.s = [], [], None

    def extend(self, xs):
        self.l.extend(xs)

    def append(self, x):
        self.l.append(x)

    def __setitem__(self, k, v):
        self.d.append((k, v))

    def __setstate__(self, s):
        self.s = s

    def __reduce__(self):
        return (Items, (), self.s, iter(self.l), iter(self.d))


class ExArgs(object):
    def __new__(cls, *a, **k):
        self = object.__new__(cls)
        self.a, self.k = a, k
        return self

    def __getnewargs_ex__(self):
        return (self.a, self.k)


def load1(data, **kw):
    r = inert.load_stream(data, **kw)
    assert len(r) == 1, r
    return r[0]


class TestRedumpMatchesRealClasses(unittest.TestCase):
    """A stand-in re-dumped gives the bytes CPython writes for the real class."""

    def check_same_protocol(self, obj, **mods):
        for p in PROTOCOLS:
            real = pickle.dumps(obj, p)
            r = load1(real)
            self.assertTrue(r.ok, r)
            self.assertEqual(inert.dumps(r.value, p), real, "protocol %d" % p)

    def test_simpleobject_every_protocol(self):
        with RealModule("__main__", SimpleObject=SimpleObject):
            SimpleObject.__qualname__ = "SimpleObject"
            self.check_same_protocol(SimpleObject("pickle"))

    def test_pymotw_stream_of_three(self):
        with RealModule("__main__", SimpleObject=SimpleObject):
            SimpleObject.__qualname__ = "SimpleObject"
            buf = io.BytesIO()
            for name in ("pickle", "preserve", "last"):
                pickle.dump(SimpleObject(name), buf)
            data = buf.getvalue()
            res = inert.load_stream(data)
            self.assertEqual([r.ok for r in res], [True] * 3)
            self.assertEqual(res[-1].end, len(data))
            again = b"".join(inert.dumps(r.value, pickle.DEFAULT_PROTOCOL) for r in res)
            self.assertEqual(again, data)
            states = [inert.inert_fields(r.value)[3] for r in res]
            self.assertEqual(states[1], {"name": "preserve", "name_backwards": "evreserp"})

    def test_nested_class_and_instances(self):
        with RealModule("oracle_test_mod", Outer=Outer):
            Outer.Inner.__module__ = "oracle_test_mod"
            obj = [Outer.Inner(3), Outer, Outer.Inner, Outer.Inner(4)]
            self.check_same_protocol(obj)
            # Globals only: any input protocol, any output protocol.
            g = [Outer.Inner, Outer, Outer.Inner, set, frozenset, bytearray, bytes]
            for p in PROTOCOLS:
                r = load1(pickle.dumps(g, p))
                for q in PROTOCOLS:
                    self.assertEqual(inert.dumps(r.value, q), pickle.dumps(pickle.loads(pickle.dumps(g, p)), q),
                                     "in %d out %d" % (p, q))

    def test_reduce_with_items_and_state(self):
        it = Items()
        it.extend(range(2500))          # batching on a non-list
        it["k"] = 1
        it["k"] = 2                      # duplicate keys kept, in order
        it.s = {"falsy": 0}
        with RealModule("oracle_test_mod", Items=Items):
            self.check_same_protocol([it, it])
            r = load1(pickle.dumps(it, 2))
            c, args, has, state, li, di = inert.inert_fields(r.value)
            self.assertEqual((len(li), di, state), (2500, [("k", 1), ("k", 2)], {"falsy": 0}))

    def test_newobj_ex_identity_kept(self):
        shared_args = (1, 2)
        o = ExArgs(*shared_args, key="v")
        with RealModule("oracle_test_mod", ExArgs=ExArgs):
            for p in (4, 5):
                real = pickle.dumps(o, p)
                r = load1(real)
                c, args, has, state, li, di = inert.inert_fields(r.value)
                self.assertIs(c, r.registry.get("copyreg", "__newobj_ex__"))
                self.assertIs(args[1], state["a"])      # memoized args tuple shared with state
                self.assertIs(args[2], state["k"])
                self.assertEqual(inert.dumps(r.value, p), real)

    def test_one_char_singletons_shared(self):
        data = b"\x80\x04(\x8c\x01a\x8c\x01aC\x01bC\x01b\x8c\x00\x8c\x00t."
        v = load1(data).value
        self.assertIs(v[0], v[1])
        # docs/conformance.md §4: since 3.8 the C unpickler reads
        # SHORT_BINBYTES/BINBYTES/BINBYTES8 into a fresh bytes object, so
        # 1-byte bytes from those opcodes are *not* the singleton ...
        self.assertIsNot(v[2], v[3])
        self.assertIs(v[4], v[5])
        # ... while _codecs.encode (protocols 0-2) does return it.
        enc = b"c_codecs\nencode\nX\x01\x00\x00\x00bX\x06\x00\x00\x00latin1\x86R"
        w = load1(b"\x80\x02(" + enc + enc + b"t.").value
        self.assertIs(w[0], w[1])
        # ... so the re-dump memoizes them: the second one is a BINGET.
        self.assertEqual(inert.dumps(v, 2), pickle.dumps(pickle.loads(data), 2))
        self.assertIn(b"X\x01\x00\x00\x00aq\x00h\x00", inert.dumps(v, 2))


class TestFixImports(unittest.TestCase):
    def test_py2_builtin_names_map_below_3(self):
        self.assertIs(type(load1(b"c__builtin__\nset\n(]tR.").value), set)
        v = load1(b"c__builtin__\nxrange\n.").value
        self.assertEqual(inert.global_name_of(v), ("builtins", "range"))
        v = load1(b"cUserDict\nUserDict\n.").value                 # NAME_MAPPING
        self.assertEqual(inert.global_name_of(v), ("collections", "UserDict"))
        v = load1(b"cQueue\nQueue\n.").value                       # IMPORT_MAPPING
        self.assertEqual(inert.global_name_of(v), ("queue", "Queue"))

    def test_not_at_protocol_3_and_mid_pickle_switch(self):
        v = load1(b"\x80\x03c__builtin__\nset\n.").value
        self.assertEqual(inert.global_name_of(v), ("__builtin__", "set"))
        v = load1(b"\x80\x02c__builtin__\nset\n\x80\x04c__builtin__\nset\n\x86.").value
        self.assertIs(v[0], set)
        self.assertEqual(inert.global_name_of(v[1]), ("__builtin__", "set"))

    def test_fix_imports_false(self):
        v = load1(b"c__builtin__\nset\n.", fix_imports=False).value
        self.assertEqual(inert.global_name_of(v), ("__builtin__", "set"))

    def test_redump_applies_reverse_mapping(self):
        v = load1(b"\x80\x04\x8c\x08builtins\x8c\x05range\x93.").value
        self.assertEqual(inert.dumps(v, 2), b"\x80\x02c__builtin__\nxrange\nq\x00.")
        self.assertEqual(inert.dumps(v, 2), pickle.dumps(range, 2))
        self.assertEqual(inert.dumps(v, 3), pickle.dumps(range, 3))

    def test_python2_corpus_seed(self):
        path = os.path.join(ROOT, "corpus", "seeds", "2.7.18", "py2_types.p2.pickle")
        if not os.path.exists(path):
            self.skipTest("corpus not generated")
        with open(path, "rb") as f:
            v = load1(f.read()).value
        self.assertEqual(v[:6], ["str", "x" * 300, "unicode", 5, 2 ** 70, 2 ** 40])
        c, args = inert.inert_fields(v[6])[:2]             # old-style class with __getinitargs__: INST/OBJ
        self.assertEqual((inert.global_name_of(c), args), (("corpusmod", "OldStyleArgs"), (1, "two")))


class TestInertSemantics(unittest.TestCase):
    def test_reduce_args_identity_and_call_of_inert(self):
        v = load1(b"\x80\x02]q\x00(cm\nC\n(K\x01K\x02tq\x01Rq\x02h\x01h\x02)Re.").value
        c, args = inert.inert_fields(v[0])[:2]
        self.assertIs(args, v[1])
        c2, args2 = inert.inert_fields(v[2])[:2]
        self.assertIs(c2, v[0])
        self.assertEqual(args2, ())

    def test_newobj_of_a_class_made_by_a_call(self):
        # cloudpickle's _make_skeleton_class: NEWOBJ's class is an inert
        # call's result, which CPython loads (the call returns a class).
        data = b"\x80\x02cbuiltins\ntype\nX\x01\x00\x00\x00P)}\x87R)\x81."
        r = load1(data)
        self.assertTrue(r.ok, r.error)
        c, args = inert.inert_fields(r.value)[:2]
        self.assertEqual(inert.global_name_of(c), ("copyreg", "__newobj__"))
        self.assertEqual(len(args), 1)
        self.assertTrue(inert.is_inert(args[0]))
        self.assertEqual(inert.inert_fields(args[0])[1], ("P", (), {}))
        self.assertEqual(inert.dumps(r.value, 2),
                         b"\x80\x02c__builtin__\ntype\nq\x00X\x01\x00\x00\x00Pq\x01)}q\x02\x87q\x03Rq\x04)\x81q\x05.")
        self.assertEqual(inert.dumps(r.value, 1),
                         b"ccopy_reg\n__newobj__\nq\x00(c__builtin__\ntype\nq\x01(X\x01\x00\x00\x00Pq\x02)}q\x03tq\x04"
                         b"Rq\x05tq\x06Rq\x07.")
        # NEWOBJ_EX too; a §2.1 builtin's result keeps CPython's error.
        r = load1(b"\x80\x04cbuiltins\ntype\nX\x01\x00\x00\x00P)}\x87R)}\x92.")
        self.assertTrue(r.ok, r.error)
        self.assertEqual(inert.global_name_of(inert.inert_fields(r.value)[0]), ("copyreg", "__newobj_ex__"))
        r = load1(b"\x80\x02c__builtin__\nset\n)R)\x81.")
        self.assertEqual(r.error[2], "NEWOBJ class argument must be a type, not set")

    def test_state_setter_call(self):
        # save_reduce's 6th item: setter, obj, state, TUPLE2, REDUCE, POP.
        # Real CPython re-dumps this OrderedDict so at protocols 0-3.
        data = (b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01c__builtin__\ngetattr\nq\x02h\x00"
                b"X\x06\x00\x00\x00updateq\x03\x86q\x04Rq\x05h\x01]q\x06X\x01\x00\x00\x00aq\x07K\x01\x86q\x08a\x86R0.")
        v = load1(data).value
        self.assertEqual(inert.inert_fields(v)[2:4], (True, [("a", 1)]))
        self.assertEqual(inert.global_name_of(inert.inert_state_setter(v)), ("collections", "OrderedDict.update"))
        self.assertEqual(inert.dumps(v, 2), data)

    def test_state_setter_shapes(self):
        obj = b"\x80\x02cm\nC\n)Rq\x00cm\nf\nh\x00K\x01"
        v = load1(obj + b"\x86R0.").value
        self.assertEqual(inert.inert_fields(v)[2:4], (True, 1))
        self.assertEqual(inert.global_name_of(inert.inert_state_setter(v)), ("m", "f"))
        self.assertEqual(inert.dumps(v, 0), b"cm\nC\np0\n(tRp1\ncm\nf\np2\ng1\nI1\n\x86R0.")
        self.assertEqual(inert.dumps(v, 2), b"\x80\x02cm\nC\nq\x00)Rq\x01cm\nf\nq\x02h\x01K\x01\x86R0.")
        # A later BUILD replaces the setter's state; a second setter too.
        v = load1(obj + b"\x86R0K\x02b.").value
        self.assertEqual((inert.inert_fields(v)[3], inert.inert_state_setter(v)), (2, None))
        v = load1(obj + b"\x86R0cm\ng\nh\x00K\x02\x86R0.").value
        self.assertEqual(inert.inert_fields(v)[3], 2)
        self.assertEqual(inert.global_name_of(inert.inert_state_setter(v)), ("m", "g"))
        # Dropped: not popped right after its REDUCE, not (obj, state), a builtin obj.
        for tail in (b"\x86Rq\x010.", b"K\x02\x87R0."):
            v = load1(obj + tail).value
            self.assertEqual((inert.inert_fields(v)[2], inert.inert_state_setter(v)), (False, None))
            self.assertEqual(inert.dumps(v, 2), b"\x80\x02cm\nC\nq\x00)Rq\x01.")
        self.assertEqual(load1(b"\x80\x02}q\x00cm\nf\nh\x00K\x01\x86R0.").value, {})

    def test_same_global_is_one_object(self):
        v = load1(b"\x80\x04(\x8c\x01m\x8c\x01C\x93cm\nC\ncm\nD\nt.").value
        self.assertIs(v[0], v[1])
        self.assertIsNot(v[0], v[2])

    def test_newobj_and_newobj_ex_tables(self):
        v = load1(b"\x80\x04(\x8c\x01m\x8c\x01C\x93K\x01\x85\x81cm\nC\n)}\x92cm\nC\nK\x02\x85}\x8c\x01kK\x03s\x92t.")
        a, b, c = v.value
        reg = v.registry
        C = reg.get("m", "C")
        self.assertEqual(inert.inert_fields(a)[:2], (reg.get("copyreg", "__newobj__"), (C, 1)))
        self.assertEqual(inert.inert_fields(b)[:2], (reg.get("copyreg", "__newobj_ex__"), (C, (), {})))
        self.assertEqual(inert.inert_fields(c)[:2], (reg.get("copyreg", "__newobj_ex__"), (C, (2,), {"k": 3})))
        ops = [op.name for op, _a, _p in pickletools.genops(inert.dumps(v.value, 4))]
        self.assertEqual((ops.count("NEWOBJ"), ops.count("NEWOBJ_EX")), (1, 2))
        self.assertEqual(builder.graph_of(load1(inert.dumps(v.value, 4)).value), builder.graph_of(v.value))
        # NEWOBJ_EX below protocol 4: functools.partial(C.__new__, C, ...), as CPython.
        self.assertIn(b"cfunctools\npartial\n", inert.dumps(c, 2))

    def test_inst_obj_without_args_are_new(self):
        # CPython's instantiate(): cls.__new__(cls), __init__ not called (how
        # Python 2 writes classic instances): the object NEWOBJ makes.
        for data in (b"(i__main__\nC\n(dp0\nS'a'\nI1\nsb.", b"(c__main__\nC\no}X\x01\x00\x00\x00aK\x01sb."):
            r = load1(data)
            c, args, has, state = inert.inert_fields(r.value)[:4]
            C = r.registry.get("__main__", "C")
            self.assertEqual((c, args, has, state), (r.registry.get("copyreg", "__newobj__"), (C,), True, {"a": 1}))
        # With arguments INST and OBJ call the class (Python 2's __getinitargs__).
        r = load1(b"(I1\ni__main__\nC\n(dp0\nS'a'\nI1\nsb.")
        self.assertEqual(inert.inert_fields(r.value)[:2], (r.registry.get("__main__", "C"), (1,)))

    def test_plain_instances_redump_as_real_classes(self):
        # An instance made by cls.__new__(cls) alone is written as CPython
        # writes one of a plain class: _reconstructor below protocol 2 (the
        # state only when true), NEWOBJ from 2.
        class C(object):
            def __init__(self, needed):
                raise AssertionError("__init__ called")
        C.__qualname__ = "C"
        inputs = [
            b"(i__main__\nC\n(dp0\nS'a'\nI1\nsb.",                      # INST, no arguments
            b"(c__main__\nC\no}X\x01\x00\x00\x00bK\x02sb.",                # OBJ
            b"\x80\x02c__main__\nC\n)\x81}X\x01\x00\x00\x00bK\x02sb.",    # NEWOBJ
            b"ccopy_reg\n_reconstructor\n(c__main__\nC\nc__builtin__\nobject\nNtR(dVa\nI1\nsb.",
            # the _reconstructor arguments used again: a tuple of their own
            b"(ccopy_reg\n_reconstructor\n(c__main__\nC\nc__builtin__\nobject\nNtp0\nRp1\ng0\nt.",
        ]
        with RealModule("__main__", C=C):
            for data in inputs:
                real = pickle.loads(data, encoding="latin1")
                for q in PROTOCOLS:
                    self.assertEqual(inert.redump(data, [q], encoding="latin1")[0][1][q],
                                     (True, pickle.dumps(real, q)), (data, q))
            # An empty dict state: dropped below protocol 2 as copyreg does;
            # kept from 2, as a __getstate__ returning {} writes it.
            data = b"(c__main__\nC\no}b."
            real = pickle.loads(data)
            for q in PROTOCOLS:
                got = inert.redump(data, [q])[0][1][q]
                if q < 2:
                    self.assertEqual(got, (True, pickle.dumps(real, q)), q)
                else:
                    self.assertTrue(got[0] and got[1].endswith((b"}q\x02b.", b"}\x94b.")), (q, got))

    def test_build_replaces_and_keeps_falsy(self):
        v = load1(b"\x80\x02cm\nC\n)R}bK\x00b.").value
        self.assertEqual(inert.inert_fields(v)[2:4], (True, 0))
        self.assertEqual(inert.dumps(v, 2), b"\x80\x02cm\nC\nq\x00)Rq\x01K\x00b.")

    def test_errors_as_cpython(self):
        r = load1(b"\x80\x04cm\nC\n)R(K\x01\x90.")
        self.assertFalse(r.ok)
        self.assertEqual(r.error[:2], ("AttributeError", "builtins"))
        self.assertIn("has no attribute 'add'", r.error[2])
        r = load1(b"\x80\x02]K\x01\x85R.")
        self.assertEqual(r.error, ("TypeError", "builtins", "'list' object is not callable"))
        r = load1(b"\x80\x04\x82\x01.")
        self.assertEqual(r.error, ("ValueError", "builtins", "unregistered extension code 1"))
        r = load1(b"")
        self.assertEqual(r.error, ("EOFError", "builtins", "Ran out of input"))

    def test_safe_builtins_are_real(self):
        v = load1(b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x06\x00\x00\x00latin1\x86R.").value
        self.assertEqual(v, b"ab")
        p2 = load1(pickle.dumps({1, 2}, 2)).value
        p4 = load1(pickle.dumps({1, 2}, 4)).value
        self.assertEqual((type(p2), p2), (type(p4), p4))

    def test_getattr_nesting(self):
        data = b"c__builtin__\ngetattr\n(c__main__\nOuter\nVInner\ntRc__main__\nOuter.Inner\n\x86."
        v = load1(data).value
        self.assertIs(v[0], v[1])
        self.assertEqual(inert.global_name_of(v[0]), ("__main__", "Outer.Inner"))
        other = load1(b"c__builtin__\ngetattr\n(K\x01VInner\ntR.").value   # not a global: inert call
        self.assertEqual(inert.inert_fields(other)[1], (1, "Inner"))
        with RealModule("__main__", Outer=Outer):
            Outer.Inner.__module__ = "__main__"
            for q in PROTOCOLS:
                self.assertEqual(inert.dumps(v[0], q), pickle.dumps(Outer.Inner, q), q)

    def test_extensions_and_cache(self):
        ext = [("m", "E", 1)]
        v = load1(b"\x80\x02\x82\x01.", extensions=ext).value
        self.assertEqual(inert.global_name_of(v), ("m", "E"))
        r = inert.redump(b"\x80\x02\x82\x01.", [2], extensions=ext)
        self.assertEqual(r[0][1][2], (True, b"\x80\x02\x82\x01."))   # EXT globals are not memoized
        with inert._Extensions(ext), RealModule("m", E=type("E", (), {})):
            self.assertEqual(pickle.dumps(sys.modules["m"].E, 2), b"\x80\x02\x82\x01.")
        w = load1(b"\x80\x02\x82\x01.", extensions=ext).value
        self.assertIsNot(v, w)                      # no stand-in leaks through the EXT cache
        self.assertNotIn(1, copyreg._inverted_registry)

    def test_persistent_ids(self):
        marker = object()

        class P(pickle.Pickler):
            def persistent_id(self, obj):
                return "k" if obj is marker else None
        for p in PROTOCOLS:
            buf = io.BytesIO()
            P(buf, p).dump([marker, 1])
            data = buf.getvalue()
            v = load1(data).value
            self.assertEqual((type(v[0]), v[0].pid), (inert.PersId, "k"))
            self.assertEqual(inert.dumps(v, p), data)
        r = load1(data, persistent=False)
        self.assertEqual(r.error[0], "UnpicklingError")

    def test_stream_with_truncated_tail(self):
        res = inert.load_stream(b"K\x01.K\x02.\x80\x04K\x03.K")
        self.assertEqual([r.ok for r in res], [True, True, True, False])
        self.assertEqual([r.value for r in res[:3]], [1, 2, 3])


class TestBuilder(unittest.TestCase):
    DOC = {"root": 0, "nodes": [
        {"t": "list", "items": [1, 1, 2, 3, 4, 0, 5, 6]},
        {"t": "str", "v": "a"},
        {"t": "tuple", "items": [0, 1]},
        {"t": "dict", "items": [[7, 8], [9, 10]]},
        {"t": "float", "bits": "7ff8000000000001"},
        {"t": "bytes", "hex": "00ff"},
        {"t": "set", "items": [11]},
        {"t": "int", "v": "-1"}, {"t": "none"},
        {"t": "int", "v": "123456789012345678901234567890"}, {"t": "bool", "v": True},
        {"t": "frozenset", "items": [12]}, {"t": "int", "v": "7"}]}

    def test_builds_shared_and_cycles(self):
        root, b = builder.build(self.DOC)
        self.assertIs(root[0], root[1])
        self.assertIs(root[2][0], root)
        self.assertIs(root[5], root)
        self.assertTrue(root[4] != root[4])        # NaN payload kept
        self.assertEqual(root[6].hex(), "00ff")
        for p in PROTOCOLS:
            self.assertEqual(inert.dumps(root, p), pickle.dumps(root, p))
        g = builder.graph_of(root)
        self.assertEqual(builder.graph_of(pickle.loads(pickle.dumps(root, 4))), g)
        nan = [n for n in g["nodes"] if n["t"] == "float"][0]
        self.assertEqual(nan["bits"], "7ff8000000000001")

    def test_objects_and_globals(self):
        doc = {"root": 0, "nodes": [
            {"t": "object", "callable": 1, "args": 2, "state": 3, "listitems": [4], "dictitems": [[5, 4]]},
            {"t": "global", "module": "__main__", "name": "SimpleObject"},
            {"t": "tuple", "items": []},
            {"t": "dict", "items": [[5, 5]]},
            {"t": "int", "v": "1"}, {"t": "str", "v": "name"}]}
        root, b = builder.build(doc)
        # save_reduce order: callable, args, REDUCE, listitems, dictitems, state, BUILD.
        expected = (b"\x80\x02c__main__\nSimpleObject\nq\x00)Rq\x01K\x01aX\x04\x00\x00\x00nameq\x02"
                    b"K\x01s}q\x03h\x02h\x02sb.")
        self.assertEqual(inert.dumps(root, 2), expected)
        self.assertEqual(builder.graph_of(load1(expected).value), builder.graph_of(root))

    def test_instance_matches_real_class(self):
        class Hooked(object):
            __slots__ = ("x",)

            def __getstate__(self):
                return 0

            def __setstate__(self, s):
                pass
        Hooked.__qualname__ = "Hooked"
        doc = {"root": 0, "nodes": [
            {"t": "instance", "class": ["oracle_hook_mod", "Hooked"],
             "hooks": {"getstate": True, "setstate": True, "slots": ["x"]}, "state": 1},
            {"t": "int", "v": "0"}]}
        root, b = builder.build(doc)
        with RealModule("oracle_hook_mod", Hooked=Hooked):
            for p in range(2, 6):
                self.assertEqual(inert.dumps(root, p), pickle.dumps(Hooked(), p), p)

    def test_setstate_calls_with_falsy_state(self):
        doc = {"root": 0, "nodes": [
            {"t": "list", "items": [1, 1, 3]},
            {"t": "instance", "class": ["oracle_hook_mod2", "S"],
             "hooks": {"getstate": True, "setstate": True}, "state": 2},
            {"t": "int", "v": "0"},
            {"t": "instance", "class": ["oracle_hook_mod2", "S"],
             "hooks": {"getstate": True, "setstate": True}, "state": 4},
            {"t": "str", "v": ""}]}
        for p in (2, 4):
            data, res, calls = builder.setstate_calls(doc, p)
            self.assertTrue(res.ok)
            self.assertEqual(calls, [{"root": 0, "nodes": [{"t": "int", "v": "0"}]},
                                     {"root": 0, "nodes": [{"t": "str", "v": ""}]}])

    def test_tuple_cycle_without_mutable_is_rejected(self):
        with self.assertRaises(builder.GraphError):
            builder.build({"root": 0, "nodes": [{"t": "tuple", "items": [0]}]})


def real_setstate_log(doc, data, extra=None):
    """Load `data` with CPython's own C unpickler and imports (no stand-ins):
    the instance classes are the builder's hook classes (fresh ones, fresh
    log), `extra` maps other (module, name) to real classes, everything else
    is really imported (copyreg._reconstructor, builtins.object, ...).
    -> list of __setstate__ argument graphs, or ("error", type, message)."""
    _root, b = builder.build(doc)
    fac = builder.HookClassFactory(inert.Registry())
    for (m, q), (_cls, hooks) in b.factory.classes.items():
        fac.get(m, q, hooks)
    classes = dict(fac.registered_map())
    classes.update(extra or {})

    class RealUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            c = classes.get((module, name))
            return c if c is not None else pickle.Unpickler.find_class(self, module, name)

    try:
        RealUnpickler(io.BytesIO(data)).load()
    except Exception as e:
        return ("error", type(e).__name__, str(e))
    return [builder.graph_of(state) for _obj, state in fac.setstate_log]


class AnyArgs(object):
    """A real class that takes any constructor arguments (for stand-ins'
    names when CPython loads for real)."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)


def _inst(cls, state, hooks=None, **extra):
    n = {"t": "instance", "class": ["oracle_hook_mod3", cls],
         "hooks": hooks or {"getstate": True, "setstate": True}}
    if state is not None:
        n["state"] = state
    n.update(extra)
    return n


class TestStateHooksAsRealCPython(unittest.TestCase):
    """setstate_calls (the oracle's __setstate__ log, stand-ins for every
    global but the instance classes) against CPython loading the same bytes
    with real imports: protocols 0-1 rebuild instances by
    copyreg._reconstructor(cls, object, None) then BUILD a true state only."""

    FALSY = [{"t": "int", "v": "0"}, {"t": "bool", "v": False}, {"t": "str", "v": ""},
             {"t": "bytes", "hex": ""}, {"t": "tuple", "items": []}, {"t": "float", "bits": "0000000000000000"},
             {"t": "none"}]

    def docs(self):
        out = []
        for st in [{"t": "int", "v": "5"}, {"t": "str", "v": "s"}] + self.FALSY:
            # The same instance twice, and another one of the class with state 7.
            out.append({"root": 0, "nodes": [{"t": "list", "items": [1, 1, 3]}, _inst("S", 2), st,
                                             _inst("S", 4), {"t": "int", "v": "7"}]})
        for empty in ("list", "dict"):   # falsy mutable states
            out.append({"root": 0, "nodes": [{"t": "list", "items": [1]}, _inst("S", 2),
                                             {"t": empty, "items": []}]})
        # A state holding the instance itself and another instance.
        out.append({"root": 0, "nodes": [_inst("S", 1), {"t": "list", "items": [0, 2]},
                                         _inst("S", 3), {"t": "int", "v": "1"}]})
        # __getnewargs__ / __getnewargs_ex__ without kwargs (used from protocol 2).
        out.append({"root": 0, "nodes": [
            {"t": "list", "items": [1, 2]},
            _inst("SN", 3, {"getstate": True, "setstate": True, "getnewargs": True}, newargs=4),
            _inst("SX", 3, {"getstate": True, "setstate": True, "getnewargs_ex": True}, newargs_ex=[4, 5]),
            {"t": "str", "v": "st"}, {"t": "tuple", "items": [6]}, {"t": "dict", "items": []},
            {"t": "int", "v": "9"}]})
        # No __setstate__: slots and a dict (nothing logged, but load must agree).
        out.append({"root": 0, "nodes": [
            {"t": "list", "items": [1, 2]},
            _inst("G", 3, {"getstate": True, "slots": ["p"]}),
            _inst("A", 4, {}),
            {"t": "tuple", "items": [5, 6]}, {"t": "dict", "items": [[7, 8]]},
            {"t": "dict", "items": []}, {"t": "dict", "items": [[9, 8]]},
            {"t": "str", "v": "a"}, {"t": "int", "v": "1"}, {"t": "str", "v": "p"}]})
        return out

    def check(self, doc, protocols=PROTOCOLS, extra=None):
        for p in protocols:
            data, res, calls = builder.setstate_calls(doc, p)
            real = real_setstate_log(doc, data, extra)
            if not res.ok:
                self.assertEqual(real[:2], ("error", res.error[0]), (p, res.error))
                continue
            self.assertEqual(calls, real, "protocol %d: %r" % (p, data))

    def test_every_protocol_as_real_cpython(self):
        for doc in self.docs():
            self.check(doc)

    def test_protocols_0_1_call_setstate_for_a_true_state_only(self):
        for st, want in (({"t": "int", "v": "5"}, 1), ({"t": "int", "v": "0"}, 0), ({"t": "none"}, 0)):
            doc = {"root": 0, "nodes": [_inst("S", 1), st]}
            for p in (0, 1):
                data, res, calls = builder.setstate_calls(doc, p)
                self.assertIn(b"_reconstructor", data)
                self.assertEqual(len(calls), want, (p, st))

    def test_newobj_and_newobj_ex_mixed_log_once(self):
        # copyreg.__newobj__ (NEWOBJ) and copyreg.__newobj_ex__ with empty kwargs
        # on stand-in classes: the loader replays the pickle to tell the two
        # opcodes apart; the replay's __setstate__ calls must not be logged.
        doc = {"root": 0, "nodes": [
            {"t": "list", "items": [1, 2, 3, 4]},
            _inst("S", 5),
            {"t": "object", "callable": 6, "args": 7},
            {"t": "object", "callable": 8, "args": 9},
            _inst("S", 13),
            {"t": "int", "v": "5"},
            {"t": "global", "module": "oracle_real_mod", "name": "__newobj__"},
            {"t": "tuple", "items": [10, 5]},
            {"t": "global", "module": "oracle_real_mod", "name": "__newobj_ex__"},
            {"t": "tuple", "items": [11, 12, 14]},
            {"t": "global", "module": "oracle_real_mod", "name": "C"},
            {"t": "global", "module": "oracle_real_mod", "name": "D"},
            {"t": "tuple", "items": []},
            {"t": "list", "items": []},
            {"t": "dict", "items": []}]}
        # Named like copyreg's: save_reduce goes by __name__.
        doc["nodes"][6]["module"] = doc["nodes"][8]["module"] = "copyreg"
        extra = {("oracle_real_mod", "C"): AnyArgs, ("oracle_real_mod", "D"): AnyArgs}
        for p in PROTOCOLS:
            data, res, calls = builder.setstate_calls(doc, p)
            self.assertTrue(res.ok, res)
            if p >= 4:
                self.assertIn(pickle.NEWOBJ, data)
                self.assertIn(pickle.NEWOBJ_EX, data)
            # The second instance's state is [] (falsy): no BUILD below protocol 2.
            self.assertEqual(len(calls), 2 if p >= 2 else 1, p)
            self.assertEqual(calls, real_setstate_log(doc, data, extra), p)

    def test_replay_keeps_the_classes_home(self):
        doc = {"root": 0, "nodes": [
            {"t": "list", "items": [1, 2, 3]}, _inst("S", 4),
            {"t": "object", "callable": 5, "args": 6}, {"t": "object", "callable": 7, "args": 8},
            {"t": "int", "v": "1"},
            {"t": "global", "module": "copyreg", "name": "__newobj__"}, {"t": "tuple", "items": [9]},
            {"t": "global", "module": "copyreg", "name": "__newobj_ex__"}, {"t": "tuple", "items": [9, 10, 11]},
            {"t": "global", "module": "m", "name": "C"}, {"t": "tuple", "items": []},
            {"t": "dict", "items": []}]}
        root, b = builder.build(doc)
        data = inert.dumps(root, 4)
        fac = builder.HookClassFactory(inert.Registry())
        S = fac.get("oracle_hook_mod3", "S", {"getstate": True, "setstate": True})
        r = inert.load_stream(data, registered={("oracle_hook_mod3", "S"): S})[0]
        self.assertTrue(r.ok)
        self.assertIs(inert._home(S).registry, r.registry)
        self.assertEqual(len(fac.setstate_log), 1)

    def load_with(self, data, classes):
        fac = builder.HookClassFactory(inert.Registry())
        reg = {}
        for name, hooks in classes.items():
            reg[("m3", name)] = fac.get("m3", name, hooks)
        r = inert.load_stream(data, registered=reg, persistent=False)[0]
        return r, fac

    def real_load(self, data, classes):
        fac = builder.HookClassFactory(inert.Registry())
        reg = {("m3", n): fac.get("m3", n, h) for n, h in classes.items()}

        class RealUnpickler(pickle.Unpickler):
            def find_class(self, module, name):
                c = reg.get((module, name))
                return c if c is not None else pickle.Unpickler.find_class(self, module, name)
        try:
            v = RealUnpickler(io.BytesIO(data)).load()
        except Exception as e:
            return None, (type(e).__name__, str(e)), fac
        return v, None, fac

    def test_reconstructor_bases_as_copyreg(self):
        S = {"getstate": True, "setstate": True}
        T = {"getstate": True, "setstate": True, "getnewargs": True}
        classes = {"S": S, "T": T}
        cases = [
            b"ccopy_reg\n_reconstructor\n(cm3\nS\nc__builtin__\nobject\nNtRI5\nb.",
            b"ccopy_reg\n_reconstructor\n(cm3\nS\nc__builtin__\nbytes\nC\x01xtRI5\nb.",
            b"ccopy_reg\n_reconstructor\n(cm3\nS\nc__builtin__\nset\n(ltRI5\nb.",
            b"ccopy_reg\n_reconstructor\n(cm3\nS\ncm3\nT\nI3\ntRI5\nb.",
            b"ccopy_reg\n_reconstructor\n(cm3\nS\nI1\nI3\ntR.",
            b"ccopy_reg\n_reconstructor\n(cm3\nS\ncm3\nS\nNtR.",
            b"\x80\x02ccopyreg\n_reconstructor\ncm3\nT\nc__builtin__\nobject\nN\x87R}b.",
        ]
        for data in cases:
            r, fac = self.load_with(data, classes)
            v, err, rfac = self.real_load(data, classes)
            if err is not None:
                self.assertFalse(r.ok, data)
                self.assertEqual(r.error[0::2], err, data)
                continue
            self.assertTrue(r.ok, (data, r))
            self.assertEqual(type(r.value).__qualname__, type(v).__qualname__, data)
            self.assertEqual([s for _o, s in fac.setstate_log], [s for _o, s in rfac.setstate_log], data)

    def test_reconstructor_of_unknown_stays_inert(self):
        classes = {"S": {"getstate": True, "setstate": True}}
        # An unregistered class, and a base the oracle cannot know: inert calls.
        for data in (b"ccopy_reg\n_reconstructor\n(cm\nC\nc__builtin__\nobject\nNtRI5\nb.",
                     b"ccopy_reg\n_reconstructor\n(cm3\nS\ncm\nBase\nNtRI5\nb."):
            r, fac = self.load_with(data, classes)
            self.assertTrue(r.ok)
            self.assertIsInstance(r.value, inert.InertObject)
            self.assertEqual(inert.inert_fields(r.value)[2:4], (True, 5))
            self.assertEqual(fac.setstate_log, [])
            self.assertEqual([per for _r, per in inert.redump(data, PROTOCOLS,
                                                                registered=fac.registered_map())],
                             [per for _r, per in inert.redump(data, PROTOCOLS)])
        # The argument tuple kept (memoized, used again): same re-dump as without registered classes.
        data = b"(ccopy_reg\n_reconstructor\n(cm\nC\ncm\nBase\nNtp0\nRp1\ng0\nt."
        r, fac = self.load_with(data, classes)
        self.assertIs(inert.inert_fields(r.value[0])[1], r.value[1])
        for q in PROTOCOLS:
            self.assertEqual(inert.dumps(r.value, q), inert.redump(data, [q])[0][1][q][1], q)


class TestPicklerGlobalsAsStandins(unittest.TestCase):
    """Globals the pickler brings in itself (functools.partial of
    __newobj_ex__ below protocol 4, getattr/object of object.__new__,
    copyreg._reconstructor/object of an instance below protocol 2) are the
    graph's stand-ins of the same name: one memo entry, as real CPython
    writes them (the real objects are one object there)."""

    def test_partial_getattr_object_once(self):
        import functools

        class D(object):
            pass

        class O(object):
            def __reduce_ex__(self, proto):
                return (copyreg.__newobj_ex__, (D, (), {"k": 1}))
        D.__qualname__ = "D"
        with RealModule("oracle_real_mod2", D=D):
            for real in ([functools.partial, O()], [O(), functools.partial],
                         [getattr, object, functools.partial, O(), O()], [O(), object], [O(), getattr]):
                data = pickle.dumps(real, 4)
                for q in PROTOCOLS:
                    if q >= 4 and getattr in real and object in real:
                        continue   # divergence builtins-module-string-memo
                    want = pickle.dumps(real, q)
                    got = inert.redump(data, [q])[0][1][q]
                    self.assertEqual(got, (True, want), (q, real))
                    if q in (2, 3):
                        self.assertEqual(want.count(b"functools\npartial"), 1)

    def test_registered_new_in_partial_as_real_cpython(self):
        # Below protocol 4, __newobj_ex__ pickles partial(SX.__new__, ...):
        # SX.__new__ is saved before SX, its module must be there already.
        doc = {"root": 0, "nodes": [
            {"t": "list", "items": [1, 1]},
            _inst("SX", 2, {"getstate": True, "setstate": True, "getnewargs_ex": True}, newargs_ex=[3, 4]),
            {"t": "int", "v": "5"}, {"t": "tuple", "items": [2]}, {"t": "dict", "items": [[5, 2]]},
            {"t": "str", "v": "k"}]}
        out = builder.build_dump(doc, PROTOCOLS)
        root, b = builder.build(doc)
        with RealModule("oracle_hook_mod3", SX=type(root[0])):
            for q in PROTOCOLS:
                self.assertEqual(out[q][:2], (True, pickle.dumps(root, q)), q)
        self.assertIn(b"functools\npartial", out[2][1])

    def test_setorder_model_substitutes_alike(self):
        # oracle/setorder.py's pure-Python model of the C pickler shares the
        # reducer_override: same bytes, set included.
        import setorder
        data = (b"\x80\x04](\x8c\x08builtins\x8c\x07getattr\x93\x8c\x08builtins\x8c\x06object\x93"
                b"\x8c\tfunctools\x8c\x07partial\x93\x8c\x03mod\x8c\x01D\x93)}\x8c\x01kK\x01s\x92"
                b"\x8f(K\x01K\x02\x90e.")
        v = load1(data).value
        for q in PROTOCOLS:
            self.assertEqual(setorder.py_dumps(v, q), inert.dumps(v, q), q)
        self.assertEqual(inert.dumps(v, 2).count(b"functools\npartial"), 1)

    def test_reconstructor_and_object_once(self):
        doc = {"root": 0, "nodes": [
            {"t": "list", "items": [1, 2, 3, 1, 2]},
            {"t": "global", "module": "copyreg", "name": "_reconstructor"},
            {"t": "global", "module": "builtins", "name": "object"},
            _inst("S", 4), {"t": "int", "v": "7"}]}
        root, b = builder.build(doc)
        S = type(root[2])
        with RealModule("oracle_hook_mod3", S=S):
            real = [copyreg._reconstructor, object, root[2], copyreg._reconstructor, object]
            for q in PROTOCOLS:
                self.assertEqual(builder.build_dump(doc, [q])[q][1], pickle.dumps(real, q), q)


class TestArgumentIdentity(unittest.TestCase):
    """A hook receives NEWOBJ_EX's args and kwargs, and _reconstructor's
    argument tuple, repacked; the oracle gives back the very objects the
    pickle passed (the replay tells which memo entry, if any), so the
    re-dump refers to them as CPython does to the real ones."""

    def _same_as_real(self, data, real, **load_kw):
        for q in PROTOCOLS:
            got = inert.redump(data, [q], **load_kw)[0][1][q]
            self.assertEqual(got, (True, pickle.dumps(real, q)), q)

    def _newobj_ex_of(self, kwargs):
        class D(object):
            pass
        D.__qualname__ = "D"
        D.__module__ = "oracle_ident_mod"

        class O(object):
            def __reduce_ex__(self, proto):
                return (copyreg.__newobj_ex__, (D, (), kwargs))
        return D, O()

    def test_newobj_ex_takes_an_older_of_equal_dicts(self):
        d0, d1 = {}, {}
        D, o = self._newobj_ex_of(d0)
        real = [d0, d1, o]
        with RealModule("oracle_ident_mod", D=D):
            data = pickle.dumps(real, 4)
            self.assertIn(b"h\x01", data)     # the call takes the first dict: GET 1
            self._same_as_real(data, real)

    def test_newobj_ex_takes_a_fresh_dict_equal_to_a_memoized_one(self):
        d0 = {}
        D, o = self._newobj_ex_of({})
        data = (b"\x80\x04]\x94(}\x94\x8c\x10oracle_ident_mod\x8c\x01D\x93)}\x92e.")
        with RealModule("oracle_ident_mod", D=D):
            self._same_as_real(data, [d0, o])

    def test_reconstructor_takes_an_older_of_equal_tuples(self):
        class C(object):
            pass
        C.__qualname__ = "C"
        C.__module__ = "oracle_ident_mod2"
        # (state 0, not None: _reconstructor(C, object, None) is object.__new__(C), a plain instance)
        t0, t1 = (C, object, 0), (C, object, 0)

        class O(object):
            def __reduce_ex__(self, proto):
                return (copyreg._reconstructor, t0)
        class R(object):
            pass
        real = [t0, t1, O()]
        with RealModule("oracle_ident_mod2", C=C):
            for p in PROTOCOLS:
                # (_reconstructor is a hook only while some class is registered)
                self._same_as_real(pickle.dumps(real, p), real, registered={("oracle_ident_mod2", "R"): R})


class TestNestedOnBuiltin(unittest.TestCase):
    # `_codecs encode.x` below protocol 4 is getattr(_codecs.encode, 'x'),
    # whose parent CPython takes to be the real builtin (the one it writes
    # for bytes too); the oracle's stand-in cannot hang off it: it says so.
    def test_the_oracle_cannot_answer(self):
        data = b"](C\x01\x9fc_codecs\nencode.x\ne."
        got = inert.redump(data, [0, 4])[0][1]
        self.assertEqual(got[0][0], False)
        self.assertEqual(got[0][1][0], "NestedOnBuiltin")
        self.assertIn("NestedOnBuiltin", inert.CANNOT_ANSWER)

    def test_other_dotted_names_still_answer(self):
        data = b"](C\x01\x9fcm\nencode.x\ne."
        got = inert.redump(data, [0])[0][1]
        self.assertEqual(got[0][0], True)


class TestReplayIncomplete(unittest.TestCase):
    # The C unpickler takes a FRAME inside a FRAME; the pure-Python replay
    # refuses it ("beginning of a new frame ..."), so it never sees
    # the NEWOBJ_EX after it, and the oracle cannot tell that call from a
    # NEWOBJ: it says so.
    FRAMES = (b"\x95\x0b\x00\x00\x00\x00\x00\x00\x00"
              b"\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x010")
    DATA = b"\x80\x04cm\nC\n)\x81" + FRAMES + b"cm\nD\n)}\x92\x86."

    def test_c_unpickler_reads_the_nested_frame(self):
        self.assertEqual(pickle.Unpickler(io.BytesIO(b"\x80\x04" + self.FRAMES + b"N.")).load(), None)
        with self.assertRaises(pickle.UnpicklingError):
            pickle._loads(b"\x80\x04" + self.FRAMES + b"N.")

    def test_the_oracle_cannot_answer(self):
        r = inert.load_stream(self.DATA, persistent=False)[0]
        self.assertFalse(r.ok)
        self.assertEqual(r.error[0], "ReplayIncomplete")

    def test_without_the_frames_it_answers(self):
        data = self.DATA.replace(self.FRAMES, b"")
        v = inert.loads(data)
        self.assertEqual(inert.inert_fields(v[1])[0].__name__, "__newobj_ex__")

    def test_replay_reads_numbers_up_to_a_nul_as_c_does(self):
        # INT, LONG, FLOAT, GET and PUT text end at a NUL for the C
        # unpickler; the replay reads them the same way and answers.
        for text in (b"F0\x00x\n0", b"I7\x00x\n0", b"L7\x00\n0", b"]p9\x00\n0g9\x00\n0"):
            data = b"\x80\x04cm\nC\n)\x81" + text + b"cm\nD\n)}\x92\x86."
            v = inert.loads(data)
            self.assertEqual(inert.inert_fields(v[1])[0].__name__, "__newobj_ex__", text)


class TestServer(unittest.TestCase):
    def test_requests(self):
        with OracleClient() as c:
            self.assertEqual(c.version(), sys.version)
            res = c.redump(b"K\x01.\x80\x04]\x94.N", [0, 4])
            self.assertEqual([p["accepted"] for p in res], [True, True, False])
            self.assertEqual(base64.b64decode(res[0]["dumps"]["0"]["data"]), b"I1\n.")
            self.assertEqual(res[2]["error"], {"type": "EOFError", "module": "builtins",
                                               "message": "Ran out of input"})
            g = c.load_graph(b"\x80\x04]\x94(K\x01h\x00e.")[0]["graph"]
            self.assertEqual(g, {"root": 0, "nodes": [{"t": "list", "items": [1, 0]}, {"t": "int", "v": "1"}]})
            d = c.build_dump(g, [0, 2])
            self.assertEqual(base64.b64decode(d["2"]["data"]), b"\x80\x02]q\x00(K\x01h\x00e.")
            r = c.request({"op": "redump", "data": "!!!"})
            self.assertFalse(r["ok"])
            r = c.request({"op": "nope"})
            self.assertFalse(r["ok"])
            with self.assertRaises(OracleError):
                c.build_dump({"root": 0, "nodes": [{"t": "tuple", "items": [0]}]})
            s = c.setstate_calls({"root": 0, "nodes": [
                {"t": "instance", "class": ["m9", "S"], "hooks": {"setstate": True, "getstate": True},
                 "state": 1}, {"t": "bool", "v": False}]}, 4)
            self.assertEqual((s["count"], s["calls"][0]["nodes"][0]), (1, {"t": "bool", "v": False}))
            # load_hooks: the same bytes loaded with the graph's hook classes
            # (setstate_calls' load), twice (the classes are cached), and bytes
            # the load refuses.
            doc = {"root": 0, "nodes": [
                {"t": "instance", "class": ["m9", "S"], "hooks": {"setstate": True, "getstate": True},
                 "state": 1}, {"t": "bool", "v": False}]}
            for _ in range(2):
                h = c.load_hooks(base64.b64decode(s["data"]), doc)
                self.assertEqual((h["accepted"], h["calls"]), (True, s["calls"]))
            h = c.load_hooks(base64.b64decode(s["data"])[:-1], doc)
            self.assertEqual((h["accepted"], h["calls"], h["error"]["type"]), (False, [], "UnpicklingError"))
            self.assertEqual(c.version(), sys.version)      # still alive after errors


class TestPythonsCorpusDivergences(unittest.TestCase):
    def test_pythons_found(self):
        found = pythons.find_pythons()
        self.assertTrue(any(p.version == "%d.%d.%d" % sys.version_info[:3] for p in found))
        r = pythons.run_snippet(found[0], "print(1 + 1)")
        self.assertEqual(r.stdout.strip(), b"2")

    def test_corpus_covers_every_opcode(self):
        man = os.path.join(ROOT, "corpus", "MANIFEST.tsv")
        if not os.path.exists(man):
            self.skipTest("corpus not generated (python3 oracle/gen_corpus.py)")
        import gen_corpus
        with open(man) as f:
            rows = [l.split("\t") for l in f.read().splitlines()[1:]]
        paths = [os.path.join(ROOT, "corpus", r[0]) for r in rows]
        seen = gen_corpus.opcode_coverage(paths)
        self.assertEqual(set(op.name for op in pickletools.opcodes) - seen, set())
        self.assertLess(sum(os.path.getsize(p) for p in paths), 5 * 1024 * 1024)

    def test_divergences_hold(self):
        self.assertEqual(divergences.check(verbose=False), 0)


if __name__ == "__main__":
    unittest.main()
