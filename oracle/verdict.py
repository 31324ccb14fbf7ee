"""The one verdict: is the codec's answer CPython's?

    same       the same answer (bytes equal, or equal up to the order of set
               items: the table's set-item-order rule, oracle/setorder.py)
    allowed    a listed divergence (oracle/divergences.py), named by its id
    different  anything else: a finding
    cannot     CPython (or the oracle standing for it) cannot answer

Every rule comes from the divergence table (oracle/divergences.py): the
exact inputs, codec-message and cannot-answer rules, and the python-only
checks (ANSWER_CHECKS there; set order, frames read as hints, and the real
classes here or in oracle/realclass.py). ci/diffcheck, fuzz/diff_cpython.py
(the fuzz target's CPython side), oracle/server.py (op "verdict") and the
tests decide through this module.

Answers:
  CPython's per pickle, as the oracle gives them (oracle/inert.py's
  LoadResult and its dumps): (ok, error, value, {q: (ok, bytes | error)});
  expectation() reduces them at one protocol to ("accept", [bytes]) |
  ("reject", message, [bytes before], exact_prefix) | ("cannot", message).
  The codec's: ("accept", bytes written) | ("reject", message, bytes written).
"""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import divergences  # noqa: E402
import pickle_tokens  # noqa: E402

SAME, ALLOWED, DIFFERENT, CANNOT = "same", "allowed", "different", "cannot"

# status, the divergence id (allowed) or None, the kind of difference
# (accept/reject, bytes, stream-prefix) or None, a note, the offset of the
# first differing byte or None, how many pickles agreed only up to set order.
Verdict = collections.namedtuple("Verdict", "status divergence kind note offset set_order")


def verdict(status, divergence=None, kind=None, note="", offset=None, set_order=0):
    return Verdict(status, divergence, kind, note, offset, set_order)


# -- the table's rules ---------------------------------------------------------

_EXACT = []


def exact_input(data):
    """The id of the entry whose input is exactly `data`, or None."""
    if not _EXACT:
        for e in divergences.DIVERGENCES:
            if not divergences.own_input_allowed(e):
                continue
            try:
                b = divergences.input_bytes(e)
            except Exception:      # a demonstration input that cannot be made here
                continue
            _EXACT.append((len(b), b, e["id"]))
    for n, b, ident in _EXACT:
        if n == len(data) and b == data:
            return ident
    return None


def cannot_answer(exception_name):
    """The entry whose cannot-answer rule names this exception type, or None."""
    for ident, r in divergences.rules("cannot-answer-exception"):
        if r["exception"] == exception_name:
            return ident
    return None


def memo_cannot_answer(data):
    """Why CPython cannot answer `data` within a harness's memory (a memo index
    past the table's limit), or None."""
    for ident, r in divergences.rules("cannot-answer-memo-index"):
        big = [i for i in pickle_tokens.memo_indices(data) if i > r["param"]]
        if big:
            return "%s: memo index %d (CPython allocates an array that long)" % (ident, big[0])
    return None


def classify(data, codec_answer, cpython_answer):
    """The id of the listed divergence a difference is, or None: the input
    exactly, then the rules that need only the answers."""
    return exact_input(data) or divergences.known_divergence(data, codec_answer, cpython_answer)


def python_check(check):
    """The id of the entry with this python-only check, or None (the check is off)."""
    return next((ident for ident, r in divergences.rules("python-only") if r["check"] == check), None)


def set_order(value, q, cpython, codec):
    """(True | False | None, note): the table's set-item-order rule, exactly
    (oracle/setorder.py): `codec` is CPython's writing of `value` at q with
    set items in some order. False when the table has no such rule."""
    if python_check("set-order") is None:
        return False, "no set-order rule in the divergence table"
    import setorder
    try:
        return setorder.set_order_equivalent(value, q, cpython, codec)
    except Exception as e:
        return None, "set-order check failed: %s: %s" % (type(e).__name__, e)


# -- a recode of a stream against the oracle's answer -----------------------------

def oracle_answer(data, protocols, loader=None, **load_kw):
    """CPython's answer through the oracle, per pickle: (ok, error, value,
    {q: (ok, bytes | error)}). loader: inert.load_stream (default: reads a
    file object) or streammode.load_stream_peek (reads as pickle.loads);
    load_kw: its options (persistent ids kept unless persistent=False)."""
    import inert
    load_kw.setdefault("persistent", True)
    try:
        results = (loader or inert.load_stream)(data, **load_kw)
    except (MemoryError, RecursionError) as e:
        return [(False, (type(e).__name__, "", str(e)), None, {})]
    out = []
    for r in results:
        per = {}
        if r.ok:
            for q in protocols:
                try:
                    per[q] = (True, inert.dumps(r.value, q, persistent=load_kw["persistent"]))
                except Exception as e:
                    per[q] = (False, inert.describe_exception(e))
        out.append((r.ok, r.error, r.value if r.ok else None, per))
    return out


def expectation(pickles, q):
    """What a recode at q must do: ("accept", [bytes]), ("reject", msg,
    [bytes before], exact_prefix) or ("cannot", msg)."""
    before = []
    for i, (ok, err, _, per) in enumerate(pickles):
        if not ok:
            msg = "%s: %s (loading pickle %d)" % (err[0], err[2], i + 1)
            if err[0] in divergences.CANNOT_ANSWER:
                return ("cannot", msg)
            return ("reject", msg, before, True)
        dok, d = per[q]
        if not dok:
            msg = "%s: %s (dumping pickle %d at protocol %d)" % (d[0], d[2], i + 1, q)
            if d[0] in divergences.CANNOT_ANSWER:
                return ("cannot", msg)
            return ("reject", msg, before, False)
        before.append(d)
    return ("accept", before)


def first_diff(a, b):
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _compare_pickles(pickles, q, expected, parts, complete):
    """CPython's pickles against the codec's, one by one, set order aside:
    -> ((offset, note) or None, how many agreed by set order)."""
    by_order = 0
    base = 0
    for i, w in enumerate(expected):
        if i >= len(parts):
            return (base, "the codec wrote %d pickles, CPython %d" % (len(parts), len(expected))), by_order
        g = parts[i]
        if w != g:
            same, note = set_order(pickles[i][2], q, w, g)
            if same is not True:
                if same is None:
                    note = "bytes differ; set-order check unavailable: " + note
                elif note.startswith("no set"):
                    note = "bytes differ"
                else:
                    note = "bytes differ (%s)" % note
                if len(expected) > 1:
                    note += " in pickle %d of %d" % (i + 1, len(expected))
                return (base + first_diff(w, g), note), by_order
            by_order += 1
        base += len(g)
    if complete and len(parts) > len(expected):
        return (base, "the codec wrote %d pickles, CPython %d" % (len(parts), len(expected))), by_order
    return None, by_order


def compare_recode(pickles, q, exp, codec):
    """The codec's answer against the expectation, no table consulted:
    a Verdict that is SAME or DIFFERENT (kind accept/reject, bytes or stream-prefix)."""
    accepted, out = codec[0] == "accept", codec[-1]
    if accepted and exp[0] == "reject":
        return verdict(DIFFERENT, kind="accept/reject", note="CPython rejects, the codec accepts")
    if not accepted and exp[0] == "accept":
        return verdict(DIFFERENT, kind="accept/reject", note="CPython accepts, the codec rejects")
    # Accepted: exactly CPython's pickles. Rejected: the pickles before the
    # rejected one (a failed dump may leave a partial one behind).
    expected = exp[1] if exp[0] == "accept" else exp[2]
    exact = exp[0] == "accept" or exp[3]
    if out == b"".join(expected):
        return verdict(SAME)
    parts, rest = pickle_tokens.split_complete(out)
    if exp[0] == "reject" and exp[3] and len(parts) > len(expected):
        return verdict(DIFFERENT, kind="accept/reject",
                       note="CPython rejects pickle %d of the stream, the codec wrote it (and rejected a later one)"
                       % (len(expected) + 1))
    d, by_order = _compare_pickles(pickles, q, expected, parts, exact)
    if d is None and exact and rest:
        d = (len(out) - len(rest), "the codec wrote %d bytes after the last whole pickle" % len(rest))
    if d is None:
        return verdict(SAME, note="same bytes up to the order of set items", set_order=by_order)
    if exp[0] == "accept":
        return verdict(DIFFERENT, kind="bytes", note=d[1], offset=d[0], set_order=by_order)
    return verdict(DIFFERENT, kind="stream-prefix", note="the pickles written before the rejected one differ: " + d[1],
                   offset=d[0], set_order=by_order)


def recode(data, q, pickles, codec, frames_as_hints=None):
    """The verdict on the codec's recode of `data` at q. pickles: the oracle's
    answer (reading a file object, oracle/inert.py load_stream);
    frames_as_hints(): the oracle's answer read as pickle.loads reads
    (oracle/streammode.py), asked only where the table's frames-as-hints rule
    could apply (a FRAME in the input)."""
    exp = expectation(pickles, q)
    if exp[0] == "cannot":
        return verdict(CANNOT, divergence=cannot_answer(exp[1].split(":", 1)[0]), note=exp[1])
    v = compare_recode(pickles, q, exp, codec)
    if v.status == SAME:
        return v
    cpython_answer = ("reject", exp[1]) if exp[0] == "reject" else ("accept", b"".join(exp[1]))
    codec_answer = ("accept", codec[-1]) if codec[0] == "accept" else ("reject", codec[1])
    try:
        ident = classify(data, codec_answer, cpython_answer)
    except Exception:
        ident = None
    if ident:
        return v._replace(status=ALLOWED, divergence=ident)
    ident = python_check("frames-as-hints")
    if ident and frames_as_hints is not None and b"\x95" in data:
        alt = frames_as_hints()
        alt_exp = expectation(alt, q)
        if alt_exp[0] != "cannot" and compare_recode(alt, q, alt_exp, codec).status == SAME:
            return v._replace(status=ALLOWED, divergence=ident,
                              note=v.note + "; the codec agrees with pickle.loads, which reads frames as hints")
    return v
