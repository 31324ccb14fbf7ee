"""ci/diffcheck's inputs: the corpus (corpus/MANIFEST.tsv), the real-library
corpus, the fuzz corpora and the fresh set (oracle/gen_fresh.py), each
input with its group (the CPython that wrote it, or its kind)."""
import hashlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = "3.11"


class Input(object):
    __slots__ = ("path", "group", "source", "desc", "result", "secs")

    def __init__(self, path, group, source, desc):
        self.path, self.group, self.source, self.desc = path, group, source, desc
        self.result = None
        self.secs = 0.0


def is_reference(group):
    return group.startswith(REFERENCE + ".")


def rel(path):
    try:
        r = os.path.relpath(path, os.getcwd())
    except ValueError:
        return path
    return path if r.startswith("../..") else r


def stable_hash(s):
    return int(hashlib.sha1(s.encode("utf-8")).hexdigest()[:8], 16)


def corpus_inputs(quick, all_pythons, sample):
    rows = []
    manifest = os.path.join(ROOT, "corpus", "MANIFEST.tsv")
    with open(manifest) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            fn, py, proto, desc = parts[:4]
            group = py
            if not (all_pythons or quick or is_reference(py) or py == "crafted"):
                continue
            if quick and py != "crafted" and stable_hash(fn) % sample:
                continue
            rows.append(Input(os.path.join(ROOT, "corpus", fn), group, "corpus", desc))
    return rows


def realworld_inputs():
    """corpus/realworld (oracle/gen_realworld.py): pickles written by numpy,
    pandas, scikit-learn, torch, cloudpickle, zodbpickle and the standard library."""
    rows = []
    d = os.path.join(ROOT, "corpus", "realworld")
    try:
        f = open(os.path.join(d, "MANIFEST.tsv"), encoding="utf-8")
    except OSError:
        return rows
    with f:
        keys = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(keys, line.rstrip("\n").split("\t")))
            rows.append(Input(os.path.join(d, r["file"]), "realworld", "realworld",
                              "%s, %s, %s" % (r["writer"], r["library"], r["description"])))
    return rows


def fuzz_corpus_inputs():
    rows = []
    for target in ("fuzz_decode", "fuzz_recode"):
        d = os.path.join(ROOT, "corpus", target)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            p = os.path.join(d, fn)
            if os.path.isfile(p) and os.path.getsize(p) <= (1 << 20):
                rows.append(Input(p, "fuzz-corpus", "corpus", target))
    return rows


def fresh_inputs(args, work, log):
    import gen_fresh
    import pythons
    out = os.path.join(work, "fresh-%d" % args.seed)
    if args.quick:
        rows = gen_fresh.write_mutants(out, sorted(reference_seed_files()), args.seed, args.quick_mutants)
        rows += gen_fresh.write_edge(out)
        src = "fresh"
    else:
        found = pythons.find_pythons()
        if not args.all_pythons:
            found = [p for p in found if p.short == REFERENCE]
        rows = gen_fresh.generate(out, args.seed, args.count, args.mutants, found, live=True, log=log,
                                  mutant_sources=reference_seed_files())
        src = "fresh"
    return [Input(p, group, src, desc) for p, group, _, desc in rows], out


def reference_seed_files():
    out = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "corpus", "seeds")):
        if ("/%s." % REFERENCE) in dirpath + "/" or dirpath.endswith("crafted"):
            out += [os.path.join(dirpath, f) for f in files if f.endswith(".pickle")]
    return out


def group_order(g):
    if g and g[0].isdigit():
        try:
            return (0, tuple(int(x) for x in g.split(".")), g)
        except ValueError:
            pass
    order = {"crafted": 1, "realworld": 2, "edge": 3, "mutated": 4, "fuzz-corpus": 5}
    return (order.get(g, 6), (), g)


def describe_group(g):
    if g and g[0].isdigit():
        return "inputs written by CPython %s" % g
    return {"crafted": "hand-made seeds (corpus/seeds/crafted)",
            "edge": "edge cases (oracle/gen_fresh.py EDGE_CASES, divergence inputs)",
            "mutated": "mutants of 3.11 pickles (oracle/gen_fresh.py)",
            "fuzz-corpus": "fuzz corpora (corpus/fuzz_decode, corpus/fuzz_recode)",
            "realworld": "pickles of numpy, pandas, sklearn, torch, cloudpickle, ZODB, stdlib (corpus/realworld)",
            }.get(g, g)


def guess_group(path):
    parts = os.path.abspath(path).split(os.sep)
    for p in parts:
        if p[:1].isdigit() and p.count(".") == 2:
            return p
    for p in ("mutated", "edge", "crafted", "realworld"):
        if p in parts:
            return p
    if any(p.startswith("fuzz_") for p in parts):
        return "fuzz-corpus"
    return "given"


def safe_size(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0
