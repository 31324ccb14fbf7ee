#!/usr/bin/env python3
"""Whole processes, as people run them: `pickletool recode`, `show` and `dis`
once per file against `python3 -c` loading and dumping the same file
(interpreter start counted), and the same input from a pipe against the
file. run_bench.py calls it for ci/bench; it also runs alone:

    python3 bench/whole_process.py --bin BUILD/bin --payloads DIR [--reps N] [--only SUBSTR]

Each measurement is one child process: CPU time (user + system, os.wait4)
and peak RSS, the best of --reps runs; wall time is recorded but not
compared (other processes on the machine stretch it). The peak is GNU
time's %M (Debian's `time` package): the child's own ru_maxrss starts at
this Python process's resident size (the kernel records the forked copy's
high-water mark at exec), 21 MB here, which would hide any smaller peak;
`time` forks the command from its own small process. Without /usr/bin/time
the peak falls back to ru_maxrss (a floor of this process's size). A pipe is fed
by a thread of this process (its CPU time is not the child's): what the
child pays is its own reads and parse.

Rows:
- per payload file: python3 (pickle.loads then pickle.dumps at protocol 5,
  the real classes importable), pickletool recode -p 5 FILE OUT, show FILE,
  dis FILE, and recode / show / dis from a pipe (`- < pipe`); and, like for like,
  python3 printing repr(pickle.load(f)) against show (objects: also with
  the classes' repr showing class and state, as show does) and `python3 -m
  pickletools FILE` against dis (one run: pure Python, seconds a MB);
- per protocol 0..5 (the records and ints S payloads re-dumped at each):
  recode from the file and from a pipe, and the library's Decoder over an
  FdSource that must not read ahead (bench_codec --fd-decode=exact, from the
  file and from a pipe) when bench_codec is built.
"""
import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The deep payload nests 2,000 levels: past CPython's default recursion limit.
PY_RECODE = ("import pickle,sys; sys.setrecursionlimit(100000); d=open(sys.argv[1],'rb').read(); "
             "open(sys.argv[2],'wb').write(pickle.dumps(pickle.loads(d), 5))")
# What show and dis do, done by CPython: print repr(load(f)); pickletools.
PY_SHOW = "import pickle,sys; sys.setrecursionlimit(100000); print(repr(pickle.load(open(sys.argv[1],'rb'))))"
# The same, with the payload's classes given a repr that shows what show
# prints of an object (its class and state; the default repr is
# `<bench_types.Point object at 0x...>`): the objects payload's like for like.
PY_SHOW_STATE = ("import pickle,sys,bench_types as t; sys.setrecursionlimit(100000)\n"
                 "for c in (t.Point, t.Account): c.__repr__ = lambda o: "
                 "f'{type(o).__module__}.{type(o).__qualname__}({o.__getstate__()!r})'\n"
                 "print(repr(pickle.load(open(sys.argv[1],'rb'))))")


GNU_TIME = "/usr/bin/time"


def measure(cmd, pipe_from=None, env=None, guard=900):
    """(CPU s, wall s, peak RSS kB) of one child; stdout to /dev/null unless
    the command names an output. `pipe_from`: a file whose bytes are written
    into the child's standard input through a pipe."""
    peak_file = None
    if os.access(GNU_TIME, os.X_OK):
        fd, peak_file = tempfile.mkstemp(prefix="whole_process_peak_")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", peak_file] + list(cmd)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE if pipe_from else subprocess.DEVNULL,
                             stdout=null, stderr=subprocess.PIPE, env=env)
        feeder = None
        if pipe_from:
            def feed():
                try:
                    with open(pipe_from, "rb") as f:
                        while True:
                            chunk = f.read(1 << 20)
                            if not chunk:
                                break
                            p.stdin.write(chunk)
                except BrokenPipeError:
                    pass
                finally:
                    try:
                        p.stdin.close()
                    except BrokenPipeError:
                        pass
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
        timer = threading.Timer(guard, p.kill)  # a hang guard only
        timer.start()
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        timer.cancel()
        if feeder:
            feeder.join()
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss
    if peak_file:
        with open(peak_file) as f:
            text = f.read().split()
        os.unlink(peak_file)
        if rc == 0:
            peak = int(text[-1])
    if rc != 0:
        raise SystemExit(f"whole_process: {cmd} exited {rc}: {err.decode(errors='replace')[:300]}")
    return usage.ru_utime + usage.ru_stime, wall, peak


def best(reps, cmd, **kw):
    return best_of_each(reps, {"one": (cmd, kw)})["one"]


def best_of_each(reps, commands):
    """{name: best of reps} for {name: (cmd, measure's keywords)}, run in
    turn, each round in another order (seeded: the same from run to run):
    the machine's busy spells, which last seconds, then slow every command
    alike instead of whichever ran during them, no command always runs
    right after the same other one, and the ratios between them (pipe to
    file) hold."""
    runs = {name: [] for name in commands}
    order = list(commands)
    shuffle = random.Random(len(order) * 1000 + reps).shuffle
    for _ in range(reps):
        for name in order:
            cmd, kw = commands[name]
            runs[name].append(measure(cmd, **kw))
        shuffle(order)
    return {name: {"cpu_s": min(r[0] for r in rs), "wall_s": min(r[1] for r in rs),
                   "rss_kb": min(r[2] for r in rs)} for name, rs in runs.items()}


def payload_rows(bin_dir, payloads, manifest, reps, tmp, only=None):
    tool = os.path.join(bin_dir, "pickletool")
    env = dict(os.environ, PYTHONPATH=HERE)
    out = os.path.join(tmp, "out.pkl")
    rows = []
    for e in manifest:
        path = os.path.join(payloads, e["file"])
        if only and only not in e["file"]:
            continue
        r = {"file": e["file"], "payload": e["payload"], "protocol": e["protocol"], "size": e["size"],
             "bytes": e["bytes"]}
        commands = {
            "python": ([sys.executable, "-c", PY_RECODE, path, out], {"env": env}),
            "recode": ([tool, "recode", "-p", "5", path, out], {}),
            "recode_pipe": ([tool, "recode", "-p", "5", "-", out], {"pipe_from": path}),
            "show": ([tool, "show", path], {}),
            "show_pipe": ([tool, "show", "-"], {"pipe_from": path}),
            "dis": ([tool, "dis", path], {}),
            "dis_pipe": ([tool, "dis", "-"], {"pipe_from": path}),
            "python_show": ([sys.executable, "-c", PY_SHOW, path], {"env": env}),
        }
        if e["payload"] == "objects":
            commands["python_show_state"] = ([sys.executable, "-c", PY_SHOW_STATE, path], {"env": env})
        r.update(best_of_each(reps, commands))
        r["python_dis"] = best(1, [sys.executable, "-m", "pickletools", path], env=env)
        print("whole_process: %-16s python %.3f s %6.1f MB | recode %.3f s (%.1fx) %6.1f MB | show %.3f s (%.1fx) "
              "| dis %.3f s (%.1fx) | pipe: recode %.2fx show %.2fx dis %.2fx the file" % (
                  e["file"], r["python"]["cpu_s"], r["python"]["rss_kb"] / 1024, r["recode"]["cpu_s"],
                  r["python"]["cpu_s"] / r["recode"]["cpu_s"], r["recode"]["rss_kb"] / 1024, r["show"]["cpu_s"],
                  r["python"]["cpu_s"] / r["show"]["cpu_s"], r["dis"]["cpu_s"],
                  r["python"]["cpu_s"] / r["dis"]["cpu_s"], r["recode_pipe"]["cpu_s"] / r["recode"]["cpu_s"],
                  r["show_pipe"]["cpu_s"] / r["show"]["cpu_s"], r["dis_pipe"]["cpu_s"] / r["dis"]["cpu_s"]),
              file=sys.stderr, flush=True)
        rows.append(r)
    return rows


def protocol_rows(bin_dir, payloads, reps, tmp, sources=("records-p2-S.pkl", "ints-p2-S.pkl")):
    """Pipe against file at every protocol, for pickletool and for the
    library's Decoder over an FdSource that must not read ahead."""
    tool = os.path.join(bin_dir, "pickletool")
    bench = os.path.join(bin_dir, "bench_codec")
    out = os.path.join(tmp, "out.pkl")
    rows = []
    sys.path.insert(0, HERE)
    import bench_types  # noqa: F401 - the objects payload's classes
    for src in sources:
        full = os.path.join(payloads, src)
        if not os.path.exists(full):  # --quick: the Q size stands in
            src = src.replace("-S.", "-Q.")
            full = os.path.join(payloads, src)
        if not os.path.exists(full):
            continue
        with open(full, "rb") as f:
            value = pickle.loads(f.read())
        for q in range(6):
            path = os.path.join(tmp, "%s-q%d.pkl" % (src[:-4], q))
            with open(path, "wb") as f:
                f.write(pickle.dumps(value, q))
            r = {"source": src, "protocol": q, "bytes": os.path.getsize(path)}
            commands = {
                "recode": ([tool, "recode", "-p", "5", path, out], {}),
                "recode_pipe": ([tool, "recode", "-p", "5", "-", out], {"pipe_from": path}),
            }
            if os.access(bench, os.X_OK):
                commands["fd_file"] = ([bench, "--fd-decode=exact", path], {})
                commands["fd_pipe"] = ([bench, "--fd-decode=exact", "-"], {"pipe_from": path})
            r.update(best_of_each(reps, commands))
            print("whole_process: %s at protocol %d (%.1f MB): recode pipe/file %.3f/%.3f s = %.2fx%s" % (
                src, q, r["bytes"] / 1e6, r["recode_pipe"]["cpu_s"], r["recode"]["cpu_s"],
                r["recode_pipe"]["cpu_s"] / r["recode"]["cpu_s"],
                "; FdSource pipe/file %.3f/%.3f s = %.2fx" % (
                    r["fd_pipe"]["cpu_s"], r["fd_file"]["cpu_s"], r["fd_pipe"]["cpu_s"] / r["fd_file"]["cpu_s"])
                if "fd_file" in r else ""), file=sys.stderr, flush=True)
            rows.append(r)
    return rows


def run(bin_dir, payloads, reps, only=None):
    with open(os.path.join(payloads, "manifest.json")) as f:
        manifest = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        res = {"payloads": payload_rows(bin_dir, payloads, manifest, reps, tmp, only)}
        res["protocols"] = protocol_rows(bin_dir, payloads, reps, tmp) if not only else []
    return res


def fmt_x(a, b):
    return f"{a / b:.1f}" if b else "–"


def tables(res):
    """Markdown: the whole-process table and the pipe-against-file table."""
    out = []
    rows = ["| payload | proto | size | MB | python3 CPU s | recode CPU s | × | show CPU s | × | dis CPU s | × "
            "| python3 peak MB | recode peak MB | show peak MB | dis peak MB "
            "| pipe: recode / show / dis peak MB | pipe: recode ÷ file "
            "| pipe: show ÷ file | pipe: dis ÷ file | python3 repr CPU s | show × | python3 repr with state CPU s | show × "
            "| pickletools CPU s | dis × |",
            "|" + "---|" * 25]
    for r in res["payloads"]:
        py = r["python"]["cpu_s"]
        rows.append(
            f"| {r['payload']} | {r['protocol']} | {r['size']} | {r['bytes'] / 1e6:.1f} | {py:.3f} | "
            f"{r['recode']['cpu_s']:.3f} | {fmt_x(py, r['recode']['cpu_s'])} | {r['show']['cpu_s']:.3f} | "
            f"{fmt_x(py, r['show']['cpu_s'])} | {r['dis']['cpu_s']:.3f} | {fmt_x(py, r['dis']['cpu_s'])} | "
            f"{r['python']['rss_kb'] / 1024:.1f} | {r['recode']['rss_kb'] / 1024:.1f} | "
            f"{r['show']['rss_kb'] / 1024:.1f} | {r['dis']['rss_kb'] / 1024:.1f} | "
            f"{r['recode_pipe']['rss_kb'] / 1024:.1f} / {r['show_pipe']['rss_kb'] / 1024:.1f} / "
            f"{r['dis_pipe']['rss_kb'] / 1024:.1f} | "
            f"{r['recode_pipe']['cpu_s'] / r['recode']['cpu_s']:.2f} | "
            f"{r['show_pipe']['cpu_s'] / r['show']['cpu_s']:.2f} | "
            f"{r['dis_pipe']['cpu_s'] / r['dis']['cpu_s']:.2f} | "
            f"{r['python_show']['cpu_s']:.3f} | {fmt_x(r['python_show']['cpu_s'], r['show']['cpu_s'])} | "
            + (f"{r['python_show_state']['cpu_s']:.3f} | {fmt_x(r['python_show_state']['cpu_s'], r['show']['cpu_s'])} | "
               if "python_show_state" in r else "– | – | ") +
            f"{r['python_dis']['cpu_s']:.2f} | {fmt_x(r['python_dis']['cpu_s'], r['dis']['cpu_s'])} |")
    out.append("Whole processes, CPU seconds (user + system, `wait4`), best of the runs: `python3 -c` "
               "(`pickle.loads` then `pickle.dumps(v, 5)` of the file, interpreter start counted) against "
               "`pickletool recode -p 5 FILE OUT`, `show FILE` and `dis FILE`; peak RSS (GNU time's `%M`); "
               "pipe: the same command reading the file's bytes from a pipe on standard input; like for "
               "like, `python3 -c` printing `repr(pickle.load(f))` against show (for the objects payload also with its "
               "classes given a repr of their class and state, `bench_types.Point({'x': ...})`, what show prints "
               "of an object) and `python3 -m pickletools FILE` (one run) against dis:\n\n"
               + "\n".join(rows))
    if res.get("protocols"):
        rows = ["| pickle | proto | MB | recode file CPU s | recode pipe CPU s | pipe ÷ file "
                "| FdSource (no read-ahead) file CPU s | pipe CPU s | pipe ÷ file |", "|" + "---|" * 9]
        for r in res["protocols"]:
            fd = (f"{r['fd_file']['cpu_s']:.3f} | {r['fd_pipe']['cpu_s']:.3f} | "
                  f"{r['fd_pipe']['cpu_s'] / r['fd_file']['cpu_s']:.2f}") if "fd_file" in r else "– | – | –"
            rows.append(f"| {r['source'][:-4]} as protocol {r['protocol']} | {r['protocol']} | "
                        f"{r['bytes'] / 1e6:.2f} | {r['recode']['cpu_s']:.3f} | {r['recode_pipe']['cpu_s']:.3f} | "
                        f"{r['recode_pipe']['cpu_s'] / r['recode']['cpu_s']:.2f} | {fd} |")
        out.append("Pipe against file at every protocol (the payload re-dumped by CPython at each), CPU "
                   "seconds, best of the runs: `pickletool recode -p 5` of the file and of `- <` a pipe; "
                   "`bench_codec --fd-decode=exact` (every pickle through `pkl::Decoder` over "
                   "`FdSource(fd, may_read_ahead=false)`) of the file and of a pipe:\n\n" + "\n".join(rows))
    return "\n\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin")
    ap.add_argument("--payloads")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", help="payload files whose name holds this")
    ap.add_argument("--json", help="write the raw figures here")
    ap.add_argument("--tables-from", metavar="JSON", help="print the tables of figures --json wrote, running nothing")
    args = ap.parse_args()
    if args.tables_from:
        with open(args.tables_from) as f:
            print(tables(json.load(f)))
        return
    if not args.bin or not args.payloads:
        ap.error("--bin and --payloads are required (or --tables-from)")
    res = run(args.bin, args.payloads, args.reps, args.only)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print(tables(res))


if __name__ == "__main__":
    main()
