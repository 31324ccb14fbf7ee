"""ci/diffcheck's worker: one input at a time, CPython's answer through the
oracle and pickletool's at each protocol, judged by the one verdict
(oracle/verdict.py); the second reference (oracle/realclass.py) beside it.
Runs as `ci/diffcheck --worker`: JSON lines in ({"id", "path", "protocols"}),
JSON lines out."""
import json
import math
import resource
import signal
import subprocess
import sys
import time
import traceback

from lib.diff_report import byte_details

import verdict  # the oracle's (ci/diffcheck puts oracle/ on sys.path)



class Worker(object):
    def __init__(self, tool, timeout, tool_mem_mb, details, real_cpu=None):
        self.tool = tool
        self.timeout = timeout
        self.tool_mem = tool_mem_mb
        self.details = details
        # The second reference, CPython with the real classes (oracle/realclass.py),
        # when real_cpu (its CPU seconds per input) is given: a server under
        # Debian's python3.
        self.real = None
        if real_cpu:
            import realclass
            self.real = realclass.RealClassOracle(real_cpu)
        self.codec_answers = {}

    def _limit(self):
        import resource
        lim = resource.RLIM_INFINITY if not self.tool_mem else self.tool_mem << 20
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY and (lim == resource.RLIM_INFINITY or lim > hard):
            lim = hard
        resource.setrlimit(resource.RLIMIT_AS, (lim, hard))
        # The time box is CPU time (SIGXCPU at the soft limit, SIGKILL a
        # second later), so that other processes on the machine do not count.
        cpu = int(math.ceil(self.timeout))
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if cpu_hard == resource.RLIM_INFINITY or cpu + 1 <= cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    # -- the reference --
    def oracle(self, data, protocols, loader=None):
        """Per pickle: (ok, error, value, {q: (ok, bytes | error)})."""
        return verdict.oracle_answer(data, protocols, loader)

    def run_tool(self, path, q):
        t0 = time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = lambda: sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) - getattr(ru0, f)  # noqa: E731
                          for f in ("ru_utime", "ru_stime"))
        try:
            p = subprocess.run([self.tool, "recode", "--protocol", str(q), path],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=hang_guard(self.timeout), preexec_fn=self._limit)
        except subprocess.TimeoutExpired as e:
            return {"rc": None, "out": e.stdout or b"", "err": (e.stderr or b"").decode("utf-8", "replace"),
                    "secs": time.monotonic() - t0}
        except OSError as e:        # e.g. the binary is being relinked
            return {"rc": "oserror", "out": b"", "err": "cannot run %s: %s" % (self.tool, e),
                    "secs": time.monotonic() - t0}
        return {"rc": p.returncode, "out": p.stdout, "err": p.stderr.decode("utf-8", "replace"),
                "secs": time.monotonic() - t0, "cpu": cpu()}

    def process_failure(self, res, exp):
        """(kind, note) when pickletool did not answer as a process should
        (not run, hung, out of CPU time, crashed, a malformed error), or None."""
        rc, err = res["rc"], res["err"]
        if rc == "oserror":
            return "not-run", err
        if rc is None:
            return "timeout", "pickletool hung: no exit after %gs of wall time" % hang_guard(self.timeout)
        if rc in (-signal.SIGXCPU, -signal.SIGKILL) and res.get("cpu", 0) >= self.timeout:
            return "timeout", "pickletool used more than %gs of CPU time" % self.timeout
        if rc not in (0, 1):
            return "crash", ("killed by signal %d" % -rc) if rc < 0 else "exit status %d" % rc
        lines = err.splitlines()
        if rc == 1 and exp[0] != "accept" and (len(lines) != 1 or not lines[0].startswith("pickletool: error: ")):
            return "error-format", "stderr is not one 'pickletool: error: ...' line"
        return None

    def check(self, path, data, pickles, q, alt):
        """One protocol: run pickletool, then the one verdict (oracle/verdict.py).
        `alt()` gives the oracle's answer read as pickle.loads reads
        (oracle/streammode.py)."""
        exp = verdict.expectation(pickles, q)
        res = self.run_tool(path, q)
        rc, out, err = res["rc"], res["out"], res["err"]
        self.codec_answers[q] = ("accept", out) if rc == 0 else ("reject", err.strip()) if rc == 1 else None
        rec = {"q": q, "rc": rc, "secs": round(res["secs"], 4), "out_len": len(out),
               "stderr": err.strip()[:500], "expect": exp[0]}
        if exp[0] == "cannot":
            rec["status"] = "cannot"
            rec["cpython"] = exp[1]
            return rec
        if exp[0] == "reject":
            rec["cpython"] = exp[1]
        failed = self.process_failure(res, exp)
        if failed:
            rec.update(status="differ", kind=failed[0], note=failed[1])
            return rec
        codec = ("accept", out) if rc == 0 else ("reject", err.strip(), out)
        v = verdict.recode(data, q, pickles, codec, alt)
        if v.set_order:
            rec["set_order"] = v.set_order
        if v.status == verdict.SAME:
            rec["status"] = "agree"
            return rec
        rec.update(kind=v.kind, note=v.note, status="allowed" if v.status == verdict.ALLOWED else "differ")
        if v.divergence:
            rec["divergence"] = v.divergence
        if v.offset is not None:
            want = b"".join(exp[1] if exp[0] == "accept" else exp[2])
            rec.update(byte_details(want, out, v.offset, self.details))
        return rec

    def handle(self, task, emit):
        path = task["path"]
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:       # e.g. a fuzz corpus merged meanwhile
            return {"id": task["id"], "vanished": True}
        t0 = time.monotonic()
        pickles = self.oracle(data, task["protocols"])
        accepted = all(p[0] for p in pickles)
        first_err = next(("%s: %s" % (p[1][0], p[1][2]) for p in pickles if not p[0]), None)
        emit({"id": task["id"], "stage": "oracle", "secs": time.monotonic() - t0})
        checks = []
        cache = []

        def alt():
            if not cache:
                import streammode
                cache.append(self.oracle(data, task["protocols"], streammode.load_stream_peek))
            return cache[0]

        self.codec_answers = {}
        for q in task["protocols"]:
            try:
                checks.append(self.check(path, data, pickles, q, alt))
            except Exception:
                checks.append({"q": q, "status": "differ", "kind": "internal",
                               "note": "diffcheck failed: " + traceback.format_exc()[-800:]})
        if self.real is not None:
            self.real_checks(data, checks)
        return {"id": task["id"], "accepted": accepted, "npickles": len(pickles),
                "cpython_error": first_err, "checks": checks}


    def real_checks(self, data, checks):
        """The second reference: each check gets "real": {"status", "note",
        "divergence"?} from oracle/realclass.py's judge (agree, allowed,
        differ, cannot).  A codec that crashed or timed out is judged by the
        inert check alone."""
        qs = [c["q"] for c in checks if self.codec_answers.get(c["q"]) is not None]
        if not qs:
            return
        verdict = self.real.judge(data, qs, {q: self.codec_answers[q] for q in qs},
                                  {c["q"]: c.get("status") == "agree" for c in checks})
        for c in checks:
            if c["q"] not in qs:
                continue
            if "cannot" in verdict:
                c["real"] = {"status": "cannot", "note": verdict["cannot"]}
                continue
            c["real"] = verdict[c["q"]]
            # A listed divergence from the inert reference at this input and
            # protocol explains a difference from the real-class one as well.
            if c["real"]["status"] == "differ" and c.get("status") == "allowed" and c.get("divergence"):
                c["real"] = {"status": "allowed", "divergence": c["divergence"],
                             "note": "the inert check's divergence; " + c["real"].get("note", "")}


def hang_guard(cpu_seconds):
    """Wall seconds after which a pickletool call that has not used its CPU
    time (--timeout) counts as hung: generous, since a busy machine stretches
    the wall clock several times over."""
    return max(120.0, 10 * cpu_seconds)


def worker_main(args):
    import resource
    if args.oracle_mem_mb:
        lim = args.oracle_mem_mb << 20
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard == resource.RLIM_INFINITY or lim < hard:
            resource.setrlimit(resource.RLIMIT_AS, (lim, hard))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    w = Worker(args.worker_tool, args.timeout, args.tool_mem_mb, args.details,
               args.real_cpu if args.real_classes == "on" else None)
    out = sys.stdout

    def emit(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    for line in sys.stdin:
        task = json.loads(line)
        try:
            res = w.handle(task, emit)
        except Exception:
            res = {"id": task["id"], "error": traceback.format_exc()[-1500:]}
        emit(res)
    return 0
