"""CPython's side of fuzz_diff_cpython (imported by the embedded interpreter).

answer(data) gives what CPython's C pickle module makes of one input:
    ("reject", "ExceptionType: message")
    ("accept", [dump_0, ..., dump_5])   each a bytes, or a str "ExceptionType: message"
    ("skip", reason)                   CPython cannot answer (memory, recursion), or
                                       the input names a global and the oracle is absent
Loading is the oracle's (oracle/inert.py stand-ins), read as pickle.loads
reads (oracle/streammode.py: frames are hints), with the codec's default
options: no persistent_load, no buffers, no extension codes, fix_imports.

set_order(protocol, cpython, codec): the one verdict's set-order rule
(oracle/verdict.py, oracle/setorder.py) on whether the codec's bytes are CPython's writing of
the last accepted value with set items in some order: True, False, or None
(undecided).

known_divergence(data, codec, cpython): the id of the entry of the
divergence table (oracle/divergences.py) that a difference is, or None, as
the one verdict decides (oracle/verdict.py): the fuzz target asks here.
"""

import io
import pickle

PROTOCOLS = range(0, 6)

try:  # the oracle, from <source>/oracle (on sys.path, set by the C++ side)
    import inert as _inert
    import streammode as _streammode
    import verdict as _verdict
except Exception:  # not there (or broken mid-work): the fallback below
    _inert = _streammode = _verdict = None

# Exceptions by which CPython cannot answer even without the oracle; with it,
# the divergence table's cannot-answer rules decide (oracle/verdict.py).
CANNOT_ANSWER = (MemoryError, RecursionError)

_last_value = [None]


def _describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


class _NeedsOracle(Exception):
    """The input names a global: only the oracle's stand-ins can load it inertly."""


class _NoGlobals(pickle.Unpickler):
    # Fallback without the oracle: pickles that name no global (nothing is
    # imported, nothing runs); others are skipped.
    def find_class(self, module, name):
        raise _NeedsOracle("%s.%s" % (module, name))

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(
            "A load persistent id instruction was encountered, "
            "but no persistent_load function was specified.")


def _cannot_answer(e):
    """CPython's own (MemoryError, RecursionError) or the table's cannot-answer rules."""
    return isinstance(e, CANNOT_ANSWER) or (_verdict is not None and _verdict.cannot_answer(type(e).__name__))


def _load(data):
    if _streammode is None:
        return _NoGlobals(io.BytesIO(data)).load()
    r = _streammode.load_stream_peek(data, persistent=False)[0]
    if not r.ok:
        name, module, msg = r.error
        if _verdict.cannot_answer(name):
            raise MemoryError("%s: %s" % (name, msg))
        raise _Rejected("%s: %s" % (name, msg))
    return r.value


class _Rejected(Exception):
    pass


def _dump(obj, protocol):
    if _inert is None:
        return pickle.dumps(obj, protocol)
    return _inert.dumps(obj, protocol, persistent=False)


def answer(data):
    data = bytes(data)
    _last_value[0] = None
    why = _verdict.memo_cannot_answer(data) if _verdict is not None else None
    if why:
        return ("skip", why)
    try:
        obj = _load(data)
    except _NeedsOracle as e:
        return ("skip", "names a global (%s) and the oracle is not there" % e)
    except CANNOT_ANSWER as e:
        return ("skip", "CPython cannot answer: " + _describe(e))
    except _Rejected as e:
        return ("reject", str(e))
    except Exception as e:
        return ("reject", _describe(e))
    dumps = []
    for p in PROTOCOLS:
        try:
            dumps.append(_dump(obj, p))
        except Exception as e:
            if _cannot_answer(e):
                return ("skip", "CPython cannot answer at protocol %d: %s" % (p, _describe(e)))
            dumps.append(_describe(e))
    _last_value[0] = obj
    return ("accept", dumps)


def set_order(protocol, cpython, codec):
    if _verdict is None or _last_value[0] is None:
        return None
    same, _note = _verdict.set_order(_last_value[0], protocol, bytes(cpython), bytes(codec))
    return same


def known_divergence(data, codec, cpython):
    """The divergence table's id for this difference, or None (oracle/verdict.py).
    The answers come as bytes (UTF-8, possibly with NULs or surrogates in quoted names)."""
    if _verdict is None:
        return None
    data = bytes(data)
    if isinstance(codec, (bytes, bytearray)):
        codec = bytes(codec).decode("utf-8", "surrogateescape")
    if isinstance(cpython, (bytes, bytearray)):
        cpython = bytes(cpython).decode("utf-8", "surrogateescape")
    reason = _verdict.classify(data, codec, cpython)
    return str(reason) if reason else None
