#!/usr/bin/env python3
"""Writes the benchmark payloads: pickles of what people actually pickle.

    python3 bench/payloads.py OUT_DIR [--sizes S,L] [--protocols 2,5] [--recode]

Each payload is written at every protocol and every size as
OUT_DIR/<payload>-p<protocol>-<size>.pkl, with OUT_DIR/manifest.json listing
them. Size L is the scale the issue names (10^6 ints, 10^6 floats, 10^5 strs,
100 MB of bytes, ...); S is a tenth of it (so S -> L shows whether time and
memory grow linearly); Q is a hundredth of S, for a smoke run. --recode also
writes recode.pkl (about 100 MB, protocol 5, a mix of everything) for the
whole-process `pickletool recode` comparison.

Generation is deterministic (a seeded PRNG): the same files every run.
"""
import argparse
import json
import os
import pickle
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_types  # noqa: E402

sys.setrecursionlimit(100_000)

# Scale of each size relative to L.
SCALES = {"Q": 0.001, "S": 0.1, "L": 1.0}

FIRST = ["ana", "bo", "chen", "dmitri", "eve", "farah", "gus", "hana", "ivan", "jo", "kofi", "lena",
         "mateo", "noor", "oli", "priya", "quinn", "raúl", "sven", "tomás", "uma", "vik", "wen", "xiu",
         "yusuf", "zoë"]
CITIES = ["Lisbon", "Oslo", "Kraków", "São Paulo", "Nairobi", "Osaka", "Montréal", "Austin", "Pune",
          "Tallinn", "Zürich", "Seoul", "Lima", "Accra", "Hanoi", "Perth"]
WORDS = ["alpha", "beta", "gamma", "delta", "red", "green", "blue", "north", "south", "fast", "slow",
         "über", "naïve", "café", "東京", "данные", "🙂", "ok", "x", "value", "payload", "pickle"]


def n_of(base, scale):
    return max(1, int(base * scale))


def records(rng, scale):
    """Lists of records: dicts of str, int and float (100k records at L)."""
    cities = [sys.intern(c) for c in CITIES]
    out = []
    for i in range(n_of(100_000, scale)):
        first = rng.choice(FIRST)
        out.append({
            "id": i,
            "name": f"{first} {rng.choice(FIRST).title()}",
            "email": f"{first}.{i}@example.org",
            "city": rng.choice(cities),  # shared str objects: memo GETs, as in real data
            "age": rng.randrange(18, 90),
            "score": rng.random() * 100.0,
            "balance": round(rng.uniform(-5000, 250000), 2),
            "visits": rng.randrange(0, 1 << 20),
        })
    return out


def ints(rng, scale):
    """10^6 ints at L: small, 16-bit, 32-bit and a few 64-bit values."""
    out = []
    for _ in range(n_of(1_000_000, scale)):
        r = rng.random()
        if r < 0.3:
            out.append(rng.randrange(0, 256))
        elif r < 0.55:
            out.append(rng.randrange(256, 65536))
        elif r < 0.95:
            out.append(rng.randrange(-(1 << 31), 1 << 31))
        else:
            out.append(rng.randrange(-(1 << 63), 1 << 63))
    return out


def floats(rng, scale):
    """10^6 floats at L."""
    return [rng.gauss(0.0, 1e6) for _ in range(n_of(1_000_000, scale))]


def strs(rng, scale):
    """10^5 strs at L: mostly short ASCII words, some non-ASCII, some longer."""
    out = []
    for i in range(n_of(100_000, scale)):
        r = rng.random()
        if r < 0.6:
            s = f"{rng.choice(WORDS)}_{i}"
        elif r < 0.9:
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 8)))
        else:
            s = "".join(chr(rng.randrange(0x20, 0x7f)) for _ in range(rng.randrange(40, 200)))
        out.append(s)
    return out


def bytes_blobs(rng, scale):
    """Large bytes, 100 MB in all at L: 1 MiB blobs."""
    blob = 1 << 20
    total = n_of(100 << 20, scale)
    return [rng.randbytes(blob) for _ in range(max(1, total // blob))]


def objects(rng, scale):
    """Objects with state: 100k instances at L (plain __dict__ state, and a
    __getstate__ tuple state for every tenth)."""
    out = []
    for i in range(n_of(100_000, scale)):
        if i % 10 == 9:
            out.append(bench_types.Account(f"owner{i}", rng.uniform(0, 1e5),
                                           [rng.randrange(-1000, 1000) for _ in range(5)]))
        else:
            out.append(bench_types.Point(rng.random(), rng.random(), rng.choice(WORDS), i))
    return out


def shared(rng, scale):
    """A graph with heavy sharing: 10k node dicts and 200k edges referring to
    them (every edge endpoint is a memo GET) at L."""
    tags = [tuple(rng.sample(WORDS, 3)) for _ in range(64)]
    nodes = [{"id": i, "name": f"n{i}", "tags": rng.choice(tags)} for i in range(n_of(10_000, scale))]
    edges = [(rng.choice(nodes), rng.choice(nodes), rng.randrange(0, 100))
             for _ in range(n_of(200_000, scale))]
    return {"nodes": nodes, "edges": edges}


def deep(rng, scale):
    """Deep nesting: chains 1000 levels deep (a dict holding a list holding
    the next dict), 200 chains at L."""
    chains = []
    for c in range(n_of(200, scale)):
        x = None
        for d in range(1000):
            x = {"level": d, "next": [x, c]}
        chains.append(x)
    return chains


PAYLOADS = {
    "records": records,
    "ints": ints,
    "floats": floats,
    "strs": strs,
    "bytes": bytes_blobs,
    "objects": objects,
    "shared": shared,
    "deep": deep,
}


def recode_payload(rng):
    """About 100 MB: a bit of everything (6x L records, L ints, floats, strs,
    objects, shared graph, 25 MiB of bytes)."""
    return {
        "records": records(rng, 6.0),
        "ints": ints(rng, 1.0),
        "floats": floats(rng, 1.0),
        "strs": strs(rng, 1.0),
        "objects": objects(rng, 1.0),
        "shared": shared(rng, 1.0),
        "blobs": bytes_blobs(rng, 0.25),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--sizes", default="S,L")
    ap.add_argument("--protocols", default="2,5")
    ap.add_argument("--payloads", default=",".join(PAYLOADS))
    ap.add_argument("--recode", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for name in args.payloads.split(","):
        for size in args.sizes.split(","):
            obj = PAYLOADS[name](random.Random(f"{name}-{size}"), SCALES[size])
            for proto in (int(p) for p in args.protocols.split(",")):
                fname = f"{name}-p{proto}-{size}.pkl"
                path = os.path.join(args.out, fname)
                data = pickle.dumps(obj, protocol=proto)
                with open(path, "wb") as f:
                    f.write(data)
                manifest.append({"payload": name, "protocol": proto, "size": size,
                                 "file": fname, "bytes": len(data)})
            del obj
    if args.recode:
        data = pickle.dumps(recode_payload(random.Random("recode")), protocol=5)
        with open(os.path.join(args.out, "recode.pkl"), "wb") as f:
            f.write(data)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
