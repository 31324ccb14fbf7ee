"""The one Python pickle tokenizer: opcodes and the extent of their
arguments, from the generated table (oracle/opcodes_table.py, written by
codec/gen/gen_py_opcodes.py from pickletools, as the C++ table is).

Tolerant where pickletools.genops is strict: only the layout of arguments is
read, so GLOBAL names that are not ASCII, or a PUT line "3\\x00..." (which the
C unpickler reads as 3, C-string style), do not stop it.

    tokens(data, start=0)   -> (offset, name, arg) per opcode, up to STOP;
                               raises Truncated / UnknownOpcode
    pickle_end(data, start) -> offset just past the STOP, or None
    split_complete(data)    -> ([whole pickles], bytes left that do not parse)
    memo_indices(data)      -> every memo index a PUT / BINPUT / LONG_BINPUT stores,
                               across every pickle of the stream, until one does not parse
"""

from opcodes_table import OPCODES

__all__ = ["tokens", "pickle_end", "split_complete", "memo_indices", "Truncated", "UnknownOpcode"]


class Truncated(ValueError):
    """The data ends inside an opcode's argument (or before STOP)."""


class UnknownOpcode(ValueError):
    """A byte that is no pickle opcode."""


def tokens(data, start=0):
    """(offset, name, arg bytes) per opcode from `start`, the STOP included.
    A counted argument is the bytes after its length; a line argument is the
    line(s) without the last newline."""
    i, n = start, len(data)
    while True:
        if i >= n:
            raise Truncated("no STOP before the end (offset %d)" % i)
        e = OPCODES.get(data[i])
        if e is None:
            raise UnknownOpcode("byte 0x%02x at offset %d is no opcode" % (data[i], i))
        name, kind, width, _ = e
        at = i
        i += 1
        if kind == "fixed":
            arg, i = data[i:i + width], i + width
        elif kind == "lines":
            j = i
            for _ in range(width):
                j = data.find(b"\n", j)
                if j < 0:
                    raise Truncated("%s at %d: no newline" % (name, at))
                j += 1
            arg, i = data[i:j - 1], j
        else:
            if i + width > n:
                raise Truncated("%s at %d: length cut" % (name, at))
            length = int.from_bytes(data[i:i + width], "little", signed=(kind == "counted_signed"))
            if length < 0:
                raise Truncated("%s at %d: negative length" % (name, at))
            i += width
            arg, i = data[i:i + length], i + length
        if i > n:
            raise Truncated("%s at %d: argument cut" % (name, at))
        yield at, name, arg
        if name == "STOP":
            return


def pickle_end(data, start=0):
    """Offset just past the STOP of the pickle starting at `start`, or None."""
    end = None
    try:
        for at, name, _ in tokens(data, start):
            if name == "STOP":
                end = at + 1
    except ValueError:
        return None
    return end


def split_complete(data):
    """Split a stream at each STOP: ([whole pickles], bytes left that do not parse)."""
    parts = []
    start = 0
    while start < len(data):
        end = pickle_end(data, start)
        if end is None:
            return parts, data[start:]
        parts.append(data[start:end])
        start = end
    return parts, b""


def memo_indices(data):
    """Every memo index stored by PUT, BINPUT or LONG_BINPUT, pickle after
    pickle, until the stream stops parsing (CPython loads them all). PUT's
    line is read as the C unpickler reads it: up to a NUL, spaces stripped."""
    out = []
    start = 0
    try:
        while start < len(data):
            for at, name, arg in tokens(data, start):
                if name == "PUT":
                    digits = arg.split(b"\0", 1)[0].strip()
                    if digits.isdigit():
                        out.append(int(digits))
                elif name in ("BINPUT", "LONG_BINPUT"):
                    out.append(int.from_bytes(arg, "little"))
                elif name == "STOP":
                    start = at + 1
    except ValueError:
        pass
    return out
