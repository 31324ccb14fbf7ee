#!/usr/bin/env python3
"""Writes corpus/fuzz_text/: inputs of fuzz/fuzz_text.cpp that carry CPython's
answer, so the fuzz target (and `ctest -L corpus`) checks the text layer
against the installed CPython (3.11: run with python3 from PATH).

An input is: a mode byte, the argument, then b"\\0ANSWER\\0", the answer
("ok:<hex of the result>" or "error:<CPython's message>") and the FNV-1a-64
seal of everything before it, in 16 hex digits. Modes: 0 UTF-8 strict,
1 escape_decode (STRING's body), 2 raw-unicode-escape (UNICODE's argument),
3 FLOAT's argument (as pickle.loads reads it), 4 UTF-8 surrogatepass,
5 int(bytes) and 6 float(bytes) (what pickletools.dis calls), 7 LONG's
argument (as pickle.loads reads it).

Usage: python3 fuzz/gen_text_corpus.py [--out corpus/fuzz_text]
"""
import argparse
import codecs
import hashlib
import os
import pickle
import struct
import sys
import warnings


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def utf8(arg, errors):
    try:
        arg.decode("utf-8", errors)
        return "ok:" + arg.hex()
    except UnicodeDecodeError as e:
        return "error:" + str(e)


def escape(arg):
    try:
        return "ok:" + codecs.escape_decode(arg)[0].hex()
    except ValueError as e:
        return "error:" + str(e)


def raw_unicode_escape(arg):
    try:
        return "ok:" + arg.decode("raw-unicode-escape").encode("utf-8", "surrogatepass").hex()
    except UnicodeDecodeError as e:
        return "error:" + str(e)


def float_line(arg):
    try:
        return "ok:" + struct.pack("<d", pickle.loads(b"F" + arg + b"\n.")).hex()
    except (ValueError, OverflowError, pickle.UnpicklingError) as e:
        return "error:" + str(e)


def int_bytes(arg):
    try:
        return "ok:" + str(int(arg)).encode().hex()
    except ValueError as e:
        return "error:" + str(e)


def float_bytes(arg):
    try:
        return "ok:" + struct.pack("<d", float(arg)).hex()
    except ValueError as e:
        return "error:" + str(e)


def long_line(arg):
    try:
        value = pickle.loads(b"L" + arg + b"\n.")
    except (ValueError, pickle.UnpicklingError) as e:
        return "error:" + str(e)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # a hex LONG may pass the decimal limit: the answer is its decimal text
    try:
        return "ok:" + str(value).encode().hex()
    finally:
        sys.set_int_max_str_digits(limit)


UTF8 = [b"", b"abc", "é".encode(), "€".encode(), "😀".encode(), b"\xed\xa0\x80", b"\xed\xb0\x80x",
        b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80",
        b"\xf5\x80", b"\xff", b"\x80", b"a\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xe2(\xa1", b"\xf0\x9f(\x80",
        ("é" * 40).encode(), ("abcdefghijklmnop" * 3 + "é").encode(), b"x" * 31 + b"\xe2\x82",
        ("€" * 11).encode() + b"\xed\xa0\x80" + b"tail", b"\xf4\x8f\xbf\xbf", b"\xee\x80\x80\xc2"]
ESCAPE = [b"", b"abc", b"\\n\\t\\\\", b"\\x41\\x4", b"\\x", b"\\xzz", b"\\101\\7\\777", b"\\q", b"\\",
          b"a\\\nb", b"\\'\\\"", b"\\a\\b\\f\\v\\r\\0", b"\xff\\xff"]
RAW = [b"", b"abc", b"\\u00e9", b"\\U0001F600", b"\\u12", b"\\U00110000", b"\\\\u0041", b"\\\\\\u0041",
       b"\\", b"\\x41", b"\xe9\xff", b"\\ud800", b"\\Uffffffff", b"\\u00"]
FLOAT = [b"1.5", b"-0.0", b"inf", b"-Infinity", b"nan", b"1e308", b"1e309", b"1_0", b" 2.5", b"2.5 ",
         b"0x10", b"", b"abc", b"1.5\x00junk", b"4.9e-324", b"1e-400", b"+.5", b"5.", b"\xff",
         b"1.7976931348623157e308", b"123456789012345678901234567890"]

INTS = [b"0", b"-0", b"00", b"007", b"+12", b"-12", b" 12 ", b"\t12\n", b"1_000", b"1__0", b"_1", b"1_", b"",
        b"12L", b"0x10", b"1.5", b"\xff", b"\xe9t\xe9", b"12\x0034", b"9" * 4300, b"9" * 4301,
        b"-" + b"1" * 40, b"a" * 250, b"1" * 199 + b"\xe9" + b"2"]
FLOATS = FLOAT + [b" 1.5 ", b"1_0.5", b"1__0", b"_1", b"1_", b"1._5", b"1e1_0", b"\t-inf\n", b"infinit",
                  b"  ", b"1e", b"1e+", b"-nan", b"1" * 400, b"0." + b"0" * 400 + b"1e400"]
LONGS = [b"12", b"12L", b"-12L", b"0x1fL", b"0o17", b"0b101", b"010", b"00", b"0_0", b"0x_1", b"1_000L",
         b"", b"L", b" 7 ", b"abc", b"\xff", b"\xe9", b"12\x00junk", b"9" * 4301, b"0x" + b"f" * 5000,
         b"1" * 201 + b"x"]


def cases():
    for arg in UTF8:
        yield 0, arg, utf8(arg, "strict")
        yield 4, arg, utf8(arg, "surrogatepass")
    for arg in ESCAPE:
        yield 1, arg, escape(arg)
    for arg in RAW:
        yield 2, arg, raw_unicode_escape(arg)
    for arg in FLOAT:
        yield 3, arg, float_line(arg)
    for arg in INTS:
        yield 5, arg, int_bytes(arg)
    for arg in FLOATS:
        yield 6, arg, float_bytes(arg)
    for arg in LONGS:
        yield 7, arg, long_line(arg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "corpus", "fuzz_text"))
    args = ap.parse_args()
    if sys.version_info[:2] != (3, 11):
        sys.exit("gen_text_corpus.py: run with CPython 3.11 (the reference), not %s" % sys.version.split()[0])
    warnings.simplefilter("ignore", DeprecationWarning)  # escape_decode of \q: the answer stands
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.startswith("cpython-"):
            os.remove(os.path.join(args.out, name))
    count = 0
    for mode, arg, ans in cases():
        body = bytes([mode]) + arg + b"\0ANSWER\0" + ans.encode("utf-8", "surrogatepass")
        data = body + b"%016x" % fnv1a(body)
        name = "cpython-%d-%s" % (mode, hashlib.sha1(data).hexdigest()[:12])
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        count += 1
    print("gen_text_corpus.py: %d inputs in %s" % (count, os.path.normpath(args.out)))


if __name__ == "__main__":
    main()
