"""Graph JSON (docs/graph-json.md) <-> real CPython objects.

`Builder(doc).build()` materializes a graph: shared nodes and cycles exact,
`global`/`object` nodes as the inert stand-ins of inert.py, `instance`
nodes as instances of real Python classes defined from their `hooks`,
living in the builder's namespace (the dump machinery of inert.py exposes
them under their module for the pickler's save_global check).

`graph_of(value)` is the reverse, for loaded values, so tests can compare
graphs.  Atoms (None, bool, int, float) get a node per occurrence; every
other value is one node per object identity (1-char str/bytes are shared
singletons in CPython, so they come out shared, as docs/conformance.md §4 says).
"""

import json
import pickle
import struct
import sys

import inert

__all__ = ["Builder", "build", "build_dump", "graph_of", "graph_json", "HookClassFactory"]

# One-byte bytes and one-char (< U+0100) str: use CPython's singletons so a
# built graph has the identities a loaded one has (§4).
_B256 = bytes(range(256))


def _mk_bytes(hexstr):
    b = bytes.fromhex(hexstr)
    if len(b) == 0:
        return b""
    if len(b) == 1:
        return _B256[b[0]:b[0] + 1]
    return b


def _mk_str(s):
    if s == "":
        return ""
    if len(s) == 1 and ord(s) < 256:
        return chr(ord(s))
    return s


def _mk_float(bits):
    return struct.unpack(">d", bytes.fromhex(bits))[0]


class GraphError(ValueError):
    pass


class HookClassFactory(object):
    """Defines the Python classes for `instance` nodes (one per (module,
    qualname)) and keeps their per-instance data and __setstate__ log."""

    def __init__(self, registry):
        self.registry = registry
        self.classes = {}       # (module, qualname) -> (cls, hooks)
        self.data = {}          # id(obj) -> [obj, state, newargs, newkwargs]
        self.setstate_log = []  # (obj, state) in call order

    def _data(self, obj):
        d = self.data.get(id(obj))
        if d is None:
            d = self.data[id(obj)] = [obj, None, None, None]
        return d

    def get(self, module, qualname, hooks):
        key = (module, qualname)
        norm = {"getstate": bool(hooks.get("getstate")), "setstate": bool(hooks.get("setstate")),
                "slots": list(hooks.get("slots") or []), "getnewargs": bool(hooks.get("getnewargs")),
                "getnewargs_ex": bool(hooks.get("getnewargs_ex"))}
        have = self.classes.get(key)
        if have is not None:
            if have[1] != norm:
                raise GraphError("class %s.%s described with two different hook sets" % key)
            return have[0]
        factory = self
        ns = {"__module__": sys.intern(module), "__qualname__": qualname}
        if norm["slots"]:
            ns["__slots__"] = tuple(norm["slots"])
        if norm["getstate"]:
            def __getstate__(self):
                return factory._data(self)[1]
            ns["__getstate__"] = __getstate__
        if norm["setstate"]:
            def __setstate__(self, state):
                # Not the calls of the replay that inert.py may run to tell
                # NEWOBJ from NEWOBJ_EX: that would log every call twice.
                if not inert.replaying():
                    factory.setstate_log.append((self, state))
                factory._data(self)[1] = state
            ns["__setstate__"] = __setstate__
        if norm["getnewargs"]:
            def __getnewargs__(self):
                return factory._data(self)[2]
            ns["__getnewargs__"] = __getnewargs__
        if norm["getnewargs_ex"]:
            def __getnewargs_ex__(self):
                d = factory._data(self)
                return (d[2], d[3])
            ns["__getnewargs_ex__"] = __getnewargs_ex__
        if norm["getnewargs"] or norm["getnewargs_ex"]:
            # A real class that asks for constructor args accepts them in
            # __new__ (object.__new__ would refuse them on load).  Named
            # as a real method would be, so partial(cls.__new__, ...)
            # below protocol 4 can be pickled.
            def __new__(cls, *args, **kwargs):
                obj = object.__new__(cls)
                d = factory._data(obj)
                d[2], d[3] = args, kwargs
                return obj
            __new__.__qualname__ = qualname + ".__new__"
            __new__.__module__ = ns["__module__"]
            ns["__new__"] = __new__
        name = qualname.rpartition(".")[2]
        cls = type(name if name.isidentifier() else "instance", (object,), ns)
        cls.__qualname__ = qualname
        cls._pti_hooks = norm
        self.registry.register(module, qualname, cls)
        self.classes[key] = (cls, norm)
        return cls

    def registered_map(self):
        return {k: v[0] for k, v in self.classes.items()}


class Builder(object):
    def __init__(self, doc, buffers=None, registry=None, factory=None):
        if isinstance(doc, (str, bytes)):
            doc = json.loads(doc)
        self.doc = doc
        self.nodes = doc["nodes"]
        self.registry = registry or inert.Registry()
        self.factory = factory or HookClassFactory(self.registry)
        self.buffers = buffers or []
        self.objs = {}

    def build(self):
        nodes = self.nodes
        n = len(nodes)
        # Phase 1: mutable shells (can be referenced before being filled).
        for i, node in enumerate(nodes):
            t = node["t"]
            if t == "list":
                self.objs[i] = []
            elif t == "dict":
                self.objs[i] = {}
            elif t == "set":
                self.objs[i] = set()
            elif t == "object":
                self.objs[i] = inert.new_inert(None, ())
            elif t == "persid":
                self.objs[i] = inert.PersId(None)
            elif t == "instance":
                module, qualname = node["class"]
                cls = self.factory.get(module, qualname, node.get("hooks") or {})
                self.objs[i] = object.__new__(cls)
        # Phase 2: immutables, depth-first (their children are atoms,
        # other immutables or already-made shells).
        for i in range(n):
            self._value(i, ())
        # Phase 3: fill the shells.
        for i, node in enumerate(nodes):
            t = node["t"]
            o = self.objs[i]
            if t == "list":
                o.extend(self._value(j, ()) for j in node["items"])
            elif t == "dict":
                for k, v in node["items"]:
                    o[self._value(k, ())] = self._value(v, ())
            elif t == "set":
                for j in node["items"]:
                    o.add(self._value(j, ()))
            elif t == "object":
                d = o.__dict__
                d["_pti_callable"] = self._value(node["callable"], ())
                args = self._value(node["args"], ())
                if type(args) is not tuple:
                    raise GraphError("object node %d: args must be a tuple node" % i)
                d["_pti_args"] = args
                BaseException.args.__set__(o, args)
                if "state" in node and node["state"] is not None:
                    d["_pti_has_state"] = True
                    d["_pti_state"] = self._value(node["state"], ())
                if node.get("state_setter") is not None:
                    d["_pti_state_setter"] = self._value(node["state_setter"], ())
                d["_pti_listitems"] = [self._value(j, ()) for j in node.get("listitems") or ()]
                d["_pti_dictitems"] = [(self._value(k, ()), self._value(v, ()))
                                       for k, v in node.get("dictitems") or ()]
            elif t == "persid":
                o.pid = self._value(node["pid"], ())
            elif t == "instance":
                self._fill_instance(i, node, o)
        return self._value(self.doc["root"], ())

    def _fill_instance(self, i, node, o):
        cls = type(o)
        hooks = cls._pti_hooks
        d = self.factory._data(o)
        if node.get("newargs") is not None:
            d[2] = self._value(node["newargs"], ())
            d[3] = {}
        if node.get("newargs_ex") is not None:
            a, k = node["newargs_ex"]
            d[2], d[3] = self._value(a, ()), self._value(k, ())
        if d[2] is None:
            d[2], d[3] = (), {}
        if "state" not in node or node["state"] is None:
            return
        state = self._value(node["state"], ())
        if hooks["getstate"]:
            d[1] = state
            return
        dict_state, slot_state = state, None
        if type(state) is tuple and len(state) == 2:
            dict_state, slot_state = state
        if dict_state is not None:
            if type(dict_state) is not dict:
                raise GraphError("instance node %d: state must be a dict or (dict, slots)" % i)
            o.__dict__.update(dict_state)
        if slot_state is not None:
            for k, v in slot_state.items():
                setattr(o, k, v)
        d[1] = state

    def _value(self, i, stack):
        if i in self.objs:
            return self.objs[i]
        node = self.nodes[i]
        t = node["t"]
        if t in ("tuple", "frozenset"):
            if i in stack:
                raise GraphError("cycle through immutable node %d (no mutable node on it)" % i)
            items = [self._value(j, stack + (i,)) for j in node["items"]]
            if i in self.objs:        # built meanwhile via a shell's path
                return self.objs[i]
            v = tuple(items) if t == "tuple" else frozenset(items)
        elif t == "none":
            v = None
        elif t == "bool":
            v = bool(node["v"])
        elif t == "int":
            v = int(node["v"], 0)  # decimal, or hex past 4300 digits (docs/graph-json.md)
        elif t == "float":
            v = _mk_float(node["bits"])
        elif t == "str":
            v = _mk_str(node["v"])
        elif t == "bytes":
            v = _mk_bytes(node["hex"])
        elif t == "bytearray":
            v = bytearray(bytes.fromhex(node["hex"]))
        elif t == "global":
            v = self.registry.resolve(node["module"], node["name"])
        elif t == "buffer":
            data = self.buffers[node["index"]]
            v = pickle.PickleBuffer(bytes(data) if node.get("readonly") else bytearray(data))
        else:
            raise GraphError("unknown node kind %r" % (t,))
        self.objs[i] = v
        return v


def build(doc, buffers=None):
    """-> (root value, Builder)."""
    b = Builder(doc, buffers=buffers)
    return b.build(), b


def build_dump(doc, protocols, buffers=None, oob=False):
    """{protocol: (ok, bytes-or-error, out-of-band buffers)} for a graph."""
    root, b = build(doc, buffers)
    out = {}
    for q in protocols:
        oob_list = []
        cb = (lambda pb: oob_list.append(bytes(pb.raw())) or False) if oob else None
        try:
            out[q] = (True, inert.dumps(root, q, buffer_callback=cb if q >= 5 else None,
                                        registry=b.registry), oob_list)
        except Exception as e:
            out[q] = (False, inert.describe_exception(e), [])
    return out


# ---------------------------------------------------------------------------
# value -> graph

def _float_node(x):
    return {"t": "float", "bits": struct.pack(">d", x).hex(), "repr": repr(x)}


def graph_of(root, buffers=None):
    """Graph JSON document (a dict) of a Python value."""
    nodes = []
    seen = {}
    keep = []
    globals_seen = {}
    work = []
    buffers = buffers or []

    def ref(x):
        t = type(x)
        if x is None:
            nodes.append({"t": "none"})
            return len(nodes) - 1
        if t is bool:
            nodes.append({"t": "bool", "v": x})
            return len(nodes) - 1
        if t is int:
            nodes.append({"t": "int", "v": str(x)})
            return len(nodes) - 1
        if t is float:
            nodes.append(_float_node(x))
            return len(nodes) - 1
        gn = inert.global_name_of(x) if (isinstance(x, type) or callable(x)) and not inert.is_inert(x) else None
        if gn is None and (isinstance(x, type) or type(x).__name__ in ("builtin_function_or_method", "function")):
            gn = (getattr(x, "__module__", None), getattr(x, "__qualname__", None))
        if gn is not None:
            # One node per (module, qualname): §2 (one find_class object).
            idx = globals_seen.get(gn)
            if idx is None:
                nodes.append({"t": "global", "module": gn[0], "name": gn[1]})
                idx = globals_seen[gn] = len(nodes) - 1
            return idx
        idx = seen.get(id(x))
        if idx is not None:
            return idx
        nodes.append(None)
        idx = len(nodes) - 1
        seen[id(x)] = idx
        keep.append(x)
        work.append((idx, x))
        return idx

    def fill(idx, x):
        t = type(x)
        if t is str:
            nodes[idx] = {"t": "str", "v": x}
        elif t is bytes:
            nodes[idx] = {"t": "bytes", "hex": x.hex()}
        elif t is bytearray:
            nodes[idx] = {"t": "bytearray", "hex": x.hex()}
        elif t in (tuple, list, set, frozenset):
            nodes[idx] = {"t": t.__name__, "items": [ref(v) for v in x]}
        elif t is dict:
            nodes[idx] = {"t": "dict", "items": [[ref(k), ref(v)] for k, v in x.items()]}
        elif t is inert.InertObject or inert.is_inert(x):
            c, args, has_state, state, li, di = inert.inert_fields(x)
            n = {"t": "object", "callable": ref(c), "args": ref(args)}
            if has_state:
                n["state"] = ref(state)
            if inert.inert_state_setter(x) is not None:
                n["state_setter"] = ref(inert.inert_state_setter(x))
            n["listitems"] = [ref(v) for v in li]
            n["dictitems"] = [[ref(k), ref(v)] for k, v in di]
            nodes[idx] = n
        elif t is inert.PersId:
            nodes[idx] = {"t": "persid", "pid": ref(x.pid)}
        elif t is pickle.PickleBuffer or t is memoryview:
            pos = next((i for i, b in enumerate(buffers) if b is x), None)
            mv = memoryview(x)
            nodes[idx] = {"t": "buffer", "index": pos if pos is not None else -1,
                          "readonly": bool(mv.readonly)}
        elif getattr(t, "_pti_hooks", None) is not None and inert._home(t) is not None:
            h = inert._home(t)
            hooks = t._pti_hooks
            n = {"t": "instance", "class": [h.module, h.qualname], "hooks": hooks}
            fac_state = _instance_state(x, hooks)
            if fac_state is not _NOSTATE:
                n["state"] = ref(fac_state)
            nodes[idx] = n
        else:
            raise GraphError("no graph form for %r" % (t,))

    r = ref(root)
    while work:
        idx, x = work.pop()
        fill(idx, x)
    # Renumber so that the root is node 0 and numbering is breadth-first:
    # stable and independent of the traversal details above.
    return _renumber({"root": r, "nodes": nodes})


_NOSTATE = object()


def _instance_state(x, hooks):
    # What a test wants to compare: the state the instance holds now.
    if hooks["getstate"] or hooks["setstate"]:
        for fac in _FACTORIES_OF(type(x)):
            d = fac.data.get(id(x))
            if d is not None and d[1] is not None:
                return d[1]
    dct = getattr(x, "__dict__", None)
    slots = {}
    for s in hooks["slots"]:
        if hasattr(x, s):
            slots[s] = getattr(x, s)
    if slots:
        return (dict(dct) if dct else None, slots)
    if dct:
        return dict(dct)
    return _NOSTATE


def _FACTORIES_OF(cls):
    # The factory is reachable through the class' __getstate__/__setstate__ closure.
    out = []
    for name in ("__getstate__", "__setstate__", "__getnewargs__", "__getnewargs_ex__"):
        f = cls.__dict__.get(name)
        if f is not None and getattr(f, "__closure__", None):
            for cell in f.__closure__:
                if isinstance(cell.cell_contents, HookClassFactory):
                    out.append(cell.cell_contents)
                    return out
    return out


def _renumber(doc):
    nodes = doc["nodes"]
    order = {}
    queue = [doc["root"]]
    order[doc["root"]] = 0
    out_order = [doc["root"]]
    k = 0
    while k < len(out_order):
        n = nodes[out_order[k]]
        k += 1
        for c in _children(n):
            if c not in order:
                order[c] = len(out_order)
                out_order.append(c)
    new_nodes = [_remap(nodes[i], order) for i in out_order]
    return {"root": 0, "nodes": new_nodes}


def _children(n):
    t = n["t"]
    if t in ("tuple", "list", "set", "frozenset"):
        return list(n["items"])
    if t == "dict":
        return [x for kv in n["items"] for x in kv]
    if t == "object":
        out = [n["callable"], n["args"]]
        if "state" in n:
            out.append(n["state"])
        out += n["listitems"]
        out += [x for kv in n["dictitems"] for x in kv]
        return out
    if t == "persid":
        return [n["pid"]]
    if t == "instance":
        out = []
        if "state" in n:
            out.append(n["state"])
        if n.get("newargs") is not None:
            out.append(n["newargs"])
        if n.get("newargs_ex") is not None:
            out += list(n["newargs_ex"])
        return out
    return []


def _remap(n, order):
    n = dict(n)
    t = n["t"]
    if t in ("tuple", "list", "set", "frozenset"):
        n["items"] = [order[i] for i in n["items"]]
    elif t == "dict":
        n["items"] = [[order[k], order[v]] for k, v in n["items"]]
    elif t == "object":
        n["callable"] = order[n["callable"]]
        n["args"] = order[n["args"]]
        if "state" in n:
            n["state"] = order[n["state"]]
        n["listitems"] = [order[i] for i in n["listitems"]]
        n["dictitems"] = [[order[k], order[v]] for k, v in n["dictitems"]]
    elif t == "persid":
        n["pid"] = order[n["pid"]]
    elif t == "instance":
        if "state" in n:
            n["state"] = order[n["state"]]
        if n.get("newargs") is not None:
            n["newargs"] = order[n["newargs"]]
        if n.get("newargs_ex") is not None:
            n["newargs_ex"] = [order[i] for i in n["newargs_ex"]]
    return n


def graph_json(value, buffers=None):
    return json.dumps(graph_of(value, buffers), sort_keys=True)


def setstate_calls(doc, protocol, buffers=None):
    """Dump a graph, load it back with the hook-recording classes, and
    return the __setstate__ calls of the load: [(graph of the argument)]."""
    root, b = build(doc, buffers)
    data = inert.dumps(root, protocol, registry=b.registry)
    res, calls = _load_with(b.factory.classes, data)
    return data, res, calls


_last_classes = [None, None]  # (doc, its class definitions): one graph's loads follow each other


def load_hooks(doc, data):
    """Load `data` with the hook-recording classes the instance nodes of
    `doc` define (as setstate_calls' load does): -> (load result, the
    __setstate__ calls: [(graph of the argument)])."""
    if _last_classes[0] != doc:
        _last_classes[:] = [doc, build(doc)[1].factory.classes]
    return _load_with(_last_classes[1], data)


def _load_with(classes, data):
    load_factory = HookClassFactory(inert.Registry())
    # Same class definitions for the load (fresh classes: fresh log).
    for (m, q), (cls, hooks) in classes.items():
        load_factory.get(m, q, hooks)
    reg_map = load_factory.registered_map()
    res = inert.load_stream(data, registered=reg_map)[0]
    # The loader's Registry re-registers the classes: their home is now the
    # load's registry, which is what graph_of needs.
    if not res.ok:
        return res, []
    return res, [graph_of(state) for _obj, state in load_factory.setstate_log]
