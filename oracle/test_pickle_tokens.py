"""The tokenizer (oracle/pickle_tokens.py) on CPython's own pickles and on
the inputs where pickletools.genops stops early."""
import os
import pickle
import pickletools
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opcodes_table  # noqa: E402
import pickle_tokens  # noqa: E402


class TestTable(unittest.TestCase):
    def test_every_opcode_of_pickletools(self):
        self.assertEqual(sorted(opcodes_table.OPCODES), sorted(ord(o.code) for o in pickletools.opcodes))
        self.assertEqual(opcodes_table.OPCODES[0x8a], ("LONG1", "counted", 1, 2))
        self.assertEqual(opcodes_table.OPCODES[0x8b], ("LONG4", "counted_signed", 4, 2))
        self.assertEqual(opcodes_table.OPCODES[ord("c")], ("GLOBAL", "lines", 2, 0))
        self.assertEqual(opcodes_table.OPCODES[0x95], ("FRAME", "fixed", 8, 4))


class TestTokens(unittest.TestCase):
    VALUES = [None, 1, -(1 << 70), 1.5, "é\n", b"x" * 300, [1, (2, 3)], {"a": {1, 2}}, bytearray(b"ab"),
              frozenset([1]), pickle.PickleError]

    def test_same_ops_as_genops_on_cpython_pickles(self):
        for q in range(6):
            for v in self.VALUES:
                data = pickle.dumps(v, q)
                want = [(pos, op.name) for op, _, pos in pickletools.genops(data)]
                got = [(pos, name) for pos, name, _ in pickle_tokens.tokens(data)]
                self.assertEqual(got, want, (q, v))

    def test_arguments(self):
        data = b"\x80\x04\x8c\x03abcq\x07cos\npath\n\x8a\x02\xff\x00."
        self.assertEqual([(n, a) for _, n, a in pickle_tokens.tokens(data)],
                         [("PROTO", b"\x04"), ("SHORT_BINUNICODE", b"abc"), ("BINPUT", b"\x07"),
                          ("GLOBAL", b"os\npath"), ("LONG1", b"\xff\x00"), ("STOP", b"")])

    def test_split_complete(self):
        a, b = pickle.dumps(1, 4), pickle.dumps([2], 0)
        self.assertEqual(pickle_tokens.split_complete(a + b), ([a, b], b""))
        self.assertEqual(pickle_tokens.split_complete(a + b[:-1]), ([a], b[:-1]))
        self.assertEqual(pickle_tokens.split_complete(a + b"\xff."), ([a], b"\xff."))
        self.assertEqual(pickle_tokens.pickle_end(b"X\xff\xff\xff\x7fab."), None)   # length past the end
        self.assertEqual(pickle_tokens.pickle_end(b"\x8b\xff\xff\xff\xff."), None)   # LONG4, negative length

    def test_non_ascii_global_genops_refuses(self):
        data = b"c\xe9\nx\n."
        with self.assertRaises(Exception):
            list(pickletools.genops(data))
        self.assertEqual(pickle_tokens.pickle_end(data), len(data))

    def test_memo_indices_c_style_put_and_every_pickle(self):
        data = b"Np3\x00zz\n.\x80\x04Nr\x00\x00\x40\x00.Nq\x05."
        self.assertEqual(pickle_tokens.memo_indices(data), [3, 0x400000, 5])
        self.assertEqual(pickle_tokens.memo_indices(b"Np 12 \n0Nr\x01"), [12])   # stops at the cut


if __name__ == "__main__":
    unittest.main()
