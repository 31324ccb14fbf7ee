#!/usr/bin/env python3
"""Writes corpus/fuzz_decode_paths/: pickles that reach each of the
decoder's equivalent paths (fuzz/fuzz_decode_paths.cpp): runs of ints and
floats (scalar_run), short strs and bytes, memo traffic and small containers
(fast_run_*), strs of latin-1 and other characters on both sides of 64 and
4096 bytes (the large-str threshold), surrogates, and the same cut short.

Usage: python3 fuzz/gen_decode_paths_seeds.py [--out corpus/fuzz_decode_paths]
"""
import argparse
import hashlib
import os
import pickle


def values():
    yield list(range(-300, 300, 7))
    yield [1.5 * i for i in range(50)]
    yield [2**31 - 1, -2**31, 2**63 - 1, -2**63, 2**64, 255, 256, 65535, 65536, 0, -1]
    yield [("k%d" % i, i, i * 0.5, b"b%d" % i) for i in range(40)]
    yield {"a%d" % i: [i, str(i), None, True, False] for i in range(30)}
    s = "x" * 10
    yield [s, s, (s, s), {s: s}]
    for n in (63, 64, 65, 100, 4096, 4097):
        yield "é" * (n // 2) + "a" * (n % 2)
        yield "a" * n + "é"
        yield "€" * (n // 3)
        yield ("é" * n).encode("latin-1")
    yield "a\udc80b" * 30
    yield ["\ud800" * 40, "😀" * 20]
    yield [frozenset({1, 2}), {3, 4}, bytearray(b"xyz"), (), (1,), (1, 2), (1, 2, 3)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "corpus", "fuzz_decode_paths"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    count = 0
    for v in values():
        for proto in range(6):
            data = pickle.dumps(v, protocol=proto)
            if len(data) > 4096 and proto not in (0, 5):
                continue  # the threshold's side of 4096 once per text form
            for cut in (len(data), len(data) * 2 // 3):
                piece = data[:cut]
                name = "p%d-%s" % (proto, hashlib.sha1(piece).hexdigest()[:12])
                with open(os.path.join(args.out, name), "wb") as f:
                    f.write(piece)
                count += 1
    print("gen_decode_paths_seeds.py: %d inputs in %s" % (count, os.path.normpath(args.out)))


if __name__ == "__main__":
    main()
