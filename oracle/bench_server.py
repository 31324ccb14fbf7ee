"""Measure the oracle server's request rate: small redump requests per second.

    python3 oracle/bench_server.py [--seconds 3]

Each request re-dumps a 1-pickle stream (a small list of str/int/stand-in
instance, protocol 4 input) at protocols 0..5, over the framed pipe.
"""

import argparse
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import OracleClient  # noqa: E402

SAMPLE = (b'\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00]\x94}\x94(\x8c\x01a\x94\x8c\x01A\x94'
          b'\x8c\x01b\x94K\x02\x8c\x01c\x94G@\x08\x00\x00\x00\x00\x00\x00ua.')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    with OracleClient() as c:
        c.version()
        for _ in range(20):               # warm-up
            c.redump(SAMPLE, [0, 1, 2, 3, 4, 5])
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < a.seconds:
            c.redump(SAMPLE, [0, 1, 2, 3, 4, 5])
            n += 1
        dt = time.perf_counter() - t0
        n1, t1 = 0, time.perf_counter()
        while time.perf_counter() - t1 < a.seconds:
            c.redump(SAMPLE, [4])
            n1 += 1
        dt1 = time.perf_counter() - t1
    print("redump (6 protocols/request): %d requests in %.2f s = %.0f requests/s" % (n, dt, n / dt))
    print("redump (1 protocol/request):  %d requests in %.2f s = %.0f requests/s" % (n1, dt1, n1 / dt1))


if __name__ == "__main__":
    main()
