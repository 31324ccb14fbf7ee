"""The oracle's load with the C unpickler reading as pickle.loads does.

oracle/inert.py `load_stream` hands the C unpickler an io.BytesIO, a file
object without peek().  The C unpickler then reads a FRAME into a buffer of
exactly the frame's length, and when an opcode's argument, or the next
pickle of the stream, starts past the frame's end, `_Unpickler_ReadFromFile`
replaces that buffer with a fresh read from the file: what was left of the
frame is dropped.  `pickle.loads(b)` (a buffer) and `pickle.load(f)` on a
file with peek() (io.BufferedReader) read frames as hints only, so they
answer differently on such inputs (CPython's pickler never writes them):

    b'\\x80\\x04\\x95\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00K\\x01.K\\x02.'
        pickle.loads / peek():  1, then 2
        pickle.load(BytesIO):   1, then 'unpickling stack underflow'

`load_stream_peek(data, **kw)` is `inert.load_stream` with a file object
whose peek() returns the whole rest of the input: the C unpickler then
buffers everything, reads frames as hints, and after each pickle consumes
exactly up to its STOP (`_Unpickler_SkipConsumed`).  Nothing else changes
(same stand-ins, same options).
"""

import io
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inert  # noqa: E402

__all__ = ["PeekBytesIO", "load_stream_peek", "modes_differ"]


class PeekBytesIO(io.BytesIO):
    """io.BytesIO with peek(): all the bytes not read yet."""

    def peek(self, n=0):
        return self.getvalue()[self.tell():]


_IO_SHIM = types.SimpleNamespace(**{k: getattr(io, k) for k in dir(io) if not k.startswith("__")})
_IO_SHIM.BytesIO = PeekBytesIO


def load_stream_peek(data, **kw):
    """inert.load_stream(data, **kw), the unpickler reading through peek()."""
    saved = inert.io
    inert.io = _IO_SHIM
    try:
        return inert.load_stream(data, **kw)
    finally:
        inert.io = saved


def _summary(results):
    out = []
    for r in results:
        if not r.ok:
            out.append(("reject", r.error[0], r.end))
            break
        try:
            d = inert.dumps(r.value, 4, persistent=False)
        except Exception as e:
            d = type(e).__name__
        out.append(("accept", d, r.end))
    return out


def modes_differ(data, **kw):
    """Do the two ways of reading answer differently on `data`?"""
    if b"\x95" not in data:         # no FRAME opcode byte: nothing to differ on
        return False
    return _summary(inert.load_stream(data, **kw)) != _summary(load_stream_peek(data, **kw))
