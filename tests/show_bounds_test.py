#!/usr/bin/env python3
"""show_bounds_test: no input makes `pickletool show` crash, use more than a
second of CPU time per MB of input, or use more than 64 MiB plus 64 bytes per
input byte (issue 2's bound), on every corpus file and on hostile inputs made
here.

Each run is a child process measured on its own (os.wait4's rusage): CPU
time is user + system of the child, so a busy machine (other processes on
the same cores) does not move it the way it moves the wall clock. The time
bound allows one CPU second for any input under a megabyte (process start
included). A wall-clock guard (60 s plus 20 times the CPU bound) only stops
a hung child. Sanitizer builds skip the memory bound (their shadow memory
is not the codec's).

    python3 tests/show_bounds_test.py --bin build/release/bin [-v]
"""
import argparse
import glob
import os
import struct
import subprocess
import sys
import signal
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def hostile_inputs():
    """(name, bytes): inputs built to make a naive reader allocate or loop."""
    n = 10 ** 6
    yield "binbytes8-claims-2^62", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"abcd"
    yield "binunicode8-claims-2^62", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abcd"
    yield "frame-claims-2^62", b"\x80\x04\x95" + struct.pack("<Q", 1 << 62) + b"N."
    yield "long4-claims-2^31", b"\x80\x02\x8b" + struct.pack("<i", 2 ** 31 - 1) + b"\x01"
    # A 1 MB int: printed in decimal this took 104 s (quadratic conversion).
    yield "long4-1MB", b"\x80\x02\x8b" + struct.pack("<i", 1 << 20) + b"\x01" * (1 << 20) + b"."
    yield "sparse-long-binput", b"\x80\x04N" + b"r\xff\xff\xff\x0f" + b"."
    yield "many-sparse-memo-indices", b"\x80\x04N" + b"".join(
        b"r" + struct.pack("<I", (i * 2654435761) & 0x0fffffff) for i in range(50000)) + b"."
    yield "million-deep-lists", b"]" * n + b"a" * (n - 1) + b"."
    yield "million-marks", b"(" * n + b"."
    yield "million-dups", b"]" + b"2" * n + b"."
    yield "million-deep-tuples", b"N" + b"\x85" * n + b"."
    yield "million-deep-dicts", b"\x80\x02" + b"}K\x00" * n + b"}" + b"s" * n + b"."
    yield "million-deep-objects", b"\x80\x02c__main__\nC\nq\x00" + b"h\x00)R" * n + b"b" * (n - 1) + b"."
    yield "million-deep-lists-cycle", b"\x80\x02]q\x00" + b"]" * n + b"h\x00a" + b"a" * n + b"."
    long_str = b"X" + struct.pack("<I", 1000) + b"a" * 1000 + b"q\x010"
    yield "100k-refs-to-a-long-str", b"\x80\x02]q\x00" + long_str + b"h\x01a" * 100000 + b"."
    yield "deep-lists-each-with-a-long-str", b"\x80\x02" + long_str + b"]h\x01a" * 100000 + b"a" * 99999 + b"."
    yield "dict-100k-int-keys-low-bits-equal", b"\x80\x02}(" + b"".join(
        b"J" + struct.pack("<i", i << 12) + b"N" for i in range(100000)) + b"u."
    yield "set-100k-strs", b"\x80\x04\x8f(" + b"".join(
        b"\x8c\x06" + ("%06d" % i).encode() for i in range(100000)) + b"\x90."
    # bytes(N) / bytearray(N): N zero bytes from a few input bytes (found in
    # the fuzz_structured corpus: 722 MiB for 625 bytes). Zero pages, never
    # written, so the graph holds them as address space.
    yield "bytes-2^28-zeros-then-error", b"\x80\x04cbuiltins\nbytes\nJ\x00\x00\x00\x10\x85R0F1e309\n."
    yield "bytearrays-4x2^26-zeros", b"\x80\x04(" + b"cbuiltins\nbytearray\nJ\x00\x00\x00\x04\x85R0" * 4 + b"N."
    yield "text-long-4300-digits", b"L" + b"9" * 4300 + b"L\n."
    yield "text-int-100k-digits", b"I" + b"7" * 100000 + b"\n."
    yield "appends-over-huge-stack", b"](" + b"N" * n + b"e."
    yield "setitems-pairs", b"}(" + b"K\x01N" * (n // 2) + b"u."
    yield "memo-get-storm", b"\x80\x02]q\x00" + b"h\x00a" * (n // 3) + b"."
    yield "nested-frozensets", b"\x80\x04" + b"(" * 50000 + b"\x91" * 50000 + b"."
    yield "stream-of-100k-pickles", b"N." * 100000
    yield "truncated-everywhere", b"\x80\x05\x95"


def corpus_inputs():
    for path in sorted(glob.glob(os.path.join(ROOT, "corpus", "**", "*"), recursive=True)):
        if os.path.isfile(path) and not path.endswith((".txt", ".md", ".tsv", ".json")):
            yield os.path.relpath(path, ROOT), path


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def run_show(tool, path, hang_guard):
    """-> (exit status, CPU seconds, max RSS bytes, stderr, hung).
    `hang_guard`: wall seconds after which the child is killed as hung."""
    with open(os.devnull, "wb") as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([tool, "show", path], stdout=out, stderr=err)
        hung = []

        def kill():
            hung.append(True)
            proc.send_signal(signal.SIGKILL)
        timer = threading.Timer(hang_guard, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return (proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, stderr,
            bool(hung))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    tool = os.path.join(args.bin, "pickletool")
    check_memory = not sanitized(tool)
    passed = failed = 0
    worst_time = worst_mem = (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        cases = list(corpus_inputs())
        for name, data in hostile_inputs():
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            cases.append(("hostile:" + name, path))
        for name, path in cases:
            size = os.path.getsize(path)
            time_limit = max(1.0, size / MIB)
            rc, secs, rss, err, hung = run_show(tool, path, 60 + 20 * time_limit)
            mem_limit = 64 * MIB + 64 * size
            problems = []
            if hung:
                problems.append("hung: killed after %.0f s of wall time" % (60 + 20 * time_limit))
            elif rc not in (0, 1):
                problems.append("exit %d (crash or usage): %s" % (rc, err.strip()[:200]))
            if rc == 1 and (err.count("\n") != 1 or not err.startswith("pickletool: error: ")):
                problems.append("stderr is not one error line: %r" % err[:200])
            if secs > time_limit:
                problems.append("%.2f s of CPU > %.2f s" % (secs, time_limit))
            if check_memory and rss > mem_limit:
                problems.append("max RSS %.1f MiB > %.1f MiB" % (rss / MIB, mem_limit / MIB))
            worst_time = max(worst_time, (secs / time_limit, name))
            worst_mem = max(worst_mem, (rss / mem_limit, name))
            if problems:
                failed += 1
                print("FAIL %s (%d bytes): %s" % (name, size, "; ".join(problems)))
            else:
                passed += 1
                if args.verbose:
                    print("ok   %s: exit %d, %.3f s CPU, %.1f MiB" % (name, rc, secs, rss / MIB))
    print("worst CPU time: %.0f%% of its bound (%s); worst memory: %.0f%% of its bound (%s)%s"
          % (100 * worst_time[0], worst_time[1], 100 * worst_mem[0], worst_mem[1],
             "" if check_memory else " [memory bound not checked: sanitizer build]"))
    print("show-bounds: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
