#!/usr/bin/env python3
"""Runs the benchmark and prints the table (ci/bench is the command to use).

    run_bench.py --bin BUILD/bin --payloads DIR --out DIR [--quick]
                 [--min-time S] [--repetitions N]

1. writes the payloads (bench/payloads.py) unless DIR already has them;
2. runs bench_codec (Google Benchmark, JSON) and cpython_bench.py on the same
   files, in this run, with the same statistic: the best of N repetitions of
   the mean time per call;
3. measures the peak memory of each operation in a child process per
   measurement (bench_codec --peak, cpython_bench.py peak);
4. times `pickletool recode` of the 100 MB recode.pkl as a whole process
   against `python3 -c` doing pickle.loads then pickle.dumps of it;
5. times whole processes per payload (bench/whole_process.py): recode, show
   and dis against `python3 -c` load + dump, a pipe against the file, and
   the library's FdSource without read-ahead at every protocol;
6. writes OUT/results.json and OUT/table.md and prints the table.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import whole_process  # noqa: E402
ORDER = ["records", "ints", "floats", "strs", "bytes", "objects", "shared", "deep"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_json(cmd):
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine():
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "compiler": cxx[0] if cxx else "?",
    }


def loadavg():
    return os.getloadavg()


def ensure_payloads(payloads, quick):
    manifest = os.path.join(payloads, "manifest.json")
    stamp = os.path.join(payloads, "stamp")
    want = "Q" if quick else "S,L+recode"
    gen = os.path.join(HERE, "payloads.py")
    fresh = (os.path.exists(manifest) and os.path.exists(stamp) and open(stamp).read() == want
             and os.path.getmtime(manifest) >= os.path.getmtime(gen))
    if fresh:
        return
    log(f"bench: writing payloads ({want}) to {payloads}")
    cmd = [sys.executable, gen, payloads, "--sizes", "Q" if quick else "S,L"]
    if not quick:
        cmd.append("--recode")
    subprocess.run(cmd, check=True)
    with open(stamp, "w") as f:
        f.write(want)


def timing_env(steady):
    """The environment of the timing processes. With `steady`, glibc keeps the
    memory a call freed for the next one (no heap trimming, large blocks from
    the heap): a long-running process's steady state, the same for both
    sides; without it, glibc's default trim heuristics decide how many fresh
    pages each call faults in."""
    env = dict(os.environ)
    if steady:
        env.update(MALLOC_TRIM_THRESHOLD_="4294967296", MALLOC_MMAP_THRESHOLD_="33554432",
                   MALLOC_TOP_PAD_="67108864")
    return env


def codec_times(bin_dir, payloads, out, min_time, reps, steady=False):
    """seconds per call, best repetition: {(op, file-stem): seconds}."""
    path = os.path.join(out, "codec.json")
    subprocess.run([os.path.join(bin_dir, "bench_codec"), f"--payloads={payloads}",
                    f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
                    "--benchmark_format=json", f"--benchmark_out={path}", "--benchmark_out_format=json"],
                   check=True, stdout=subprocess.DEVNULL, env=timing_env(steady))
    with open(path) as f:
        data = json.load(f)
    times = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or "error_occurred" in b and b["error_occurred"]:
            continue
        op, stem = b["run_name"].split("/", 1)
        stem = stem.split("/")[0]
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        secs = b["real_time"] * unit
        key = (op, stem)
        times[key] = min(times.get(key, float("inf")), secs)
    return times


def cpython_times(payloads, out, min_time, reps, steady=False):
    path = os.path.join(out, "cpython.json")
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(HERE, "cpython_bench.py"), "time", payloads,
                        "--min-time", str(min_time), "--repetitions", str(reps)], check=True, stdout=f,
                       env=timing_env(steady))
    with open(path) as f:
        return {e["file"][:-4]: e for e in json.load(f)}


def peaks(bin_dir, payloads, manifest):
    res = {}
    for e in manifest:
        path = os.path.join(payloads, e["file"])
        stem = e["file"][:-4]
        r = {}
        r["decode"] = run_json([os.path.join(bin_dir, "bench_codec"), "--peak=decode", path])
        if e["payload"] == "bytes":
            r["decode_view"] = run_json([os.path.join(bin_dir, "bench_codec"), "--peak=decode_view", path])
        r["encode"] = run_json([os.path.join(bin_dir, "bench_codec"), "--peak=encode", path])
        py = os.path.join(HERE, "cpython_bench.py")
        r["loads"] = run_json([sys.executable, py, "peak", "loads", path])
        r["dumps"] = run_json([sys.executable, py, "peak", "dumps", path])
        res[stem] = r
        log(f"bench: peak {stem}: decode {r['decode']['peak_kb']} kB / loads {r['loads']['peak_kb']} kB, "
            f"encode {r['encode']['peak_kb']} kB / dumps {r['dumps']['peak_kb']} kB")
    return res


def timed_process(cmd, env=None):
    """(CPU seconds, wall seconds, peak RSS in kB) of a whole child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"bench: {cmd} failed with {p.returncode}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss


def recode(bin_dir, src, out, reps):
    codec_out = os.path.join(out, "recode-codec.pkl")
    py_out = os.path.join(out, "recode-python.pkl")
    env = dict(os.environ, PYTHONPATH=HERE)
    script = ("import pickle,sys; d=open(sys.argv[1],'rb').read(); "
              "open(sys.argv[2],'wb').write(pickle.dumps(pickle.loads(d), 5))")
    best_c = best_p = (float("inf"), 0.0, 0)
    for _ in range(reps):
        best_c = min(best_c, timed_process([os.path.join(bin_dir, "pickletool"), "recode", "--protocol", "5",
                                            src, codec_out]))
        best_p = min(best_p, timed_process([sys.executable, "-c", script, src, py_out], env=env))
    with open(codec_out, "rb") as a, open(py_out, "rb") as b:
        same = a.read() == b.read()
    return {"file": src, "bytes": os.path.getsize(src), "codec_s": best_c[0], "codec_wall_s": best_c[1],
            "codec_rss_kb": best_c[2], "python_s": best_p[0], "python_wall_s": best_p[1],
            "python_rss_kb": best_p[2], "identical": same}


def mbps(nbytes, secs):
    return nbytes / secs / 1e6 if secs else float("nan")


def fmt_rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def fmt_mb(kb):
    return f"{kb / 1024:.1f}"


def fmt_size(nbytes):
    mb = nbytes / 1e6
    return f"{mb:.1f}" if mb >= 1 else f"{mb:.2f}" if mb >= 0.01 else f"{mb:.4f}"


def table(results):
    m = results["manifest"]
    rows = []
    hdr = ("| payload | proto | size | pickle MB | decode MB/s | loads MB/s | × | encode MB/s | dumps MB/s | × "
           "| decode peak MB | loads peak MB | encode peak MB | dumps peak MB | re-encode = input |")
    rows.append(hdr)
    rows.append("|" + "---|" * (hdr.count("|") - 1))
    sizes_seen = []
    for e in sorted(m, key=lambda e: (ORDER.index(e["payload"]), e["protocol"], e["size"] != "S", e["size"])):
        stem = e["file"][:-4]
        n = e["bytes"]
        ct = results["codec"]
        py = results["cpython"][stem]
        pk = results["peaks"].get(stem, {})
        dec, enc = mbps(n, ct.get(("decode", stem))), mbps(n, ct.get(("encode", stem)))
        lo, du = mbps(n, py["loads_s"]), mbps(n, py["dumps_s"])

        def peak(op):
            return fmt_mb(pk[op]["peak_kb"]) if op in pk else "–"

        same = ("yes" if pk["encode"].get("identical") else "no") if "encode" in pk else "–"
        rows.append(f"| {e['payload']} | {e['protocol']} | {e['size']} | {fmt_size(n)} | {fmt_rate(dec)} | "
                    f"{fmt_rate(lo)} | {dec / lo:.1f} | {fmt_rate(enc)} | {fmt_rate(du)} | {enc / du:.1f} | "
                    f"{peak('decode')} | {peak('loads')} | {peak('encode')} | {peak('dumps')} | {same} |")
        sizes_seen.append(e["size"])
    out = ["\n".join(rows)]

    views = []
    for e in sorted(m, key=lambda e: (ORDER.index(e["payload"]), e["protocol"], e["size"] != "S", e["size"])):
        stem = e["file"][:-4]
        if ("decode_view", stem) not in results["codec"]:
            continue
        n = e["bytes"]
        dv = mbps(n, results["codec"][("decode_view", stem)])
        lo = mbps(n, results["cpython"][stem]["loads_s"])
        pk = results["peaks"].get(stem, {})
        vpeak = fmt_mb(pk["decode_view"]["peak_kb"]) if "decode_view" in pk else "–"
        lpeak = fmt_mb(pk["loads"]["peak_kb"]) if "loads" in pk else "–"
        views.append(f"| {e['payload']} | {e['protocol']} | {e['size']} | {fmt_size(n)} | {fmt_rate(dv)} | "
                     f"{fmt_rate(lo)} | {dv / lo:.1f} | {vpeak} | {lpeak} |")
    if views:
        out.append("Zero-copy bytes (`DecodeOptions::bytes_as_views`):\n\n"
                   "| payload | proto | size | pickle MB | decode MB/s | loads MB/s | × | decode peak MB | loads peak MB |\n"
                   "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(views))
    r = results.get("recode")
    if r:
        out.append("Whole process, `pickletool recode --protocol 5` vs `python3 -c` loads then dumps (protocol 5), "
                   "CPU seconds (user + system) and wall seconds, best of the runs:\n\n"
                   "| input MB | pickletool CPU s | python3 CPU s | × | pickletool wall s | python3 wall s | × "
                   "| pickletool peak RSS MB | python3 peak RSS MB | same output |\n"
                   "|---|---|---|---|---|---|---|---|---|---|\n"
                   f"| {r['bytes'] / 1e6:.1f} | {r['codec_s']:.3f} | {r['python_s']:.3f} | "
                   f"{r['python_s'] / r['codec_s']:.1f} | {r['codec_wall_s']:.3f} | {r['python_wall_s']:.3f} | "
                   f"{r['python_wall_s'] / r['codec_wall_s']:.1f} | {fmt_mb(r['codec_rss_kb'])} | "
                   f"{fmt_mb(r['python_rss_kb'])} | {'yes' if r['identical'] else 'no'} |")
    if results.get("whole"):
        out.append(whole_process.tables(results["whole"]))
    mc = results["machine"]
    out.append(f"Machine: {mc['cpu']}, {mc['cores']} cores, {mc['ram_gib']} GiB RAM, Linux {mc['kernel']}; "
               f"{mc['compiler']}; CPython {mc['python']}. Load average {results['load_before'][0]:.1f} before, "
               f"{results['load_after'][0]:.1f} after. Times are CPU time of the calling thread (user + system, "
               "page faults included; the other processes of a loaded machine do not count), the best of "
               f"{results['repetitions']} repetitions (each ≥ {results['min_time']} s) of the mean per call, "
               "both sides alike; MB/s = pickle bytes / time"
               + (" (glibc tuned to keep freed memory, both sides: --steady)" if results.get("steady") else
                  " (glibc's default allocator settings)")
               + ". Peaks are the extra resident memory of one call "
               "in a fresh process, after the same small load and dump on both sides (VmHWM after it minus "
               "the resident memory before it from /proc/self/smaps_rollup, less the file pages, i.e. code, "
               "it mapped in; input already in memory).")
    return "\n\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--payloads", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--min-time", type=float)
    ap.add_argument("--repetitions", type=int)
    ap.add_argument("--steady", action="store_true",
                    help="time both sides with glibc keeping freed memory (see timing_env)")
    ap.add_argument("--timing-only", action="store_true",
                    help="skip the peak memory, recode and whole-process measurements")
    args = ap.parse_args()
    min_time = args.min_time if args.min_time is not None else (0.01 if args.quick else 0.5)
    reps = args.repetitions if args.repetitions is not None else (1 if args.quick else 5)
    os.makedirs(args.out, exist_ok=True)
    ensure_payloads(args.payloads, args.quick)
    with open(os.path.join(args.payloads, "manifest.json")) as f:
        manifest = json.load(f)

    results = {"machine": machine(), "load_before": loadavg(), "min_time": min_time, "repetitions": reps,
               "manifest": manifest, "steady": args.steady}
    log("bench: C++ benchmarks")
    results["codec"] = codec_times(args.bin, args.payloads, args.out, min_time, reps, args.steady)
    log("bench: CPython")
    results["cpython"] = cpython_times(args.payloads, args.out, min_time, reps, args.steady)
    results["peaks"] = {}
    if not args.timing_only:
        log("bench: peak memory")
        results["peaks"] = peaks(args.bin, args.payloads, manifest)
    src = os.path.join(args.payloads, "recode.pkl")
    if not os.path.exists(src):  # --quick: the largest payload stands in
        src = os.path.join(args.payloads, max(manifest, key=lambda e: e["bytes"])["file"])
    if args.timing_only:
        pass
    elif os.path.exists(os.path.join(args.bin, "pickletool")):
        log(f"bench: recode of {src}")
        results["recode"] = recode(args.bin, src, args.out, 1 if args.quick else 3)
    else:
        log("bench: no pickletool in --bin: the recode comparison is skipped")
    if not args.timing_only and os.path.exists(os.path.join(args.bin, "pickletool")):
        log("bench: whole processes, pipes and files")
        results["whole"] = whole_process.run(args.bin, args.payloads, 1 if args.quick else 3)
    results["load_after"] = loadavg()

    text = table(results)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    dump = dict(results, codec={f"{k[0]}/{k[1]}": v for k, v in results["codec"].items()})
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dump, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
