"""The one verdict (oracle/verdict.py) and the table's rules it applies."""
import os
import pickle
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import divergences  # noqa: E402
import inert  # noqa: E402
import streammode  # noqa: E402
import verdict  # noqa: E402


def oracle(data, loader=None):
    return verdict.oracle_answer(data, range(6), loader)


class TestTable(unittest.TestCase):
    def test_shape(self):
        ids = [e["id"] for e in divergences.DIVERGENCES]
        self.assertEqual(len(ids), len(set(ids)))
        kinds = {"codec-message", "cannot-answer-exception", "cannot-answer-memo-index", "graph-predicate",
                 "python-only"}
        for e in divergences.DIVERGENCES:
            self.assertIn(e["category"], divergences.CATEGORIES, e["id"])
            for r in e["rules"]:
                self.assertIn(r["rule"], kinds, e["id"])

    def test_every_id_a_consumer_names_is_in_the_table(self):
        import re
        ids = {e["id"] for e in divergences.DIVERGENCES}
        here = os.path.dirname(os.path.abspath(__file__))
        named = set()
        for f in ("realclass.py", "verdict.py"):
            with open(os.path.join(here, f)) as fh:
                named |= set(re.findall(r'"divergence": "([a-z0-9-]+)"', fh.read()))
        self.assertTrue(named >= {"real-class-reduction", "real-class-dump-refused", "real-class-load-refused"})
        self.assertEqual(named - ids, set())
        checks = {r["check"] for _, r in divergences.rules("python-only")}
        self.assertEqual(checks, {"unevaluated-codec", "empty-component-module", "frames-as-hints", "set-order",
                                  "real-class"})

    def test_cannot_answer_is_the_tables(self):
        self.assertEqual(set(inert.CANNOT_ANSWER),
                         {"MemoryError", "RecursionError", "ReplayIncomplete", "NestedOnBuiltin"})
        self.assertIs(inert.CANNOT_ANSWER, divergences.CANNOT_ANSWER)
        self.assertEqual(verdict.cannot_answer("RecursionError"), "deep-nesting-dump-recursion")
        self.assertEqual(verdict.cannot_answer("NestedOnBuiltin"), "oracle-cannot-answer")
        self.assertIsNone(verdict.cannot_answer("ValueError"))


class TestClassify(unittest.TestCase):
    def test_exact_input(self):
        e = divergences.DIVERGENCES[0]
        self.assertEqual(verdict.exact_input(divergences.input_bytes(e)), e["id"])
        self.assertIsNone(verdict.exact_input(divergences.input_bytes(e) + b"."))

    def test_codec_message_needs_cpython_to_accept(self):
        refused = ("reject", "pickletool: error: more than 100000 open MARKs (max_depth) at offset 9")
        self.assertEqual(verdict.classify(b"(", refused, ("accept", b"\x80\x04.")), "marks-over-max-depth")
        self.assertIsNone(verdict.classify(b"(", refused, ("reject", "UnpicklingError: x")))
        self.assertIsNone(verdict.classify(b"(", ("accept", b"(max_depth)"), ("accept", b"")))
        self.assertIsNone(verdict.classify(b"(", ("reject", "other"), ("accept", b"")))
        # the fuzz target's spelling of the answers
        self.assertEqual(verdict.classify(b"(", "error ResourceLimit: a container exceeds 9 items (max_container_len)",
                                          "ok (3 bytes)"), "container-over-max-len")
        self.assertEqual(verdict.classify(b"(", "error ResourceLimit: more than 9 open MARKs (max_depth)", "accepted"),
                         "marks-over-max-depth")
        self.assertIsNone(verdict.classify(b"(", "error ResourceLimit: (max_depth)", "rejected: UnpicklingError: x"))

    def test_graph_case_is_the_empty_input(self):
        # The C++ harness classifies a graph case (both sides dump a graph,
        # nothing is loaded) as the empty input (docs/harness.md, "Graph cases
        # and the python-only rows"): a dump's row applies, a load's cannot.
        refused = "error Unpicklable: Can't pickle <class 's..C'>: import of module 's.' failed"
        self.assertEqual(verdict.classify(b"", refused, "ok (5 bytes): 80044e2e00"), "empty-component-module-dump")
        self.assertIsNone(verdict.classify(b"", "error Unpicklable: Can't pickle <class 'm.C'>", "ok (5 bytes)"))
        self.assertIsNone(verdict.classify(b"", "ok (5 bytes): 00", "ok (5 bytes): 01"))
        # The same difference on the codec's bytes of a graph holding an
        # unevaluated codec call would be allowed: why a graph case is not
        # classified by its bytes.
        codec_call = divergences.input_bytes(next(e for e in divergences.DIVERGENCES
                                                  if e["id"] == "codecs-not-evaluated"))
        self.assertEqual(verdict.classify(codec_call + b"\x00", "ok (5 bytes): 00", "ok (5 bytes): 01"),
                         "codecs-not-evaluated")

    def test_memo_index_limit(self):
        at = b"\x80\x04Nr" + divergences.MAX_MEMO_INDEX.to_bytes(4, "little") + b"."
        over = b"\x80\x04Nr" + (divergences.MAX_MEMO_INDEX + 1).to_bytes(4, "little") + b"."
        self.assertIsNone(verdict.memo_cannot_answer(at))
        self.assertTrue(verdict.memo_cannot_answer(over).startswith("memo-huge-sparse-index: memo index 4194305"))
        self.assertTrue(verdict.memo_cannot_answer(b"N." + b"Np4194305\n."))   # the second pickle, PUT text


class TestRecode(unittest.TestCase):
    def test_same(self):
        data = pickle.dumps([1, "a"], 2)
        v = verdict.recode(data, 2, oracle(data), ("accept", data))
        self.assertEqual((v.status, v.divergence, v.set_order), (verdict.SAME, None, 0))

    def test_bytes_differ(self):
        data = pickle.dumps([1, "a"], 2)
        wrong = data.replace(b"K\x01", b"K\x02")
        v = verdict.recode(data, 2, oracle(data), ("accept", wrong))
        self.assertEqual((v.status, v.kind, v.offset), (verdict.DIFFERENT, "bytes", data.index(b"K\x01") + 1))

    def test_accept_reject(self):
        data = b"\x80\x02K\x01."
        v = verdict.recode(data, 2, oracle(data), ("reject", "pickletool: error: no", b""))
        self.assertEqual((v.status, v.kind, v.note), (verdict.DIFFERENT, "accept/reject",
                                                      "CPython accepts, the codec rejects"))
        bad = b"\x80\x02K"
        v = verdict.recode(bad, 2, oracle(bad), ("accept", b"\x80\x02K\x00."))
        self.assertEqual((v.status, v.kind), (verdict.DIFFERENT, "accept/reject"))

    def test_set_order_is_same(self):
        data = divergences.set_order_input()
        codec = b"\x80\x04\x95\t" + b"\x00" * 7 + b"\x8f\x94(K\x02K\x01\x90."
        v = verdict.recode(data, 4, oracle(data), ("accept", codec))
        self.assertEqual((v.status, v.set_order), (verdict.SAME, 1))

    def test_set_order_is_the_tables_rule(self):
        data = divergences.set_order_input()
        codec = b"\x80\x04\x95\t" + b"\x00" * 7 + b"\x8f\x94(K\x02K\x01\x90."
        entry = next(e for e in divergences.DIVERGENCES if e["id"] == "set-item-order")
        saved = entry["rules"]
        entry["rules"] = []
        try:
            v = verdict.recode(data, 4, oracle(data), ("accept", codec))
        finally:
            entry["rules"] = saved
        self.assertEqual((v.status, v.kind), (verdict.DIFFERENT, "bytes"))

    def test_listed_input_is_allowed(self):
        data = divergences.input_bytes(next(e for e in divergences.DIVERGENCES
                                            if e["id"] == "builtins-module-string-memo"))
        v = verdict.recode(data, 4, oracle(data), ("accept", b"\x80\x04N."))
        self.assertEqual((v.status, v.divergence), (verdict.ALLOWED, "builtins-module-string-memo"))

    def test_frames_as_hints(self):
        data = divergences.frame_file_vs_buffer_input() + b"N."   # not the listed input itself
        codec = pickle.dumps(1, 4) + pickle.dumps(2, 4) + pickle.dumps(None, 4)
        plain = oracle(data)
        v = verdict.recode(data, 4, plain, ("accept", codec))    # no second answer: a difference
        self.assertEqual((v.status, v.kind), (verdict.DIFFERENT, "accept/reject"))
        v = verdict.recode(data, 4, plain, ("accept", codec), lambda: oracle(data, streammode.load_stream_peek))
        self.assertEqual((v.status, v.divergence), (verdict.ALLOWED, "frame-read-file-vs-buffer"))
        v = verdict.recode(data, 4, plain, ("accept", codec[:-3] + b"K\x00."),
                           lambda: oracle(data, streammode.load_stream_peek))
        self.assertEqual(v.status, verdict.DIFFERENT)

    def test_cannot(self):
        data = b"](C\x01\x9fc_codecs\nencode.x\ne."
        v = verdict.recode(data, 0, oracle(data), ("accept", b""))
        self.assertEqual((v.status, v.divergence), (verdict.CANNOT, "oracle-cannot-answer"))


class TestServer(unittest.TestCase):
    """oracle/server.py answers with the same verdict (the C++ harness's server backend asks it)."""

    def test_verdict_and_classify_ops(self):
        import client
        data = divergences.set_order_input()
        codec = b"\x80\x04\x95\t" + b"\x00" * 7 + b"\x8f\x94(K\x02K\x01\x90."
        with client.OracleClient() as c:
            v = c.verdict(data, 4, ("accept", codec))
            self.assertEqual((v["status"], v["set_order"]), (verdict.SAME, 1))
            v = c.verdict(data, 4, ("accept", codec.replace(b"K\x01", b"K\x03")))
            self.assertEqual((v["status"], v["kind"]), (verdict.DIFFERENT, "bytes"))
            v = c.verdict(data, 4, ("reject", "pickletool: error: no", b""))
            self.assertEqual((v["status"], v["kind"]), (verdict.DIFFERENT, "accept/reject"))
            self.assertEqual(c.classify(b"(", "error X: more than 9 open MARKs (max_depth)", "ok (3 bytes)"),
                             "marks-over-max-depth")
            self.assertIsNone(c.classify(b"(", "ok (3 bytes)", "ok (3 bytes)"))


if __name__ == "__main__":
    unittest.main()
