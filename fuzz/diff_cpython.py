"""CPython's side of fuzz_diff_cpython (imported by the embedded interpreter).

answer(data) gives what CPython's C pickle module makes of one input:
    ("reject", "ExceptionType: message")
    ("accept", [dump_0, ..., dump_5])   each a bytes, or a str "ExceptionType: message"
    ("skip", reason)                   CPython cannot answer (memory, recursion), or
                                       the input names a global and the oracle is absent
Loading is the oracle's (oracle/inert.py stand-ins), read as pickle.loads
reads (oracle/streammode.py: frames are hints), with the codec's default
options: no persistent_load, no buffers, no extension codes, fix_imports.

set_order(protocol, cpython, codec): the oracle's exact verdict
(oracle/setorder.py) on whether the codec's bytes are CPython's writing of
the last accepted value with set items in some order: True, False, or None
(undecided).

known_divergence(data, codec, cpython): the id of the entry of the oracle's
divergence table (oracle/divergences.py) that a difference is, or None.
This is the one place the fuzz target asks.
"""

import io
import pickle
import sys

PROTOCOLS = range(0, 6)

try:  # the oracle, from <source>/oracle (on sys.path, set by the C++ side)
    import inert as _inert
    import streammode as _streammode
    import setorder as _setorder
except Exception:  # not there (or broken mid-work): the fallback below
    _inert = _streammode = _setorder = None

try:
    import divergences as _divergences
    _DIVERGENCE_INPUTS = []
    for _e in _divergences.DIVERGENCES:
        try:
            _DIVERGENCE_INPUTS.append((_e["id"], _divergences.input_bytes(_e)))
        except Exception:
            pass
except Exception:
    _divergences = None
    _DIVERGENCE_INPUTS = []

# Exceptions by which CPython cannot answer (CONFORMANCE.md section 6).
# (The oracle's own, inert.CANNOT_ANSWER, go by name: see _cannot_answer and _load.)
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


# CPython's C unpickler keeps the memo in an array as long as the largest
# index (LONG_BINPUT 0x0fffffff allocates and clears 2 GiB): beyond this
# CPython cannot answer within the fuzzer's memory. The oracle's table:
# memo-huge-sparse-index.
MAX_MEMO_INDEX = 1 << 22


def _cpython_cannot_answer(data):
    """memo-huge-sparse-index when a memo index past MAX_MEMO_INDEX is stored
    in any pickle of the stream (CPython loads them all). A tolerant scan, not pickletools.genops: genops
    stops at arguments the C unpickler accepts (a PUT line "3\\x00..." reads
    as 3, C-string style), and a LONG_BINPUT after it went unseen."""
    import pickletools
    pos, n = 0, len(data)
    while pos < n:
        op = pickletools.code2op.get(chr(data[pos]))
        if op is None:
            return None
        pos += 1
        index = None
        arg = op.arg
        if arg is None:
            size = 0
        elif arg.n >= 0:
            size = arg.n
        elif arg.n == pickletools.UP_TO_NEWLINE:
            end = data.find(b"\n", pos)
            if end >= 0 and arg.name == "stringnl_noescape_pair":  # GLOBAL, INST: two lines
                end = data.find(b"\n", end + 1)
            if end < 0:
                return None
            if op.name == "PUT":
                digits = data[pos:end].split(b"\0", 1)[0].strip()
                if digits.isdigit():
                    index = int(digits)
            pos = end + 1
            size = 0
        else:  # a length first: 1, 4 (signed or not) or 8 bytes
            width = {pickletools.TAKEN_FROM_ARGUMENT1: 1, pickletools.TAKEN_FROM_ARGUMENT4: 4,
                     pickletools.TAKEN_FROM_ARGUMENT4U: 4, pickletools.TAKEN_FROM_ARGUMENT8U: 8}[arg.n]
            if pos + width > n:
                return None
            size = int.from_bytes(data[pos:pos + width], "little", signed=arg.n == pickletools.TAKEN_FROM_ARGUMENT4)
            if size < 0:
                return None
            pos += width
        if op.name in ("BINPUT", "LONG_BINPUT") and pos + size <= n:
            index = int.from_bytes(data[pos:pos + size], "little")
        pos += size
        if index is not None and index > MAX_MEMO_INDEX:
            return "memo-huge-sparse-index: memo index %d (CPython allocates an array that long)" % index
    return None


def _cannot_answer(e):
    """CPython's own (MemoryError, RecursionError) or the oracle's (inert.CANNOT_ANSWER)."""
    return isinstance(e, CANNOT_ANSWER) or (_inert is not None and type(e).__name__ in _inert.CANNOT_ANSWER)


def _load(data):
    if _streammode is None:
        return _NoGlobals(io.BytesIO(data)).load()
    r = _streammode.load_stream_peek(data, persistent=False)[0]
    if not r.ok:
        name, module, msg = r.error
        if name in _inert.CANNOT_ANSWER:
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
    why = _cpython_cannot_answer(data)
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
    if _setorder is None or _last_value[0] is None:
        return None
    try:
        verdict, _note = _setorder.set_order_equivalent(_last_value[0], protocol, bytes(cpython), bytes(codec))
    except Exception:
        return None
    return verdict


def known_divergence(data, codec, cpython):
    """The divergence table's id for this difference, or None. The answers
    come as bytes (UTF-8, possibly with NULs or surrogates in quoted names)."""
    data = bytes(data)
    if isinstance(codec, (bytes, bytearray)):
        codec = bytes(codec).decode("utf-8", "surrogateescape")
    if isinstance(cpython, (bytes, bytearray)):
        cpython = bytes(cpython).decode("utf-8", "surrogateescape")
    for ident, b in _DIVERGENCE_INPUTS:
        if data == b:
            return ident
    if _divergences is not None:
        check = getattr(_divergences, "known_divergence", None)
        if check is not None:
            reason = check(data, codec, cpython)
            if reason:
                return str(reason)
    return None
