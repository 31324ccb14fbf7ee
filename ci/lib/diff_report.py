"""ci/diffcheck's report: the tables per input group, the allowed checks,
every difference with the commands that reproduce it, the second
reference's table, report.json and checks.json; and the disassembly helpers."""
import difflib
import io
import json
import os
import re
import sys
import time

from lib.diff_inputs import describe_group, group_order, is_reference, rel

import pickle_tokens  # the oracle's (ci/diffcheck puts oracle/ on sys.path)

DIFFCHECK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "diffcheck")


def dis_lines(data, limit=400000):
    import pickletools
    out = io.StringIO()
    try:
        pickletools.dis(data[:limit], out=out)
    except Exception as e:
        out.write("!! %s: %s\n" % (type(e).__name__, e))
    return out.getvalue().splitlines()


def hexctx(data, off, before=12, after=20):
    lo = max(0, off - before)
    chunk = data[lo:off + after]
    return "@%d: %s%s%s" % (lo, chunk[:off - lo].hex(" "), " | " if off - lo else "| ", chunk[off - lo:].hex(" "))


def byte_details(want, got, off, full):
    d = {"offset": off, "cpython_len": len(want), "codec_len": len(got),
         "cpython_hex": hexctx(want, off), "codec_hex": hexctx(got, off)}
    a, b = dis_lines(want), dis_lines(got)
    diff = list(difflib.unified_diff(a, b, "cpython", "codec", n=2, lineterm=""))
    d["dis_diff"] = diff if full else diff[:24]
    if full:
        d["cpython_dis"] = a
        d["codec_dis"] = b
    return d


def expand(inp, protocols):
    """One record per protocol, whatever happened to the input."""
    r = inp.result or {"died": "no answer"}
    if "checks" in r:
        return r["checks"]
    if r.get("vanished"):
        return []
    if "died" in r:
        if not r.get("oracle_done"):
            why = ("CPython (the oracle) %s on this input" %
                   ("ran out of time" if r["died"] == "timeout" else "died (status %s)" % r["died"]))
            return [{"q": q, "status": "cannot", "cpython": why} for q in protocols]
        why = "the worker %s while comparing" % ("timed out" if r["died"] == "timeout" else "died")
        return [{"q": q, "status": "differ", "kind": "internal", "note": why} for q in protocols]
    return [{"q": q, "status": "differ", "kind": "internal", "note": "diffcheck failed: " + r.get("error", "?")}
            for q in protocols]


def report(inputs, protocols, args, tool, work, t_start, run_secs, details):
    tables = {}
    diffs = []
    allowed = []
    totals = {"checks": 0, "agree": 0, "differ": 0, "allowed": 0, "cannot": 0, "set_order": 0,
              "failing": 0}
    vanished = [inp for inp in inputs if (inp.result or {}).get("vanished")]
    if vanished:
        print("diffcheck: %d inputs vanished during the run (not counted), e.g. %s" % (
            len(vanished), rel(vanished[0].path)))
    inputs = [inp for inp in inputs if not (inp.result or {}).get("vanished")]
    for inp in inputs:
        t = tables.setdefault(inp.group, {"inputs": 0, "rows": {q: dict(n=0, acc=0, agree=0, differ=0, allowed=0,
                                                                         cannot=0, set_order=0) for q in protocols}})
        t["inputs"] += 1
        for c in expand(inp, protocols) or []:
            row = t["rows"][c["q"]]
            row["n"] += 1
            totals["checks"] += 1
            if c.get("expect") == "accept":
                row["acc"] += 1
            st = c["status"]
            row[st] += 1
            totals[st] += 1
            if c.get("set_order"):
                row["set_order"] += 1
                totals["set_order"] += 1
            if st == "differ":
                fails = args.fail_on == "all" or not inp.group[:1].isdigit() or is_reference(inp.group)
                if fails:
                    totals["failing"] += 1
                diffs.append((inp, c, fails))
            elif st in ("allowed", "cannot"):
                allowed.append((inp, c))

    for g in sorted(tables, key=group_order):
        t = tables[g]
        print()
        print("== %s: %d inputs" % (describe_group(g), t["inputs"]))
        print("   %2s %7s %8s %7s %7s %8s %7s" % ("q", "inputs", "cpy-acc", "agree", "differ", "allowed", "cannot"))
        for q in protocols:
            r = t["rows"][q]
            print("   %2d %7d %8d %7d %7d %8d %7d%s" % (
                q, r["n"], r["acc"], r["agree"], r["differ"], r["allowed"], r["cannot"],
                ("   (%d agree up to set order)" % r["set_order"]) if r["set_order"] else ""))

    if allowed:
        print()
        print("-- allowed (%d checks): divergences of oracle/divergences.py, or inputs CPython "
              "cannot answer" % len(allowed))
        seen = {}
        for inp, c in allowed:
            why = ("divergence " + c["divergence"]) if c.get("divergence") else (
                "CPython cannot answer: " + re.sub(r" at protocol \d", "", c.get("cpython", ""))[:200]
                .replace("\n", "\\n"))
            codec = {0: "codec accepts", 1: "codec rejects: " + c.get("stderr", "")[:120].replace("\n", "\\n")}.get(
                c.get("rc"), "codec: %s" % c.get("kind", c.get("rc")))
            seen.setdefault((rel(inp.path), why, codec), []).append(c["q"])
        for (path, why, codec), qs in sorted(seen.items()):
            print("   %s q=%s: %s; %s" % (path, ",".join(map(str, qs)), why, codec))

    if diffs:
        print()
        print("-- differences (%d)" % len(diffs))
        for n, (inp, c, fails) in enumerate(diffs):
            if args.max_listed and n >= args.max_listed:
                print("   ... %d more (see %s)" % (len(diffs) - n, rel(os.path.join(work, "report.json"))))
                break
            print_difference(n + 1, inp, c, tool, fails, details)

    if diffs:
        print()
        print("-- differences by kind")
        kinds = {}
        for inp, c, fails in diffs:
            key = (c.get("kind", "?"), re.sub(r"\d+", "N", c.get("note", ""))[:70])
            k = kinds.setdefault(key, [0, set(), set()])
            k[0] += 1
            k[1].add(inp.path)
            k[2].add(inp.group)
        for (kind, note), (n, paths, groups) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
            print("   %5d checks, %4d inputs  %s: %s  [%s]" % (
                n, len(paths), kind, note, ", ".join(sorted(groups, key=group_order))[:120]))

    real = real_report(inputs, protocols, args, tool) if args.real_classes == "on" else None

    out = {"tool": tool, "totals": totals, "seed": args.seed, "real_classes": real,
           "tables": {g: {"inputs": t["inputs"], "rows": t["rows"]} for g, t in tables.items()},
           "differences": [{"path": inp.path, "group": inp.group, "check": c, "fails": f} for inp, c, f in diffs]}
    try:
        with open(os.path.join(work, "report.json"), "w") as f:
            json.dump(out, f, indent=1, default=str)
    except OSError:
        pass
    # Every check, compact (tests/realworld_test.py counts them per reference).
    keep = ("q", "status", "kind", "note", "divergence", "real")
    try:
        with open(os.path.join(work, "checks.json"), "w") as f:
            json.dump([{"path": inp.path, "group": inp.group,
                        "checks": [{k: c[k] for k in keep if k in c} for c in expand(inp, protocols)]}
                       for inp in inputs], f, default=str)
    except OSError:
        pass

    secs = time.monotonic() - t_start
    print()
    failed = totals["failing"] > 0 or bool(real and real["failing"])
    if real:
        print("diffcheck: real classes: %d inputs answered, %d checks, %d agree, %d allowed, %d differ, "
              "%d open (known codec bugs); %d inputs it cannot answer" % (
                  real["inputs"], real["checks"], real["agree"], real["allowed"], real["differ"] - real["open"],
                  real["open"], real["cannot_inputs"]))
    print("diffcheck: %d checks, %d agree, %d differ, %d allowed (%d CPython cannot answer); "
          "%d inputs; %.0fs; %s" % (totals["checks"], totals["agree"], totals["differ"],
                                     totals["allowed"] + totals["cannot"], totals["cannot"],
                                     len(inputs), secs, "FAIL" if failed else "PASS"))
    return 1 if failed else 0


def real_report(inputs, protocols, args, tool):
    """The second reference's tables: per group, the checks of inputs it
    answered (every global imports from the allowlist), agree / allowed
    (a real-class-* divergence) / differ; then the allowed ones by entry
    and every difference."""
    import known_open
    groups = {}
    tot = {"inputs": 0, "checks": 0, "agree": 0, "allowed": 0, "differ": 0, "open": 0, "cannot_inputs": 0,
           "failing": 0}
    opened = {}
    by_div = {}
    diffs = []
    cannot_why = {}
    for inp in inputs:
        checks = [c for c in (inp.result or {}).get("checks", []) if "real" in c]
        if not checks:
            continue
        g = groups.setdefault(inp.group, {q: dict(agree=0, allowed=0, differ=0) for q in protocols})
        g.setdefault("inputs", 0)
        g.setdefault("cannot", 0)
        if all(c["real"]["status"] == "cannot" for c in checks):
            g["cannot"] += 1
            tot["cannot_inputs"] += 1
            why = re.sub(r"\d+", "N", checks[0]["real"].get("note", ""))[:90]
            cannot_why[why] = cannot_why.get(why, 0) + 1
            continue
        g["inputs"] += 1
        tot["inputs"] += 1
        for c in checks:
            st = c["real"]["status"]
            if st not in ("agree", "allowed", "differ"):
                continue
            g[c["q"]][st] += 1
            tot["checks"] += 1
            tot[st] += 1
            if st == "allowed":
                d = c["real"].get("divergence", "?")
                by_div[d] = by_div.get(d, 0) + 1
            elif st == "differ":
                i = known_open.match(inp.path, "real", c["real"].get("note", ""))
                if i is not None:       # a known open bug (oracle/known_open.py): listed, not failing
                    opened[i] = opened.get(i, 0) + 1
                    tot["open"] += 1
                    continue
                fails = args.fail_on == "all" or not inp.group[:1].isdigit() or is_reference(inp.group)
                tot["failing"] += fails
                diffs.append((inp, c))
    print()
    print("== the second reference, CPython with the real classes (oracle/realclass.py)")
    print("   %-12s %2s %7s %7s %8s %7s  %s" % ("group", "q", "inputs", "agree", "allowed", "differ",
                                              "(inputs it cannot answer)"))
    for name in sorted(groups, key=group_order):
        g = groups[name]
        for q in protocols:
            r = g[q]
            print("   %-12s %2d %7d %7d %8d %7d  %s" % (name[:12], q, g["inputs"], r["agree"], r["allowed"],
                                                     r["differ"], g["cannot"] if q == protocols[0] else ""))
    if by_div:
        print("   allowed: " + ", ".join("%s %d" % kv for kv in sorted(by_div.items())))
    for i, n in sorted(opened.items()):
        pattern, _, _, why = known_open.KNOWN_OPEN[i]
        print("   open (a known codec bug, oracle/known_open.py), %d checks of %s: %s" % (n, pattern, why[:160]))
    if cannot_why:
        print("   cannot answer, most frequent reasons:")
        for why, n in sorted(cannot_why.items(), key=lambda kv: -kv[1])[:8]:
            print("     %5d  %s" % (n, why))
    if diffs:
        print()
        print("-- differences from the real-class reference (%d)" % len(diffs))
        me = rel(DIFFCHECK)
        for n, (inp, c) in enumerate(diffs):
            if args.max_listed and n >= args.max_listed:
                print("   ... %d more" % (len(diffs) - n))
                break
            print("[R%d] %s q=%d (%s): %s" % (n + 1, rel(inp.path), c["q"], inp.group, c["real"].get("note", "")[:300]))
            print("    reproduce: %s recode --protocol %d %s | python3 %s --dis" % (rel(tool), c["q"], rel(inp.path), me))
            print("    cpython:   /usr/bin/python3 oracle/realclass.py --dump %d %s | python3 %s --dis" % (
                c["q"], rel(inp.path), me))
    return tot


def print_difference(n, inp, c, tool, fails, details):
    q = c["q"]
    path = rel(inp.path)
    print()
    print("[%d] %s  q=%d  (%s%s)%s" % (n, path, q, describe_group(inp.group),
                                       ("; " + inp.desc[:80]) if inp.desc else "", "" if fails else "  [reported]"))
    print("    %s: %s" % (c.get("kind", "?"), c.get("note", "")))
    exp = c.get("expect")
    if exp == "accept":
        print("    cpython: accepts")
    elif exp == "reject":
        print("    cpython: rejects: %s" % c.get("cpython", "")[:300].replace("\n", "\\n"))
    rc = c.get("rc")
    if rc == 0:
        print("    codec:   accepts (%d bytes written)" % c.get("out_len", 0))
    elif rc == 1:
        print("    codec:   rejects: %s" % c.get("stderr", "")[:300].replace("\n", "\\n"))
    elif rc is not None:
        print("    codec:   exit %s %s" % (rc, c.get("stderr", "")[:300].replace("\n", "\\n")))
    if "offset" in c:
        print("    first difference at byte %d (cpython %d bytes, codec %d bytes)" % (
            c["offset"], c["cpython_len"], c["codec_len"]))
        print("      cpython %s" % c["cpython_hex"])
        print("      codec   %s" % c["codec_hex"])
        dd = c.get("dis_diff") or []
        if dd:
            print("    disassembly (- cpython, + codec):")
            for line in dd[2:] if len(dd) > 2 else dd:
                print("      " + line[:160])
    if details and "cpython_dis" in c:
        print("    cpython disassembly:")
        for line in c["cpython_dis"][:400]:
            print("      " + line[:160])
        print("    codec disassembly:")
        for line in c["codec_dis"][:400]:
            print("      " + line[:160])
    me = rel(DIFFCHECK)
    print("    reproduce: %s recode --protocol %d %s | python3 %s --dis" % (rel(tool), q, path, me))
    print("    cpython:   python3 %s --oracle-dump %d %s | python3 %s --dis" % (me, q, path, me))
    print("    rerun:     python3 %s --bin %s --input %s --protocol %d" % (me, rel(os.path.dirname(tool)), path, q))


def dis_stream(path):
    """pickletools.dis of each pickle of a stream (a pipe is fine, unlike
    `python3 -m pickletools -`)."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    parts, rest = pickle_tokens.split_complete(data)
    for i, part in enumerate(parts):
        if len(parts) > 1:
            print("-- pickle %d of %d, bytes %d..%d" % (i + 1, len(parts), sum(map(len, parts[:i])),
                                                       sum(map(len, parts[:i + 1]))))
        for line in dis_lines(part):
            print(line)
    if rest or not parts:
        print("-- %d bytes that are not a whole pickle:" % len(rest))
        for line in dis_lines(rest):
            print(line)
    return 0
