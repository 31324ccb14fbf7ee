"""Inert load and re-dump with CPython's C pickle module (docs/conformance.md §2, §3, §6).

`load_stream(data)` runs `_pickle.Unpickler` (subclassed) over a byte string
holding one or more concatenated pickles. Its `find_class` never imports: it
returns the few safe builtins of §2.1, classes the caller registered (§2.3),
or an inert *stand-in* for (module, qualname) (§2.4).  `dumps(obj, q)` runs
`_pickle.Pickler` over such a graph so that stand-ins are written exactly as
CPython writes a real global of that name, and inert objects exactly as
`save_reduce` writes their recorded reduce tuple.

How the pieces map onto the C code paths (the why behind the odd tricks):

* fix_imports: the C `find_class` applies `_compat_pickle` only when its
  private `self->proto < 3` (the C Unpickler exposes no `proto`).  Overriding
  `find_class` bypasses that, so each call first asks the *base* C
  `find_class` about ('itertools', 'izip'): with the mapping active it answers
  `builtins.zip` (both modules are already imported, so nothing is imported),
  otherwise it raises.  That is exactly the C condition (it also honours
  fix_imports=False), evaluated at the very moment of the call.
* REDUCE/INST/OBJ call the stand-in; the metaclass' `__call__` is a
  non-function descriptor, so `slot_tp_call` passes the *original* argument
  tuple on to `InertObject`, a BaseException subclass whose C `tp_new`
  stores that very tuple in `.args`.  So args identity (memo sharing) is kept.
* INST/OBJ with no args go through `instantiate()`, which looks up
  `__getinitargs__` and then calls `cls.__new__(cls)`; the lookup is what
  tells that call apart from NEWOBJ. The object is the one NEWOBJ makes,
  recorded as copyreg.__newobj__(cls): __init__ is not called.
* NEWOBJ and NEWOBJ_EX with an empty kwargs dict look the same from Python
  (empty **kwargs); in that rare case the pickle is replayed with the
  pure-Python unpickler, whose dispatch is instrumented, to learn which
  opcode made the n-th `__new__` call. Hooks that registered classes run
  during the replay are not the load's (`replaying()`).
* copyreg._reconstructor(cls, base, state) with a registered cls (how
  protocols 0-1 write instances) runs copyreg's three lines, the pickle's
  builtins.object standing for object (see _reconstructor_call); any other
  call of it stays inert.
* Re-dump: the C pickler's `save_global` imports `__module__` and checks that
  the qualname path leads back to the object.  During a dump, stand-ins'
  modules are temporarily replaced in `sys.modules` by namespace modules
  exposing them (falling back to the real module's attributes), so CPython's
  own code writes GLOBAL / STACK_GLOBAL, the Python-2 name mapping below
  protocol 3, `getattr` nesting below protocol 4 and memoization.  Globals
  the pickler brings in itself (functools.partial, getattr, object,
  copyreg._reconstructor) become the graph's stand-in of the same name when
  it has one, as they are one object in real CPython (_pti_same_name).
"""

import _compat_pickle
import _pickle
import copyreg
import functools
import io
import itertools  # noqa: F401  -- must be in sys.modules for the fix_imports probe
import pickle
import sys
import types
import weakref

__all__ = [
    "Registry", "InertObject", "PersId", "InertUnpickler", "LoadResult",
    "load_stream", "loads", "dumps", "redump", "is_standin", "global_name_of",
    "inert_fields", "SAFE_BUILTINS", "replaying", "is_inert", "inert_state_setter",
]

# §2.1: globals that resolve to the real builtin (calling them is harmless).
SAFE_BUILTINS = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "bytes"): bytes,
    ("_codecs", "encode"): __import__("_codecs").encode,
}
_SAFE_REVERSE = {id(v): k for k, v in SAFE_BUILTINS.items()}

# (class object) -> _Home.  Weak so that per-load stand-ins die with the graph.
_HOME = weakref.WeakKeyDictionary()

# Callable waiting for InertObject.__init__ (set by _CallCatcher.__get__,
# consumed immediately by the C call that follows the lookup).
_PENDING = [None]
_NO_CALLABLE = object()   # placeholder callable for shells filled in later

# Inert objects made so far in the current load (a call, NEWOBJ, ...: the
# same numbers in the C load and its pure-Python replay), and (registry,
# {number: memo index of its call's argument tuple or None}) of those the
# pickle uses as NEWOBJ's class: they are made inert classes
# (_InertClassMeta), as the C unpickler's NEWOBJ requires a type.
_CALLS = [0]
_CLASS_CALLS = [None]


class _Home(object):
    """Where a class lives: its registry, module and qualname."""
    __slots__ = ("registry", "module", "qualname", "name", "children",
                 "is_getattr", "is_reconstructor", "__weakref__")

    def __init__(self, registry, module, qualname):
        self.registry = registry
        self.module = module
        self.qualname = qualname
        self.name = qualname.rpartition(".")[2]
        self.children = {}
        self.is_getattr = (module, qualname) == ("builtins", "getattr")
        self.is_reconstructor = (module, qualname) == ("copyreg", "_reconstructor")


def _home(obj):
    try:
        return _HOME.get(obj)
    except TypeError:  # unhashable / not weak-referenceable
        return None


def is_standin(obj):
    """True for an inert stand-in global (a class made by a Registry)."""
    return type(obj) is _StandInMeta


def global_name_of(obj):
    """(module, qualname) for stand-ins, registered classes and safe builtins, else None."""
    h = _home(obj) if isinstance(obj, type) or callable(obj) else None
    if h is not None:
        return (h.module, h.qualname)
    return _SAFE_REVERSE.get(id(obj))


class _CallCatcher(object):
    """`__call__` descriptor for stand-ins (on the metaclass) and inert objects.

    Not a function, so `slot_tp_call` calls what `__get__` returns with the
    unpickler's own argument tuple (see module docstring)."""

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        if type(obj) is _StandInMeta:
            h = type.__getattribute__(obj, "_pti_home")
            if h.is_getattr:
                return functools.partial(_getattr_call, obj)
            if h.is_reconstructor and h.registry.registered and h.registry.loading:
                return functools.partial(_reconstructor_call, obj)
        n = _CALLS[0]   # the number of the object this call makes
        cc = _CLASS_CALLS[0]
        if cc is not None and n in cc[1]:
            return functools.partial(_inert_class_call, obj, n)
        if cc is not None and cc[0].is_setter_call(n):
            return functools.partial(_setter_call, obj)
        _PENDING[0] = obj
        return InertObject


class _StandInMeta(type):
    """Metaclass of stand-in globals: they must be types (NEWOBJ checks
    PyType_Check) yet never run anything."""

    __call__ = _CallCatcher()

    def __getattribute__(cls, name):
        h = type.__getattribute__(cls, "_pti_home")
        reg = h.registry
        if (not reg.loading and name in h.children
                and name not in ("__qualname__", "__module__", "__name__")):
            # Nested stand-ins, visible to the pickler's attribute walk
            # (including one named __new__: then it is what a real class
            # with that attribute would give to partial(cls.__new__, ...)).
            return h.children[name]
        if name == "__new__":
            # While loading, NEWOBJ/instantiate() reach us through this
            # lookup; otherwise (e.g. the pickler building
            # partial(cls.__new__, ...) for NEWOBJ_EX below protocol 4) the
            # stand-in behaves as a plain class whose __new__ is object's.
            return _new_hook if reg.loading else object.__new__
        if name == "__name__":
            return h.name          # the real last component, even if not a valid tp_name
        if reg.loading and name == "__getinitargs__":
            reg.pending_instantiate = cls
        return type.__getattribute__(cls, name)

    def __setattr__(cls, name, value):
        # BUILD with a slot-state dict on a global would setattr on the
        # class: stand-ins are immutable, like builtin types.
        raise TypeError("cannot set %r attribute of immutable type %r"
                        % (name, type.__getattribute__(cls, "__qualname__")))

    def __delattr__(cls, name):
        raise TypeError("cannot delete %r attribute of immutable type %r"
                        % (name, type.__getattribute__(cls, "__qualname__")))

    # repr() is type's, "<class 'module.qualname'>" as for a real class:
    # protocol 0 writes a persistent id as its str(), globals in it included.


class _StandInBase(object):
    # Defining __new__ makes tp_new = slot_tp_new, which looks `__new__` up
    # through the metaclass on every NEWOBJ.
    def __new__(cls, *args, **kwargs):  # pragma: no cover - never reached directly
        return object.__new__(cls)


class ReplayIncomplete(Exception):
    """The oracle cannot answer: which opcode made a __new__ call is learned
    from a pure-Python replay, which stopped before that call. Harnesses
    count it as an input CPython cannot answer (like MemoryError)."""


class NestedOnBuiltin(Exception):
    """The oracle cannot answer: a dump needs a stand-in nested under a §2.1
    builtin (`_codecs encode.x`, `builtins bytes.x`). In CPython the parent
    is the real builtin, one object with the builtin the pickler writes for
    bytes, a set, ...; a real builtin cannot hold the stand-in's attribute,
    so no namespace module can show CPython's answer."""


# The exceptions (by describe_exception's name) by which CPython, or the
# oracle standing for it, cannot answer: the divergence table's
# cannot-answer-exception rules (oracle/divergences.py).
from divergences import CANNOT_ANSWER  # noqa: E402


def _new_hook(cls, *args, **kwargs):
    """Reached by NEWOBJ, NEWOBJ_EX and instantiate() (INST/OBJ, no args)."""
    h = type.__getattribute__(cls, "_pti_home")
    reg = h.registry
    if reg.pending_instantiate is cls and not args and not kwargs:
        # INST/OBJ without arguments: cls.__new__(cls), the object NEWOBJ
        # makes, so recorded as copyreg.__newobj__(cls) (not as a call of cls).
        reg.pending_instantiate = None
        return _make_inert(reg.get("copyreg", "__newobj__"), (cls,))
    reg.pending_instantiate = None
    kind = reg.newobj_kind(bool(kwargs))
    if kind == "ex":
        args, kwargs = reg.recover_identity(args, kwargs)
        return _make_inert(reg.get("copyreg", "__newobj_ex__"), (cls, args, kwargs))
    return _make_inert(reg.get("copyreg", "__newobj__"), (cls,) + args)


def _getattr_call(g, *args):
    """builtins.getattr(G, name) with G a global: the nested global (§2.2)."""
    if len(args) == 2 and type(args[1]) is str:
        h = _home(args[0]) if isinstance(args[0], type) else None
        if h is not None:
            return h.registry.resolve(h.module, h.qualname + "." + args[1])
    return _make_inert(g, args)


def _runs_nothing_named(obj):
    """True when calling obj.__new__ / obj.__init__ runs only CPython's
    builtins or the oracle's own classes: anything but a stand-in, an inert
    object or a persistent id (whose real class the oracle cannot know)."""
    return not (type(obj) is _StandInMeta or isinstance(obj, (InertObject, PersId)))


def _reconstructor_call(g, *args, **kwargs):
    """copyreg._reconstructor(cls, base, state) when cls is a registered class
    (protocols 0-1 write every plain class instance this way): copyreg's own
    three lines, with the pickle's `builtins.object` (a stand-in here)
    standing for object. Base values whose class the oracle cannot know (a
    stand-in, an inert object) keep the call inert, as any other does."""
    h = type.__getattribute__(g, "_pti_home")
    reg = h.registry
    if len(args) == 3 and not kwargs:
        cls, base, state = args
        ch = _home(cls) if isinstance(cls, type) and type(cls) is not _StandInMeta else None
        if ch is not None and ch.registry is reg and reg.registered.get((ch.module, ch.qualname)) is cls:
            so = reg.standins.get(("builtins", "object"))
            if so is not None and base is so:  # (a None base is NoneType's __new__)
                return object.__new__(cls)
            if _runs_nothing_named(base):
                obj = base.__new__(cls, state)
                if base.__init__ != object.__init__:
                    base.__init__(obj, state)
                return obj
    # REDUCE's argument tuple is repacked by the call: find the memoized
    # original (what the C unpickler holds) so that sharing survives.
    return _make_inert(g, reg.recover_tuple(args))


class InertObject(BaseException):
    """An object built by calling an inert global; records its reduce tuple.

    BaseException only for its C tp_new, which keeps the caller's argument
    tuple (identity matters for memo sharing on re-dump)."""

    __call__ = _CallCatcher()

    def __init__(self, *args, **kwargs):
        c = _PENDING[0]
        _PENDING[0] = None
        if c is None or kwargs:
            raise TypeError("InertObject cannot be created directly")
        d = self.__dict__
        a = BaseException.args.__get__(self)
        h = _home(c) if type(c) is _StandInMeta else None
        if (h is not None and h.is_reconstructor and h.registry.loading and len(a) == 3
                and type(a[0]) is _StandInMeta and a[2] is None
                and a[1] is h.registry.standins.get(("builtins", "object"), _MISSING)):
            # _reconstructor(cls, object, None) of a stand-in class is
            # object.__new__(cls), how protocols 0-1 write a plain instance:
            # the object NEWOBJ makes, recorded as copyreg.__newobj__(cls).
            c, a = h.registry.get("copyreg", "__newobj__"), (a[0],)
        d["_pti_callable"] = None if c is _NO_CALLABLE else c
        d["_pti_args"] = a
        if _REPLAYING[0]:
            d["_pti_call_no"] = _CALLS[0]
        _CALLS[0] += 1
        d["_pti_has_state"] = False
        d["_pti_state"] = None
        d["_pti_state_setter"] = None
        d["_pti_listitems"] = []
        d["_pti_dictitems"] = []

    # -- what the unpickler may apply (§3) --
    def __setstate__(self, state):
        self.__dict__["_pti_has_state"] = True
        self.__dict__["_pti_state"] = state
        self.__dict__["_pti_state_setter"] = None   # BUILD replaces a setter's state

    def append(self, item):
        self.__dict__["_pti_listitems"].append(item)

    def extend(self, items):
        self.__dict__["_pti_listitems"].extend(items)

    def __setitem__(self, key, value):
        self.__dict__["_pti_dictitems"].append((key, value))

    # -- what the pickler sees --
    def __reduce_ex__(self, protocol):
        return _inert_reduce(self.__dict__, protocol)

    def __reduce__(self):
        return self.__reduce_ex__(0)

    @property
    def __class__(self):
        # save_reduce's NEWOBJ path checks obj.__class__ is args[0].
        a = self.__dict__.get("_pti_args")
        if a and isinstance(a[0], type):
            return a[0]
        return type(self)

    def __repr__(self):
        return "<inert %r args=%d at %#x>" % (
            self.__dict__.get("_pti_callable"), len(self.__dict__.get("_pti_args") or ()), id(self))

    __str__ = __repr__


def _inert_reduce(d, protocol):
    """The reduce tuple of an inert object or class, from its fields d."""
    li = d["_pti_listitems"]
    di = d["_pti_dictitems"]
    c, a, state = d["_pti_callable"], d["_pti_args"], d["_pti_state"]
    setter = d.get("_pti_state_setter")
    if setter is not None:
        return (c, a, state, iter(li) if li else None, iter(di) if di else None, setter)
    if protocol < 2 and not li and not di and _made_by_new_alone(c, a):
        # Below protocol 2, an instance made by cls.__new__(cls) alone is
        # written as CPython writes a plain class's (copyreg._reduce_ex):
        # _reconstructor(cls, object, None), the state only when true.
        # The graph's stand-ins of those names are those globals.
        reg = _home(c).registry
        rc = reg.standins.get(("copyreg", "_reconstructor")) or copyreg._reconstructor
        ob = reg.standins.get(("builtins", "object")) or object
        return (rc, (a[0], ob, None), state if state else None)
    return (c, a, state, iter(li) if li else None, iter(di) if di else None)


class _InertClassMeta(type):
    """An inert call whose result the pickle uses as NEWOBJ's class (a call
    that makes a class, as cloudpickle's _make_skeleton_class): a type, as
    the C unpickler's NEWOBJ requires, otherwise an inert object like
    InertObject (same fields, in the class dict; same reduce tuple)."""

    __call__ = _CallCatcher()

    def __getattribute__(cls, name):
        if name == "__new__":
            # NEWOBJ / NEWOBJ_EX on it while loading; otherwise (the pickler's
            # partial(cls.__new__, ...) below protocol 4) object's, as for a
            # stand-in.
            return _inert_class_new if _CLASS_CALLS[0] is not None else object.__new__
        return type.__getattribute__(cls, name)

    def __setattr__(cls, name, value):
        raise TypeError("cannot set %r attribute of an inert class" % (name,))

    def __setstate__(cls, state):
        type.__setattr__(cls, "_pti_has_state", True)
        type.__setattr__(cls, "_pti_state", state)
        type.__setattr__(cls, "_pti_state_setter", None)

    def append(cls, item):
        type.__getattribute__(cls, "_pti_listitems").append(item)

    def extend(cls, items):
        type.__getattribute__(cls, "_pti_listitems").extend(items)

    def __setitem__(cls, key, value):
        type.__getattribute__(cls, "_pti_dictitems").append((key, value))

    @property
    def __class__(cls):
        # As InertObject's: save_reduce's NEWOBJ path checks it is args[0].
        a = cls.__dict__["_pti_args"]
        if a and isinstance(a[0], type):
            return a[0]
        return type(cls)

    def __repr__(cls):
        return "<inert class %r args=%d at %#x>" % (
            cls.__dict__["_pti_callable"], len(cls.__dict__["_pti_args"]), id(cls))


class _InertClassBase(object):
    # Defining __new__ makes tp_new = slot_tp_new, which looks `__new__` up
    # through the metaclass (_inert_class_new).
    def __new__(cls, *args, **kwargs):  # pragma: no cover - never reached directly
        return object.__new__(cls)


def is_inert(obj):
    """True for an inert object: an InertObject or an inert class."""
    return isinstance(obj, InertObject) or type(obj) is _InertClassMeta


def _setter_call(c, *args):
    """A REDUCE whose result the next opcode, POP, discards: CPython's
    save_reduce writes a reduce tuple's 6th item, state_setter, so (setter,
    obj, state, TUPLE2, REDUCE, POP). A call (obj, state) of an inert object
    is recorded as obj's (state, state_setter), replacing its state as a
    BUILD would; any other such call has no effect (its result is dropped)."""
    if len(args) == 2 and is_inert(args[0]):
        _set_fields(args[0], (("_pti_has_state", True), ("_pti_state", args[1]),
                              ("_pti_state_setter", c)))
    return _make_inert(c, args)


def _set_fields(obj, items):
    for k, v in items:
        if type(obj) is _InertClassMeta:
            type.__setattr__(obj, k, v)
        else:
            obj.__dict__[k] = v


def inert_state_setter(obj):
    """The state_setter (6th reduce item) of an inert object, or None."""
    return obj.__dict__.get("_pti_state_setter")


def _inert_class_call(c, n, *args):
    """Call making object number n of the load, which is used as a class."""
    reg, refs = _CLASS_CALLS[0]
    ref = refs[n]
    if ref is not None:
        # The argument tuple as memoized (identity kept, as InertObject's).
        args = _memo_original(reg._memo(), ref, args)
    return _inert_class(c, args)


def _inert_class(c, args):
    _CALLS[0] += 1
    cls = type.__new__(_InertClassMeta, "inert", (_InertClassBase,), {})
    for k, v in (("_pti_callable", c), ("_pti_args", args), ("_pti_has_state", False),
                 ("_pti_state", None), ("_pti_state_setter", None), ("_pti_listitems", []),
                 ("_pti_dictitems", [])):
        type.__setattr__(cls, k, v)
    return cls


def _inert_class_new(cls, *args, **kwargs):
    """NEWOBJ / NEWOBJ_EX of an inert class: recorded as for a stand-in."""
    reg = _CLASS_CALLS[0][0]
    if reg.newobj_kind(bool(kwargs)) == "ex":
        args, kwargs = reg.recover_identity(args, kwargs)
        return _make_inert(reg.get("copyreg", "__newobj_ex__"), (cls, args, kwargs))
    return _make_inert(reg.get("copyreg", "__newobj__"), (cls,) + args)


def _made_by_new_alone(c, args):
    """copyreg.__newobj__(cls) with cls a class (stand-in, registered or a
    safe builtin type; not _codecs.encode, a function)."""
    h = _home(c) if type(c) is _StandInMeta else None
    return (h is not None and (h.module, h.qualname) == ("copyreg", "__newobj__")
            and type(args) is tuple and len(args) == 1 and isinstance(args[0], type)
            and type(args[0]) is not _InertClassMeta)


def _make_inert(c, args):
    cc = _CLASS_CALLS[0]
    if cc is not None and _CALLS[0] in cc[1]:
        return _inert_class(c, args)   # a NEWOBJ result used as a class
    _PENDING[0] = _NO_CALLABLE if c is None else c
    return InertObject(*args)


def inert_fields(obj):
    """(callable, args, has_state, state, listitems, dictitems) of an InertObject."""
    d = obj.__dict__
    return (d["_pti_callable"], d["_pti_args"], d["_pti_has_state"], d["_pti_state"],
            d["_pti_listitems"], d["_pti_dictitems"])


def new_inert(c, args, state=None, has_state=False, listitems=(), dictitems=()):
    obj = _make_inert(c, args)
    d = obj.__dict__
    d["_pti_has_state"] = has_state
    d["_pti_state"] = state
    d["_pti_listitems"].extend(listitems)
    d["_pti_dictitems"].extend(dictitems)
    return obj


class PersId(object):
    """What persistent_load returns: the pid, re-dumped via persistent_id."""
    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid

    def __repr__(self):
        return "PersId(%r)" % (self.pid,)


class Registry(object):
    """One namespace of globals: per load (§2: one object per (module,
    qualname) within one pickle) or per built graph."""

    def __init__(self, registered=None):
        self.standins = {}
        self.registered = {}
        self.loading = False
        self.pending_instantiate = None
        self._modnames = {}
        self._replay = None         # the replay's call log, computed lazily
        self._newobj_index = 0      # NEWOBJ/NEWOBJ_EX __new__ calls so far
        self._newobj_call = None    # ... and the one being made
        self._reduce_index = 0      # recover_tuple calls so far
        self.replay_source = None   # (bytes, start offset, unpickler kwargs)
        self.replay_kind = None     # set by the replay unpickler ...
        self.replay_refs = None     # ... with the memo indices of the call's arguments
        self.replay_log = None      # {"newobj": [(kind, refs)], "reduce": [ref]} when we are the replay
        self.unpickler = None       # the C unpickler of this load (its memo)
        for (m, q), cls in (registered or {}).items():
            self.register(m, q, cls)

    def register(self, module, qualname, cls):
        self.registered[(module, qualname)] = cls
        _HOME[cls] = _Home(self, module, qualname)

    def _modname(self, module):
        # Real classes of one module share one __module__ string object, so
        # protocol 4 memoizes it once; builtin types use the interned one.
        # Interning gives both (and never aliases a data string of the
        # pickle, which the unpickler does not intern).
        s = self._modnames.get(module)
        if s is None:
            s = sys.intern(module)
            self._modnames[module] = s
        return s

    def get(self, module, qualname):
        key = (module, qualname)
        cls = self.standins.get(key)
        if cls is None:
            cls = self.registered.get(key)
            if cls is not None:
                return cls
            name = qualname.rpartition(".")[2]
            try:
                name.encode("utf-8")
                tp_name = name if "\0" not in name else "standin"
            except UnicodeEncodeError:
                tp_name = "standin"
            home = _Home(self, module, qualname)
            ns = {"__module__": self._modname(module),
                  "__qualname__": qualname if len(qualname) < 2 else qualname[:1] + qualname[1:],
                  "_pti_home": home, "__slots__": ()}
            cls = type.__new__(_StandInMeta, tp_name, (_StandInBase,), ns)
            _HOME[cls] = home
            self.standins[key] = cls
        return cls

    def resolve(self, module, qualname):
        """find_class after name mapping: §2.1, §2.3, else a stand-in."""
        safe = SAFE_BUILTINS.get((module, qualname))
        if safe is not None:
            return safe
        return self.get(module, qualname)

    def lookup(self, module, qualname):
        return self.standins.get((module, qualname)) or self.registered.get((module, qualname))

    def recover_identity(self, args, kwargs):
        """NEWOBJ_EX's args tuple and kwargs dict reach __new__ repacked.
        CPython's pickler memoizes them and may refer to them again (e.g. a
        __getnewargs_ex__ result also kept in the state), so give back the
        originals the pickle passed: when the memo holds a candidate (equal
        items, by identity), the replay tells which memo entry the call
        took, if any. (An unmemoized argument is never shared: the stack
        machine cannot copy an object back above a later push but by GET.)"""
        if self.replay_log is not None:
            return args, kwargs
        memo = self._memo()
        if memo is None:
            return args, kwargs
        if not any(_same_items(v, args) or _same_items(v, kwargs) for v in memo.values()):
            return args, kwargs
        refs = self._replayed("newobj", self._newobj_call)[1]
        return _memo_original(memo, refs[0], args), _memo_original(memo, refs[1], kwargs)

    def recover_tuple(self, args):
        """REDUCE's argument tuple as the pickle passed it (see
        recover_identity), where a hook received it repacked."""
        if self.replay_log is not None:
            self.replay_log["reduce"].append(self.replay_refs)
            return args
        idx = self._reduce_index
        self._reduce_index += 1
        memo = self._memo()
        if memo is None or not any(_same_items(v, args) for v in memo.values()):
            return args
        return _memo_original(memo, self._replayed("reduce", idx), args)

    def _memo(self):
        """A copy of the C unpickler's memo, or None outside a replayable load."""
        u = self.unpickler
        if u is None or self.replay_source is None:
            return None
        try:
            return u.memo.copy()
        except Exception:
            return None

    def _replayed(self, log, idx):
        """Entry idx of the replay's log of `log` calls."""
        if self._replay is None:
            self._replay = _replay_calls(*self.replay_source)
        entries = self._replay[log]
        if idx >= len(entries):
            # The pure-Python replay stopped before this call (the C and
            # Python unpicklers disagree earlier, e.g. on a FRAME inside a frame).
            raise ReplayIncomplete("the oracle cannot tell what %s call %d took: its pure-Python "
                                   "replay stopped after %d calls" % (log, idx, len(entries)))
        return entries[idx]

    # -- state_setter calls: REDUCE then POP --
    def is_setter_call(self, n):
        """Is inert call n of this load a REDUCE whose result the next
        opcode, POP, discards? Learned from the pure-Python replay, which is
        run only when the bytes REDUCE, POP occur in the pickle."""
        if self.replay_log is not None or self.replay_source is None:
            return False
        data, start = self.replay_source[0], self.replay_source[1]
        if b"R0" not in data[start:]:
            return False
        if self._replay is None:
            self._replay = _replay_calls(*self.replay_source)
        if n >= self._replay["calls"] and not self._replay["complete"]:
            raise ReplayIncomplete("the oracle cannot tell whether call %d is a state_setter: its "
                                   "pure-Python replay stopped after %d calls" % (n, self._replay["calls"]))
        return n in self._replay["setters"]

    # -- NEWOBJ vs NEWOBJ_EX --
    def newobj_kind(self, has_kwargs):
        if self.replay_log is not None:          # we are the replay
            self.replay_log["newobj"].append((self.replay_kind, self.replay_refs))
            return self.replay_kind
        idx = self._newobj_index
        self._newobj_index += 1
        self._newobj_call = idx
        if has_kwargs:
            return "ex"
        src = self.replay_source
        if src is None:
            return "newobj"
        data = src[0]
        if b"\x92" not in data[src[1]:]:
            return "newobj"
        if b"\x81" not in data[src[1]:]:
            return "ex"
        return self._replayed("newobj", idx)[0]


def _same_items(v, obj):
    """v holds exactly obj's items, by identity (a tuple; a dict, in order).
    Empty tuples are one object: their identity never shows (§4)."""
    tv = type(v)
    if tv is not type(obj) or len(v) != len(obj):
        return False
    if tv is tuple:
        return len(v) > 0 and all(x is y for x, y in zip(v, obj))
    if tv is dict:
        return list(v) == list(obj) and all(v[k] is obj[k] for k in obj)
    return False


def _memo_original(memo, ref, obj):
    """memo[ref] when the replay saw the call take that entry, else obj."""
    if ref is None:
        return obj
    v = memo.get(ref)
    if v is obj or (v is not None and _same_items(v, obj)):
        return v
    raise ReplayIncomplete("the oracle's replay and load disagree on memo entry %d" % ref)


# ---------------------------------------------------------------------------
# Loading

def _proto_below_3_probe(unpickler):
    """Would the C find_class apply _compat_pickle right now? (see docstring)"""
    try:
        _pickle.Unpickler.find_class(unpickler, "itertools", "izip")
    except AttributeError:
        return False
    return True


def _map_2to3(module, name):
    # Same order as _pickle.c: NAME_MAPPING first, IMPORT_MAPPING only if
    # the pair was not renamed.
    item = _compat_pickle.NAME_MAPPING.get((module, name))
    if item is not None:
        return item
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class InertUnpickler(_pickle.Unpickler):
    def __init__(self, file, registry, persistent=True, **kw):
        _pickle.Unpickler.__init__(self, file, **kw)
        self._pti_registry = registry
        self._pti_persistent = persistent

    def find_class(self, module, name):
        if _proto_below_3_probe(self):
            module, name = _map_2to3(module, name)
        return self._pti_registry.resolve(module, name)

    def persistent_load(self, pid):
        if not self._pti_persistent:
            raise pickle.UnpicklingError(
                "A load persistent id instruction was encountered, "
                "but no persistent_load function was specified.")
        return PersId(pid)


class _ReverseMemo(dict):
    """The replay's memo, also indexed by object: id -> first index written.
    (Memoized objects stay alive in the memo, so their ids stay theirs.)"""

    def __init__(self):
        dict.__init__(self)
        self.first = {}
        self.overwritten = False

    def __setitem__(self, idx, obj):
        if idx in self:
            self.overwritten = True
        dict.__setitem__(self, idx, obj)
        self.first.setdefault(id(obj), idx)


class _ReplayUnpickler(pickle._Unpickler):
    """Pure-Python twin, only to learn which opcode made each __new__ call."""
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, registry, persistent=True, **kw):
        pickle._Unpickler.__init__(self, file, **kw)
        self._pti_ops = 0          # opcodes run so far (REDUCE right before POP)
        self._pti_reduced = None   # (the last REDUCE's inert result, its opcode number)
        self.memo = _ReverseMemo()
        self._pti_registry = registry
        self._pti_persistent = persistent

    def find_class(self, module, name):
        if self.proto < 3 and self.fix_imports:
            module, name = _map_2to3(module, name)
        return self._pti_registry.resolve(module, name)

    def persistent_load(self, pid):
        if not self._pti_persistent:
            raise pickle.UnpicklingError("no persistent_load")
        return PersId(pid)

    def _memo_index(self, obj):
        """The first memo index holding obj, or None: a lookup, not a scan
        of the memo per call (quadratic on a pickle of many REDUCEs)."""
        idx = self.memo.first.get(id(obj))
        if idx is None:
            return None
        if self.memo.get(idx) is obj and not self.memo.overwritten:
            return idx
        for idx, v in self.memo.items():   # an index was written twice: scan
            if v is obj:
                return idx
        return None

    def _load_newobj(self):
        self._pti_registry.replay_kind = "newobj"
        self._pti_registry.replay_refs = None
        if len(self.stack) >= 2 and isinstance(self.stack[-2], InertObject):
            args = self.stack.pop()
            self.stack[-1] = self._inert_class_newobj(self.stack[-1], args, None)
            return
        pickle._Unpickler.load_newobj(self)

    def _inert_class_newobj(self, cls, args, kwargs):
        """NEWOBJ(_EX) whose class is an inert call's result: log the call
        (the C load makes it an inert class) and record as _inert_class_new."""
        reg = self._pti_registry
        reg.replay_log["classes"].setdefault(cls.__dict__["_pti_call_no"], cls.__dict__.get("_pti_args_ref"))
        if type(args) is not tuple or (kwargs is not None and type(kwargs) is not dict):
            raise pickle.UnpicklingError("NEWOBJ arguments")  # C's TypeError: the replay stops
        reg.replay_log["newobj"].append((reg.replay_kind, reg.replay_refs))
        if reg.replay_kind == "ex":
            return _make_inert(reg.get("copyreg", "__newobj_ex__"), (cls, args, kwargs))
        return _make_inert(reg.get("copyreg", "__newobj__"), (cls,) + args)

    def _load_newobj_ex(self):
        reg = self._pti_registry
        reg.replay_kind = "ex"
        st = self.stack
        reg.replay_refs = ((self._memo_index(st[-2]), self._memo_index(st[-1]))
                           if len(st) >= 2 else (None, None))
        if len(st) >= 3 and isinstance(st[-3], InertObject):
            kwargs = st.pop()
            args = st.pop()
            st[-1] = self._inert_class_newobj(st[-1], args, kwargs)
            return
        pickle._Unpickler.load_newobj_ex(self)

    def _load_reduce(self):
        args = self.stack[-1] if self.stack else None
        ref = self._memo_index(args) if self.stack else None
        self._pti_registry.replay_refs = ref
        pickle._Unpickler.load_reduce(self)
        if self.stack and isinstance(self.stack[-1], InertObject):
            d = self.stack[-1].__dict__
            d.setdefault("_pti_args_ref", ref if d["_pti_args"] is args else None)
            self._pti_reduced = (self.stack[-1], self._pti_ops)

    def _load_pop(self):
        r = self._pti_reduced
        if (r is not None and self.stack and self.stack[-1] is r[0] and r[1] + 1 == self._pti_ops
                and "_pti_call_no" in r[0].__dict__):
            self._pti_registry.replay_log["setters"].add(r[0].__dict__["_pti_call_no"])
        pickle._Unpickler.load_pop(self)

    def _nul_cut(self, load):
        # The C unpickler parses INT, LONG, FLOAT, GET and PUT text as C
        # strings, which end at a NUL; the Python one refuses the whole line.
        readline = self.readline
        line = readline()
        if b"\0" in line:
            line = line[:line.index(b"\0")] + b"\n"
        self.readline = io.BytesIO(line).readline
        try:
            load(self)
        finally:
            self.readline = readline

    for _op, _load in ((pickle.INT, pickle._Unpickler.load_int), (pickle.LONG, pickle._Unpickler.load_long),
                       (pickle.FLOAT, pickle._Unpickler.load_float), (pickle.GET, pickle._Unpickler.load_get),
                       (pickle.PUT, pickle._Unpickler.load_put)):
        dispatch[_op[0]] = (lambda load: lambda self: self._nul_cut(load))(_load)
    del _op, _load

    def _load_inst(self):
        self._pti_registry.replay_refs = None   # INST/OBJ pass a fresh tuple
        pickle._Unpickler.load_inst(self)

    def _load_obj(self):
        self._pti_registry.replay_refs = None
        pickle._Unpickler.load_obj(self)

    dispatch[pickle.POP[0]] = _load_pop
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.INST[0]] = _load_inst
    dispatch[pickle.OBJ[0]] = _load_obj

    def _counting(load):
        def counted(self):
            self._pti_ops += 1
            load(self)
        return counted

    for _k in list(dispatch):
        dispatch[_k] = _counting(dispatch[_k])
    del _k, _counting


# Non-zero while a replay runs: registered classes' hooks run again then, on
# the replay's own objects, and must not be taken for the load's (see replaying()).
_REPLAYING = [0]


def replaying():
    """True while the pure-Python replay of a pickle runs (see newobj_kind):
    code that records what a load does (builder's __setstate__ log) ignores
    what happens meanwhile."""
    return _REPLAYING[0] > 0


def _replay_calls(data, start, kw):
    """Replay the pickle with the pure-Python unpickler: which opcode made
    each NEWOBJ-family __new__ call, and which memo entries each such call
    and each recover_tuple call took."""
    registered = kw.get("registered_map") or {}
    # Registering re-homes the classes; the load being replayed keeps its own.
    homes = {cls: _HOME.get(cls) for cls in registered.values()}
    reg = Registry(registered)
    reg.replay_log = {"newobj": [], "reduce": [], "classes": {}, "setters": set(),
                      "calls": 0, "complete": False}
    f = io.BytesIO(data)
    f.seek(start)
    opts = dict(kw)
    opts.pop("registered_map", None)
    u = _ReplayUnpickler(f, reg, **opts)
    reg.loading = True
    _REPLAYING[0] += 1
    saved = _CALLS[0], _CLASS_CALLS[0]   # the C load being replayed keeps its count
    _CALLS[0], _CLASS_CALLS[0] = 0, None
    try:
        u.load()
        reg.replay_log["complete"] = True
    except Exception:
        pass
    finally:
        reg.replay_log["calls"] = _CALLS[0]
        _CALLS[0], _CLASS_CALLS[0] = saved
        _REPLAYING[0] -= 1
        reg.loading = False
        copyreg._extension_cache.clear()
        for cls, home in homes.items():
            if home is not None:
                _HOME[cls] = home
    return reg.replay_log


class LoadResult(object):
    """One pickle of a stream: accepted value or CPython's exception."""
    __slots__ = ("ok", "value", "error", "start", "end", "registry")

    def __init__(self, ok, value, error, start, end, registry):
        self.ok, self.value, self.error = ok, value, error
        self.start, self.end, self.registry = start, end, registry

    def __repr__(self):
        if self.ok:
            return "LoadResult(ok, %r, [%d:%d])" % (self.value, self.start, self.end)
        return "LoadResult(reject %s: %s, at %d)" % (self.error[0], self.error[2], self.end)


def describe_exception(e):
    t = type(e)
    return (t.__qualname__, t.__module__, str(e))


class _Extensions(object):
    """Temporarily add copyreg extension codes (removed again afterwards)."""

    def __init__(self, extensions):
        self.ext = [tuple(x) for x in (extensions or ())]
        self.added = []

    def __enter__(self):
        for module, name, code in self.ext:
            if copyreg._extension_registry.get((module, name)) == code:
                continue
            copyreg.add_extension(module, name, code)
            self.added.append((module, name, code))
        return self

    def __exit__(self, *exc):
        for module, name, code in self.added:
            copyreg.remove_extension(module, name, code)
        copyreg._extension_cache.clear()


# CPython's refusal of NEWOBJ on an InertObject (not a type): the pickle
# uses an inert call's result as a class (see _InertClassMeta).
_INERT_CLASS_ERRORS = ("NEWOBJ class argument must be a type, not InertObject",
                       "NEWOBJ_EX class argument must be a type, not InertObject")


def load_stream(data, persistent=True, buffers=None, encoding="ASCII", errors="strict",
                fix_imports=True, registered=None, extensions=None):
    """Load every pickle of `data` like repeated pickle.load until EOF at a
    pickle boundary.  Empty input gives one reject (as pickle.loads(b''))."""
    data = bytes(data)
    f = io.BytesIO(data)
    results = []
    kw = dict(encoding=encoding, errors=errors, fix_imports=fix_imports)
    if buffers is not None:
        kw["buffers"] = buffers
    with _Extensions(extensions):
        class_calls = {}
        while True:
            start = f.tell()
            reg = Registry(registered)
            reg.replay_source = (data, start, dict(kw, persistent=persistent,
                                                   registered_map=registered))
            u = InertUnpickler(f, reg, persistent=persistent, **kw)
            reg.unpickler = u
            # The C unpickler caches EXT lookups in copyreg._extension_cache
            # across loads: a stand-in of an earlier load must not leak in.
            copyreg._extension_cache.clear()
            reg.loading = True
            _CALLS[0], _CLASS_CALLS[0] = 0, (reg, class_calls)
            try:
                value = u.load()
            except Exception as e:
                err = describe_exception(e)
                if not class_calls and err[2] in _INERT_CLASS_ERRORS:
                    # NEWOBJ on an inert call's result: the replay tells
                    # which calls make classes; load this pickle again.
                    class_calls = dict(_replay_calls(*reg.replay_source)["classes"])
                    if class_calls:
                        f.seek(start)
                        continue
                results.append(LoadResult(False, None, err, start, f.tell(), reg))
                break
            finally:
                reg.loading = False
                reg.pending_instantiate = None
                reg.unpickler = None
                _PENDING[0] = None
                _CLASS_CALLS[0] = None
                copyreg._extension_cache.clear()
            class_calls = {}
            results.append(LoadResult(True, value, None, start, f.tell(), reg))
            if f.tell() >= len(data):
                break
    return results


def loads(data, **kw):
    """Single pickle; raises CPython's exception on reject."""
    r = load_stream(data, **kw)[0]
    if not r.ok:
        raise _rebuild_error(r.error)
    return r.value


def _rebuild_error(err):
    name, module, msg = err
    cls = getattr(sys.modules.get(module), name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(msg)
        except Exception:
            pass
    return Exception("%s.%s: %s" % (module, name, msg))


# ---------------------------------------------------------------------------
# Dumping

_MISSING = object()


# The real object the pickler is about to write as a global (see _NSModule).
_CURRENT = [None]


class _NSModule(types.ModuleType):
    """Namespace module standing in for a module during a dump.

    When a stand-in and a real object share a name (a pickle's own
    `builtins.getattr` stand-in while CPython writes the real getattr for
    `object.__new__` in partial(...) below protocol 4), the real object
    being saved must still find itself here, or save_global refuses it."""

    def __getattribute__(self, name):
        cur = _CURRENT[0]
        if cur is not None:
            d = types.ModuleType.__getattribute__(self, "__dict__")
            real = d.get("_pti_real")
            if real is not None and getattr(real, name, None) is cur:
                return cur
        return types.ModuleType.__getattribute__(self, name)


class _DumpSession(object):
    """Installs namespace modules into sys.modules for one dump, then restores."""

    def __init__(self):
        self.modules = {}
        self.saved = {}

    def _module(self, name):
        mod = self.modules.get(name)
        if mod is None:
            real = sys.modules.get(name, _MISSING)
            self.saved[name] = real
            mod = _NSModule(name)
            mod.__spec__ = None
            if real is not _MISSING and real is not None:
                mod.__dict__["_pti_real"] = real
                def __getattr__(attr, _real=real):
                    return getattr(_real, attr)
                mod.__getattr__ = __getattr__
            self.modules[name] = mod
            sys.modules[name] = mod
            # Importing 'a.b' imports 'a' first, as for a real package: a
            # dotted name needs its parents installed too. A name with an
            # empty component ('s.', 'a..b') never imports: left as it fails.
            parent, _, child = name.rpartition(".")
            if parent and all(name.split(".")):
                pmod = self._module(parent)
                if not hasattr(pmod, "__path__"):
                    pmod.__path__ = []
                setattr(pmod, child, mod)
        return mod

    def install(self, home):
        module, qualname = home.module, home.qualname
        mod = self._module(module)
        reg = home.registry
        parts = qualname.split(".")
        for i in range(1, len(parts)):
            if (module, ".".join(parts[:i])) in SAFE_BUILTINS:
                raise NestedOnBuiltin("%s.%s is nested under the builtin %s.%s"
                                      % (module, qualname, module, ".".join(parts[:i])))
        top = reg.lookup(module, parts[0]) or reg.get(module, parts[0])
        mod.__dict__.setdefault(parts[0], top)
        parent = top
        for i in range(1, len(parts)):
            q = ".".join(parts[:i + 1])
            child = reg.lookup(module, q) or reg.get(module, q)
            ph = _home(parent)
            if type(parent) is _StandInMeta:
                ph.children.setdefault(parts[i], child)
            elif parent.__dict__.get(parts[i]) is None:
                type.__setattr__(parent, parts[i], child)
            parent = child

    def close(self):
        for name, real in self.saved.items():
            if real is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = real
        self.saved.clear()
        self.modules.clear()


_OBJECT_NEW = object.__new__


class _OraclePickler(_pickle.Pickler):
    _pti_registry = None   # the graph's Registry (given, or the first one seen)

    def reducer_override(self, obj):
        # Called for every object that is not a plain container/atom.
        home = _home(obj) if isinstance(obj, type) else None
        _CURRENT[0] = None if home is not None else obj
        if type(obj) is _InertClassMeta:
            return _inert_reduce(obj.__dict__, self._pti_proto)
        if home is None:
            return self._pti_same_name(obj)
        if self._pti_registry is None:
            self._pti_registry = home.registry
        self._pti_session.install(home)
        if self._pti_proto < 4 and "." in home.qualname:
            g = home.registry.standins.get(("builtins", "getattr"))
            parts = home.qualname.split(".")
            if g is not None and "<locals>" not in parts:
                # CPython writes getattr(parent, name) with the real
                # builtins.getattr.  When the load has its own
                # builtins.getattr stand-in, that stand-in *is* getattr in
                # this graph, so it is written (one memo entry, as with a
                # real getattr).  Same bytes: REDUCE, then memoized.
                parent = home.registry.resolve(home.module, home.qualname.rpartition(".")[0])
                return (g, (parent, parts[-1]))
        # Let save_global write it: GLOBAL/STACK_GLOBAL, fix_imports
        # mapping, nesting via the real getattr, memoization.
        return NotImplemented

    # Globals the pickler brings in itself (not from the graph): the
    # functools.partial type of __newobj_ex__ below protocol 4, getattr and
    # object of object.__new__'s reduction, copyreg._reconstructor and object
    # of a registered instance below protocol 2. When the graph holds a
    # stand-in of the same name, that stand-in *is* that global here (real
    # CPython has one object, hence one memo entry): the reduction is given
    # with the stand-in in place of the real object.
    def _pti_standin(self, module, qualname):
        reg = self._pti_registry
        return reg.standins.get((module, qualname)) if reg is not None else None

    def _pti_same_name(self, obj):
        t = type(obj)
        if t is types.FunctionType:
            # A method of a registered class, e.g. `SX.__new__` in the
            # partial of __newobj_ex__ below protocol 4, may be saved before
            # its class: its module must be there for save_global, as the
            # real module is in real CPython.
            q = getattr(obj, "__qualname__", "")
            reg = self._pti_registry
            if reg is not None and "." in q and "<locals>" not in q.split("."):
                parent = reg.lookup(getattr(obj, "__module__", None), q.rpartition(".")[0])
                h = _home(parent) if parent is not None else None
                if h is not None:
                    self._pti_session.install(h)
            return NotImplemented
        if t is functools.partial:
            if self._pti_registry is None and obj.args:
                h = _home(obj.args[0]) if isinstance(obj.args[0], type) else None
                if h is not None:
                    self._pti_registry = h.registry
            sp = self._pti_standin("functools", "partial")
            if sp is None:
                return NotImplemented
            rv = obj.__reduce__()       # what __reduce_ex__(proto) returns for it
            return (sp,) + tuple(rv[1:])
        if obj is _OBJECT_NEW:
            sg = self._pti_standin("builtins", "getattr")
            so = self._pti_standin("builtins", "object")
            if sg is None and so is None:
                return NotImplemented
            # meth_reduce: (getattr, (object, '__new__')), a fresh name str.
            return (sg or getattr, (so or object, b"__new__".decode("ascii")))
        if self._pti_proto < 2:
            h = _home(t)
            if h is not None and h.registry.registered.get((h.module, h.qualname)) is t:
                if self._pti_registry is None:
                    self._pti_registry = h.registry
                sr = self._pti_standin("copyreg", "_reconstructor")
                so = self._pti_standin("builtins", "object")
                if sr is None and so is None:
                    return NotImplemented
                rv = obj.__reduce_ex__(self._pti_proto)
                if (type(rv) is not tuple or len(rv) < 2 or rv[0] is not copyreg._reconstructor
                        or type(rv[1]) is not tuple or len(rv[1]) != 3):
                    return rv
                args = rv[1]
                if args[1] is object and so is not None:
                    args = (args[0], so, args[2])
                return (sr or rv[0], args) + tuple(rv[2:])
        return NotImplemented


class _OraclePersPickler(_OraclePickler):
    def persistent_id(self, obj):
        if type(obj) is PersId:
            return obj.pid
        return None


def dumps(obj, protocol, persistent=True, fix_imports=True, buffer_callback=None, registry=None):
    """pickle.dumps(obj, protocol) with stand-ins written as their globals.
    `registry`: the graph's Registry (default: the first one a stand-in or
    registered class of the graph names)."""
    f = io.BytesIO()
    cls = _OraclePersPickler if persistent else _OraclePickler
    p = cls(f, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback)
    p._pti_session = _DumpSession()
    p._pti_proto = protocol
    p._pti_registry = registry
    try:
        p.dump(obj)
    finally:
        _CURRENT[0] = None
        p._pti_session.close()
    return f.getvalue()


def redump(data, protocols, **load_kw):
    """Per pickle of the stream: (LoadResult, {q: (ok, bytes or error)})."""
    out = []
    persistent = load_kw.get("persistent", True)
    results = load_stream(data, **load_kw)
    with _Extensions(load_kw.get("extensions")):
        for r in results:
            per = {}
            if r.ok:
                for q in protocols:
                    try:
                        per[q] = (True, dumps(r.value, q, persistent=persistent, registry=r.registry))
                    except Exception as e:
                        per[q] = (False, describe_exception(e))
            out.append((r, per))
    return out
