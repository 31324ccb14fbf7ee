#!/usr/bin/env python3
"""Writes corpus/scan/: one pickle (or container) per technique that scanners
parsing pickles their own way have missed, with harmless payloads (the
programs named are `echo`; tests/scan_test.py loads each under an audit hook
that refuses every process, file and import event before it happens).

Each sample is assembled opcode by opcode (nothing is pickled from a live
object, nothing runs here). MANIFEST.tsv lists file, technique, the verdict
`pickletool scan` must give with no allowlist (the stdlib profile for the
benign controls), whether CPython can load it as a plain pickle (the ground
truth runs), and what it does.

  python3 oracle/gen_scan_corpus.py            # rewrite corpus/scan
  python3 oracle/gen_scan_corpus.py --check    # exit 1 when it differs
"""
import argparse
import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "corpus", "scan")
CMD = "echo pickletool-scan-corpus"


def u(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def binu(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(m, n):  # GLOBAL
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


P2 = b"\x80\x02"
P4 = b"\x80\x04"


def frame(body):
    return b"\x95" + struct.pack("<Q", len(body)) + body


def npy_object(pickle_bytes):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pickle_bytes


def zip_of(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return buf.getvalue()


def zip_renamed_local(members, central, local):
    """The member `central` written with the local header name `local` (same length)."""
    data = bytearray(zip_of(members))
    at = data.index(b"PK\x03\x04" + data[4:26] + struct.pack("<H", len(central)))
    name_at = at + 30
    assert data[name_at:name_at + len(central)] == central.encode() and len(local) == len(central)
    data[name_at:name_at + len(local)] = local.encode()
    return bytes(data)


def zip_hidden_first(members):
    """The first member's central entry removed: its local header stays, unlisted."""
    data = zip_of(members)
    eocd = data.rindex(b"PK\x05\x06")
    cd = struct.unpack_from("<I", data, eocd + 16)[0]
    n = struct.unpack_from("<H", data, cd + 28)[0] + struct.unpack_from("<H", data, cd + 30)[0] + \
        struct.unpack_from("<H", data, cd + 32)[0]
    first = 46 + n
    count = struct.unpack_from("<H", data, eocd + 10)[0] - 1
    cd_size = struct.unpack_from("<I", data, eocd + 12)[0] - first
    tail = bytearray(data[eocd:])
    struct.pack_into("<HHI", tail, 8, count, count, cd_size)
    return data[:cd] + data[cd + first:eocd] + bytes(tail)


def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def libarchive_write(members, fmt, filt=None):
    """An archive written by libarchive (ctypes; libarchive-dev is in ci/deps):
    `fmt` "7zip" or "raw" (one member), `filt` e.g. "lz4". No mtimes: the
    same bytes each run."""
    import ctypes
    la = ctypes.CDLL("libarchive.so.13")
    la.archive_write_new.restype = ctypes.c_void_p
    la.archive_entry_new.restype = ctypes.c_void_p
    la.archive_write_data.restype = ctypes.c_ssize_t
    a = ctypes.c_void_p(la.archive_write_new())
    assert getattr(la, "archive_write_set_format_" + fmt)(a) == 0
    if filt:
        assert getattr(la, "archive_write_add_filter_" + filt)(a) == 0
    buf, used = ctypes.create_string_buffer(1 << 20), ctypes.c_size_t(0)
    assert la.archive_write_open_memory(a, buf, ctypes.c_size_t(len(buf)), ctypes.byref(used)) == 0
    for name, data in members:
        e = ctypes.c_void_p(la.archive_entry_new())
        la.archive_entry_set_pathname(e, name.encode())
        la.archive_entry_set_size(e, ctypes.c_int64(len(data)))
        la.archive_entry_set_filetype(e, 0o100000)
        la.archive_entry_set_perm(e, 0o644)
        assert la.archive_write_header(a, e) == 0
        assert la.archive_write_data(a, data, ctypes.c_size_t(len(data))) == len(data)
        la.archive_entry_free(e)
    assert la.archive_write_close(a) == 0
    la.archive_write_free(a)
    return buf.raw[:used.value]


SYSTEM = glob("os", "system") + b"(" + binu(CMD) + b"tR."
SYSTEM4 = P4 + u("os") + u("system") + b"\x93" + u(CMD) + b"\x85R."
AFTER = glob("os", "system") + binu(CMD) + b"\x85R."  # the payload after a point where loaders part
BENIGN = P2 + b"]q\x00(K\x01K\x02e."

# joblib.dump's files, made by joblib itself (python3-joblib and
# scikit-learn of /usr/bin/python3, as ci/deps installs them): what each
# name below holds. Dumping runs nothing: the payload samples are spliced in
# afterwards, opcode by opcode, where joblib writes an array's data.
JOBLIB_DUMPS = r"""
import base64, io, json, os, sys, tempfile
import joblib, numpy as np
from joblib.numpy_pickle_compat import write_zfile, ZNDArrayWrapper
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

class NoTell(io.RawIOBase):  # a stream joblib cannot tell(): its arrays get no alignment padding
    def __init__(self):
        self.buf = io.BytesIO()
    def writable(self):
        return True
    def write(self, b):
        return self.buf.write(b)
    def tell(self):
        raise io.UnsupportedOperation("tell")

def dump(obj, **kw):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.joblib")
        joblib.dump(obj, path, **kw)
        return open(path, "rb").read()

def notell(obj):
    f = NoTell()
    joblib.dump(obj, f)
    return f.buf.getvalue()

def zfile(data):  # joblib < 0.10's single-file format, written by joblib's own write_zfile
    f = io.BytesIO()
    write_zfile(f, data)
    return f.getvalue()

hidden = np.frombuffer(base64.b64decode(sys.argv[1]), dtype=np.uint8)
zpayload = base64.b64decode(sys.argv[2])
struct_array = np.array([(1, "a"), (2, None)], dtype=[("x", "<i8"), ("o", "O")])
old_array = np.arange(3, dtype=np.int64)
out = {
    "int": dump(np.arange(6, dtype=np.int64).reshape(2, 3)),
    "float": dump(np.linspace(0.0, 1.0, 5)),
    "object": dump(np.array([1, "a", None], dtype=object)),
    "object_nested": __import__("pickle").dumps(np.array([1, "a", None], dtype=object), protocol=2),
    "sklearn": dump(StandardScaler().fit(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))),
    "zlib": dump({"w": np.arange(4, dtype=np.float32), "b": np.zeros(2)}, compress=3),
    "gzip": dump({"w": np.arange(4, dtype=np.float32)}, compress=("gzip", 3)),
    "lzma": dump({"w": np.arange(4, dtype=np.float32)}, compress=("lzma", 3)),
    "hidden": notell({"w": hidden}),
    "struct": dump(struct_array),
    "struct_nested": __import__("pickle").dumps(struct_array, protocol=2),
    "tree": dump(DecisionTreeClassifier(random_state=0).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])),
    # joblib < 0.10 pickled with protocol 2 and compressed with write_zfile;
    # its arrays went to other files, named by a ZNDArrayWrapper.
    "zfile": zfile(__import__("pickle").dumps({"a": [1, 2, 3], "b": "x", "c": 1.5}, protocol=2)),
    "zfile_payload": zfile(zpayload),
    "zfile_external": zfile(__import__("pickle").dumps(
        {"w": ZNDArrayWrapper("x.pkl_01.npy.z", (np.ndarray, (0,), b"b"), old_array.__reduce__()[2][:-1])},
        protocol=2)),
}
print(json.dumps({k: base64.b64encode(v).decode() for k, v in out.items()}))
"""


def joblib_dumps():
    import base64
    import json
    import subprocess
    hidden = SYSTEM[:-1] + b"0"  # the payload without STOP, then POP: pickle.load goes on with the outer pickle
    payload = P2 + glob("os", "system") + binu(CMD) + b"\x85R."  # protocol 2, as joblib writes nested pickles
    p = subprocess.run(["/usr/bin/python3", "-c", JOBLIB_DUMPS, base64.b64encode(hidden).decode(),
                        base64.b64encode(payload).decode()], capture_output=True, text=True, check=True)
    out = {k: base64.b64decode(v) for k, v in json.loads(p.stdout).items()}
    nested = out.pop("object_nested")
    assert out["object"].count(nested) == 1
    # The object array's pickle replaced by one that calls os.system.
    out["object_payload"] = out["object"].replace(nested, payload)
    # A structured array with an object field: numpy says hasobject, so
    # joblib pickles it after the wrapper's BUILD; that pickle replaced too.
    nested = out.pop("struct_nested")
    assert out["struct"].count(nested) == 1
    out["struct_payload"] = out["struct"].replace(nested, payload)
    out["struct_v2"] = dtype_state_v2(out["struct_payload"])
    return out


def dtype_state_v2(data):
    """The structured dtype's state (3, '|', None, names, fields, 16, 1, 27)
    rewritten as a version 2 state with flags 0: numpy 1.24 recomputes a
    version 2 state's flags from its fields (an 'O' field: hasobject), so
    joblib.load still unpickles the array's data, while the stated flags say
    raw bytes. Same length: frames stay whole."""
    import pickletools
    ops = list(pickletools.genops(data))
    marks, out = [], bytearray(data)
    for i, (op, arg, pos) in enumerate(ops):
        if op.name == "MARK":
            marks.append(i)
        elif op.name in ("TUPLE", "LIST", "DICT", "APPENDS", "SETITEMS", "POP_MARK", "FROZENSET", "ADDITEMS",
                         "INST", "OBJ"):  # the opcodes that pop a MARK
            start = marks.pop()
            tail = [a for _, a, _ in ops[i - 3:i]]
            if op.name == "TUPLE" and tail == [16, 1, 27] and ops[start + 1][1] == 3:
                assert ops[start + 1][0].name == "BININT1" and ops[i - 1][0].name == "BININT1"
                out[ops[start + 1][2] + 1] = 2
                out[ops[i - 1][2] + 1] = 0
                return bytes(out)
    raise AssertionError("no structured dtype state")


JOBLIB = joblib_dumps()

# (file, technique, expected verdict, loads as a plain pickle, description, bytes)
SAMPLES = [
    ("reduce_global.pkl", "REDUCE", "dangerous", True,
     "GLOBAL os system, REDUCE: the textbook payload (protocol 0)", SYSTEM),
    ("reduce_stack_global.pkl", "STACK_GLOBAL", "dangerous", True,
     "STACK_GLOBAL from two strs (protocol 4)", SYSTEM4),
    ("stack_global_memo.pkl", "STACK_GLOBAL operands from the memo", "dangerous", True,
     "module and name put in the memo, popped, and fetched back with BINGET before STACK_GLOBAL",
     P4 + u("os") + b"\x94" + u("system") + b"\x94" + b"00" + b"h\x00h\x01\x93" + u(CMD) + b"\x85R."),
    ("stack_global_nonstr.pkl", "STACK_GLOBAL non-str operands", "error", True,
     "bytes operands: CPython refuses them ('STACK_GLOBAL requires str'), nothing is imported",
     P4 + b"C\x02os" + b"C\x06system" + b"\x93)R."),
    ("inst.pkl", "INST instead of REDUCE", "dangerous", True,
     "INST os system with an argument: cls(*args) calls it",
     b"(" + binu(CMD) + b"ios\nsystem\n."),
    ("inst_no_args.pkl", "INST without arguments on a function", "dangerous", True,
     "INST os getpid with no argument: not a class, so CPython calls it",
     b"(ios\ngetpid\n."),
    ("obj.pkl", "OBJ instead of REDUCE", "dangerous", True,
     "OBJ with os.system and an argument",
     b"(" + glob("os", "system") + binu(CMD) + b"o."),
    ("newobj_ex.pkl", "NEWOBJ_EX", "dangerous", True,
     "NEWOBJ_EX of subprocess.Popen: cls.__new__ of a dangerous class",
     P4 + u("subprocess") + u("Popen") + b"\x93" + b")}\x92."),
    ("call_then_error.pkl", "calls before a later error", "dangerous", True,
     "os.system runs, then an unknown opcode stops the load: the call has happened",
     SYSTEM[:-1] + b"\xff."),
    ("second_pickle.pkl", "several pickles in one file", "dangerous", True,
     "a benign first pickle, the payload in the second (a reader that loads twice runs it)",
     BENIGN + SYSTEM4),
    ("trailing_bytes.pkl", "bytes after the last STOP", "suspicious", True,
     "a benign pickle followed by bytes that are not a pickle",
     BENIGN + b"\x00\x01junk os system"),
    ("extension_code.pkl", "extension codes", "error", True,
     "EXT1 0xF0: copyreg's registry decides the global; unregistered, CPython fails, the scan fails closed",
     P2 + b"\x82\xf0" + binu(CMD) + b"\x85R."),
    ("dotted_qualname.pkl", "dotted qualnames", "dangerous", True,
     "protocol 4 walks 'os.system' on posixpath",
     P4 + u("posixpath") + u("os.system") + b"\x93" + u(CMD) + b"\x85R."),
    ("frame_split.pkl", "FRAME tricks", "dangerous", True,
     "the payload split over two frames, an opcode's argument crossing none",
     P4 + frame(u("os") + u("system")) + frame(b"\x93" + u(CMD) + b"\x85R.")),
    ("frame_short.pkl", "FRAME tricks (loaders disagree)", "dangerous", True,
     "an opcode crossing its FRAME's end: the C unpickler reads on (and calls), the pure-Python one stops",
     P4 + b"\x95" + struct.pack("<Q", 6) + u("os") + u("system") + b"\x93" + u(CMD) + b"\x85R."),
    ("frame_in_frame.pkl", "FRAME tricks", "dangerous", True,
     "a FRAME inside an unfinished frame: the pure-Python unpickler refuses it, the C one reads on",
     P4 + b"\x95" + struct.pack("<Q", 30) + u("os") + u("system") + b"\x95" + struct.pack("<Q", 20)
     + b"\x93" + u(CMD) + b"\x85R."),
    ("frame_stop_inside.pkl", "FRAME tricks (loaders disagree)", "dangerous", True,
     "a benign pickle whose STOP is inside a FRAME that goes on; the rest of the frame is a BINBYTES "
     "swallowing the payload after it: a reader with peek loads that bytes object next, one without "
     "(io.BytesIO, the pure-Python unpickler) resumes at the frame's end and runs the payload",
     P4 + b"\x95" + struct.pack("<Q", 8) + b"K\x01." + b"B" + struct.pack("<I", len(SYSTEM4))
     + SYSTEM4 + b"."),
    # Where the C unpickler stops and the pure-Python one (joblib.load's) goes on, or the reverse
    # (oracle/loader_diff.py): the payload after the point where they part.
    ("loader_reduce_list.pkl", "loaders disagree: REDUCE arguments", "dangerous", True,
     "str(*['x']) by REDUCE with a list: the C unpickler refuses it, the pure-Python one calls it and goes on",
     P2 + glob("builtins", "str") + b"]" + binu("x") + b"aR0" + AFTER),
    ("loader_newobj_list.pkl", "loaders disagree: NEWOBJ arguments", "dangerous", True,
     "object.__new__(object, *[]) by NEWOBJ with a list: the C unpickler refuses it, the pure-Python one goes on",
     P2 + glob("builtins", "object") + b"]\x81" + b"0" + AFTER),
    ("loader_build_falsy.pkl", "loaders disagree: BUILD state", "dangerous", True,
     "BUILD of 0 on an OrderedDict (no __setstate__): the C unpickler refuses the state, the pure-Python one "
     "passes over it and goes on",
     P2 + glob("collections", "OrderedDict") + b")RK\x00b0" + AFTER),
    ("loader_setitems_odd.pkl", "loaders disagree: SETITEMS count", "dangerous", True,
     "SETITEMS of three items on os.environ: the pure-Python unpickler sets the first pair before it fails, "
     "the C one sets none",
     P2 + glob("os", "environ") + b"(" + binu("PICKLETOOL_SCAN") + binu("1") + binu("x") + b"u."),
    ("loader_inst_no_mark.pkl", "loaders disagree: INST without MARK", "dangerous", True,
     "INST with no MARK: the pure-Python unpickler imports os.system before it looks for the MARK",
     b"ios\nsystem\n."),
    ("loader_global_at_end.pkl", "loaders disagree: a name line at the end", "dangerous", True,
     "GLOBAL's name without its newline at the end of the input: the C unpickler refuses it, the pure-Python "
     "one imports os.system (readline()[:-1] of 'systemX')",
     b"cos\nsystemX"),
    ("loader_float_text.pkl", "loaders disagree: FLOAT text", "dangerous", True,
     "FLOAT ' 1.5 ': the C unpickler refuses the spaces, the pure-Python one (float()) reads it and goes on",
     b"(F 1.5 \n" + glob("os", "system") + binu(CMD) + b"\x85Rl."),
    ("loader_appends_empty.pkl", "loaders disagree: APPENDS with no items", "dangerous", True,
     "APPENDS with no items on a dict: the C unpickler does nothing, the pure-Python one fails "
     "(no dict.append): the payload after it runs under pickle.load only",
     P2 + b"}(e0" + AFTER),
    ("loader_int_octal.pkl", "loaders disagree: INT text", "dangerous", True,
     "INT 017: the C unpickler reads octal 15 and goes on to the payload, the pure-Python one (int()) refuses it",
     b"(I017\n" + glob("os", "system") + binu(CMD) + b"\x85Rl."),
    ("fix_imports.pkl", "Python 2 names (fix_imports)", "dangerous", True,
     "__builtin__.eval, mapped to builtins.eval below protocol 3",
     P2 + glob("__builtin__", "eval") + binu("1+1") + b"\x85R."),
    ("builtins_exec.pkl", "code execution", "dangerous", True,
     "builtins.exec of a statement",
     P2 + glob("builtins", "exec") + binu("x = 1") + b"\x85R."),
    ("import_getattr.pkl", "import machinery and getattr", "dangerous", True,
     "getattr(__import__('os'), 'getpid')(): a module from a call, a name from getattr",
     P2 + glob("builtins", "getattr") + b"(" + glob("builtins", "__import__") + binu("os") + b"\x85R"
     + binu("getpid") + b"tR)R."),
    ("importlib.pkl", "import machinery", "dangerous", True,
     "importlib.import_module('os')",
     P2 + glob("importlib", "import_module") + binu("os") + b"\x85R."),
    ("getattr_global.pkl", "getattr on a global", "dangerous", True,
     "getattr(getattr(os.path, 'os'), 'getpid')(): a module reached through another's attribute",
     P2 + glob("builtins", "getattr") + b"(" + glob("builtins", "getattr") + b"(" + glob("os", "path") +
     binu("os") + b"tR" + binu("getpid") + b"tR)R."),
    ("partial.pkl", "functools.partial", "dangerous", True,
     "partial(os.system, cmd)(): the call happens on the result of a call",
     P2 + glob("functools", "partial") + glob("os", "system") + binu(CMD) + b"\x86R)R."),
    ("attrgetter.pkl", "operator.attrgetter", "dangerous", True,
     "attrgetter('system')(os)",
     P2 + glob("operator", "attrgetter") + binu("system") + b"\x85R" + glob("os", "path") + b"\x85R."),
    ("methodcaller.pkl", "operator.methodcaller", "suspicious", True,
     "methodcaller('upper')('x'): reflection, harmless here",
     P2 + glob("operator", "methodcaller") + binu("upper") + b"\x85R" + binu("x") + b"\x85R."),
    ("memo_reuse.pkl", "memo tricks", "dangerous", True,
     "os.system memoized once and called twice through BINGET",
     P2 + glob("os", "system") + b"q\x00" + binu(CMD) + b"\x85R0h\x00" + binu(CMD) + b"\x85R."),
    ("sys_path_append.pkl", "APPEND on a module global", "dangerous", True,
     "sys.path gets an entry: APPEND on a global calls its extend",
     P2 + glob("sys", "path") + binu("/nonexistent/pickletool-scan") + b"a."),
    ("environ_setitem.pkl", "SETITEM on a module global", "dangerous", True,
     "os.environ gets a key: SETITEM on a global calls __setitem__",
     P2 + glob("os", "environ") + binu("PICKLETOOL_SCAN") + binu("1") + b"s."),
    ("build_on_class.pkl", "BUILD attribute setting", "dangerous", True,
     "BUILD with slot state on a class sets a class attribute",
     P2 + glob("collections", "OrderedDict") + b"N}" + binu("pickletool_scan") + b"K\x01s\x86b."),
    ("nested_loads.pkl", "nested deserializers", "dangerous", True,
     "pickle.loads on bytes that hold the payload",
     P2 + glob("pickle", "loads") + b"C" + bytes([len(SYSTEM4)]) + SYSTEM4 + b"\x85R."),
    ("code_object.pkl", "code objects", "dangerous", True,
     "types.FunctionType named (a code object would follow)",
     P2 + glob("types", "FunctionType") + b"."),
    ("open_file.pkl", "file I/O", "dangerous", True,
     "builtins.open of a path for reading",
     P2 + glob("builtins", "open") + binu("/nonexistent/pickletool-scan") + b"\x85R."),
    ("socket.pkl", "network I/O", "dangerous", True,
     "socket.create_connection named",
     P2 + glob("socket", "create_connection") + b"."),
    ("misnamed.npy", "misleading file name", "dangerous", True,
     "a plain pickle named as a numpy file: told by content", SYSTEM4),
    ("misnamed.json", "misleading file name", "dangerous", True,
     "a plain pickle named as JSON", SYSTEM),
    ("npy_object.npy", "numpy object arrays", "dangerous", False,
     "a .npy of dtype object: numpy.load(allow_pickle=True) unpickles what follows the header",
     npy_object(SYSTEM4)),
    ("torch_zip.pt", "PyTorch zip archives", "dangerous", False,
     "a torch.save-shaped archive whose data.pkl calls os.system",
     zip_of([("archive/data.pkl", SYSTEM4), ("archive/version", b"3\n")])),
    ("torch_zip_second_member.pt", "PyTorch zip archives", "dangerous", False,
     "a benign data.pkl, the payload in another .pkl member",
     zip_of([("archive/data.pkl", BENIGN), ("archive/extra.pkl", SYSTEM4), ("archive/version", b"3\n")])),
    ("torchscript.pt", "TorchScript", "suspicious", False,
     "an archive with code/ members (TorchScript): code that torch.jit.load runs",
     zip_of([("archive/data.pkl", BENIGN), ("archive/code/__torch__.py", b"def forward(self): pass\n"),
             ("archive/constants.pkl", BENIGN), ("archive/version", b"3\n")])),
    ("zip_local_name.pt", "zip readers that disagree", "dangerous", False,
     "data.pkl's local header names it evil.pkl: PyTorch reads it by the central directory, zipfile refuses it",
     zip_renamed_local([("archive/data.pkl", SYSTEM4), ("archive/version", b"3\n")],
                       "archive/data.pkl", "archive/evil.pkl")),
    ("zip_hidden_local.zip", "zip readers that disagree", "dangerous", False,
     "a member only in the local headers (streaming readers see it; the central directory does not list it)",
     zip_hidden_first([("hidden.pkl", SYSTEM4), ("archive/data.pkl", BENIGN), ("archive/version", b"3\n")])),
    ("npz_object.npz", "numpy .npz", "dangerous", False,
     "an .npz whose member is an object array holding the payload",
     zip_of([("a.npy", npy_object(SYSTEM4))])),
    ("zip_in_zip.zip", "nested archives", "dangerous", False,
     "a zip inside a zip, the payload in the inner one",
     zip_of([("inner.zip", zip_of([("data.pkl", SYSTEM4)]))])),
    ("gzip_pickle.bin", "compressed wrappers", "dangerous", False,
     "a gzip-compressed pickle (joblib's and many hubs' .gz)", gzip.compress(SYSTEM4, mtime=0)),
    ("bz2_pickle.bin", "compressed wrappers", "dangerous", False,
     "a bz2-compressed pickle", bz2.compress(SYSTEM4)),
    ("xz_pickle.bin", "compressed wrappers", "dangerous", False,
     "an xz-compressed pickle", lzma.compress(SYSTEM4)),
    ("tar_second_member.tar", "archived wrappers", "dangerous", False,
     "a tar whose second member holds the payload", tar_of([("a.pkl", BENIGN), ("b.pkl", SYSTEM4)])),
    ("sevenz_second_member.7z", "archived wrappers", "dangerous", False,
     "a 7z archive (libarchive's 7-Zip writer) whose second member holds the payload",
     libarchive_write([("a.pkl", BENIGN), ("b.pkl", SYSTEM4)], "7zip")),
    ("lz4_pickle.bin", "compressed wrappers", "dangerous", False,
     "an LZ4 frame of a pickle (joblib's compress='lz4')", libarchive_write([("data", SYSTEM4)], "raw", "lz4")),
    ("tgz_torch_zip.tgz", "archived wrappers", "dangerous", False,
     "a gzip of a tar of a torch archive: three wrappers deep",
     gzip.compress(tar_of([("model.pt", zip_of([("archive/data.pkl", SYSTEM4)]))]), mtime=0)),
    ("joblib_object_payload.joblib", "joblib arrays", "dangerous", "joblib",
     "joblib.dump of an object array whose pickle (after the wrapper's BUILD) calls os.system",
     JOBLIB["object_payload"]),
    ("joblib_hidden_plain.joblib", "joblib arrays (loaders disagree)", "dangerous", "joblib",
     "a uint8 array (no alignment) whose bytes are opcodes that call os.system: joblib.load reads data, "
     "pickle.load runs them", JOBLIB["hidden"]),
    ("joblib_struct_object.joblib", "joblib structured dtypes", "dangerous", "joblib",
     "a structured array with an object field: hasobject, so joblib pickles its data after the wrapper's BUILD; "
     "that pickle calls os.system", JOBLIB["struct_payload"]),
    ("joblib_struct_v2.joblib", "joblib structured dtypes (flags recomputed)", "dangerous", "joblib",
     "the same with the dtype state rewritten as version 2 with flags 0: numpy recomputes hasobject from the "
     "'O' field, joblib.load unpickles the data (the stated flags say raw bytes)", JOBLIB["struct_v2"]),
    ("joblib_zfile_payload.joblib", "joblib < 0.10 single file (ZF)", "dangerous", "joblib",
     "joblib's write_zfile of a pickle that calls os.system: joblib.load inflates it and unpickles it",
     JOBLIB["zfile_payload"]),
    ("joblib_zfile_external.joblib", "joblib < 0.10 single file (ZF)", "dangerous", "joblib",
     "a ZF file whose array is a ZNDArrayWrapper, as joblib < 0.10 wrote them: the data is another file",
     JOBLIB["zfile_external"]),
    ("joblib_zfile_bad_hex.joblib", "joblib < 0.10 ZF, malformed", "error", "joblib",
     "the payload ZF file with a length field int(x, 16) refuses: joblib.load fails before inflating",
     b"ZF" + b"0xzz".ljust(19) + JOBLIB["zfile_payload"][21:]),
    ("joblib_zfile_over_budget.joblib", "joblib < 0.10 ZF, malformed", "error", "joblib",
     "the payload ZF file stating 1 GiB + 1 bytes, over the scan's inflation budget (zlib.decompress "
     "allocates it; joblib's length assert then fails)",
     b"ZF" + b"0x40000001".ljust(19) + JOBLIB["zfile_payload"][21:]),
    ("joblib_zfile_truncated.joblib", "joblib < 0.10 ZF, malformed", "error", "joblib",
     "the payload ZF file with its zlib stream cut short: zlib.decompress fails, nothing is unpickled",
     JOBLIB["zfile_payload"][:-6]),
    ("joblib_zfile_bad_length.joblib", "joblib < 0.10 ZF, malformed", "error", "joblib",
     "the benign ZF file stating one byte more than its pickle: read_zfile's assert fails",
     b"ZF" + hex(int(JOBLIB["zfile"][2:21], 16) + 1).encode().ljust(19) + JOBLIB["zfile"][21:]),
    ("joblib_zfile.joblib", "control: joblib", "clean", "joblib",
     "joblib < 0.10's single-file format (ZF) of a dict, written by joblib's write_zfile", JOBLIB["zfile"]),
    ("joblib_sklearn_tree.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump of a fitted DecisionTreeClassifier: its nodes are a structured array (raw bytes)",
     JOBLIB["tree"]),
    ("joblib_loader_reduce_list.joblib", "loaders disagree: joblib.load", "dangerous", "joblib",
     "joblib_int.joblib whose STOP is replaced by POP, str(*['x']) (REDUCE with a list) and the payload: "
     "pickle.load would refuse the REDUCE, joblib.load (a pure-Python unpickler) calls it and goes on",
     JOBLIB["int"][:-1] + b"0" + glob("builtins", "str") + b"]" + binu("x") + b"aR0" + AFTER),
    ("joblib_int.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump of an int64 array (sklearn and joblib profiles)", JOBLIB["int"]),
    ("joblib_float.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump of a float64 array after its alignment padding", JOBLIB["float"]),
    ("joblib_object.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump of an object array: a nested pickle inside the file", JOBLIB["object"]),
    ("joblib_sklearn.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump of a fitted sklearn StandardScaler", JOBLIB["sklearn"]),
    ("joblib_zlib.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump(compress=3): a bare zlib stream", JOBLIB["zlib"]),
    ("joblib_gzip.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump(compress='gzip')", JOBLIB["gzip"]),
    ("joblib_lzma.joblib", "control: joblib", "clean", "joblib",
     "joblib.dump(compress='lzma'): LZMA alone", JOBLIB["lzma"]),
    ("joblib_lz4.joblib", "control: joblib", "clean", "joblib",
     "joblib_int.joblib in an LZ4 frame, as compress='lz4' writes it (joblib.load needs the lz4 module)",
     libarchive_write([("data", JOBLIB["int"])], "raw", "lz4")),
    ("benign_list.pkl", "control: benign", "clean", True, "a list of ints", BENIGN),
    ("benign_ordereddict.pkl", "control: benign", "clean", True,
     "an OrderedDict (stdlib profile)", pickle.dumps(__import__("collections").OrderedDict(a=1), protocol=2)),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    files = {name: data for name, _, _, _, _, data in SAMPLES}
    manifest = "file\ttechnique\texpect\tloads\tdescription\n" + "".join(
        f"{n}\t{t}\t{v}\t{l if isinstance(l, str) else 'yes' if l else 'no'}\t{d}\n" for n, t, v, l, d, _ in SAMPLES)
    files["MANIFEST.tsv"] = manifest.encode()
    if a.check:
        bad = [n for n, d in files.items()
               if not os.path.exists(os.path.join(OUT, n)) or open(os.path.join(OUT, n), "rb").read() != d]
        for n in bad:
            print(f"corpus/scan/{n} differs from the generator", file=sys.stderr)
        return 1 if bad else 0
    os.makedirs(OUT, exist_ok=True)
    for n, d in files.items():
        with open(os.path.join(OUT, n), "wb") as f:
            f.write(d)
    print(f"wrote {len(SAMPLES)} samples to corpus/scan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
