// pkl::disassemble against pickletools.dis of the installed python3: exact
// listings for known pickles, then thousands of seeded cases (valid pickles
// of every protocol and fuzzed opcode arguments / opcode soups) whose
// expected listing, message, offset and opcode python3 computes at test time.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cpu_time.hpp"
#include "picklecodec/dis.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "print/dis_detail.hpp"

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Result {
  std::string out;
  bool ok = true;
  std::string message;
  int64_t offset = -1;
  int opcode = -1;
  pkl::ErrorCode code{};
};

std::string from_hex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

Result dis(const std::string& data, pkl::DisOptions options = {}) {
  Result r;
  std::ostringstream out;
  try {
    pkl::disassemble(bytes_of(data), out, options);
  } catch (const pkl::Error& e) {
    r.ok = false;
    r.message = e.message();
    r.offset = e.offset();
    r.opcode = e.opcode();
    r.code = e.code();
  }
  r.out = out.str();
  return r;
}

std::string run_python(const std::string& script, const std::string& arg_suffix = "") {
  char dir_template[] = "/tmp/pkl_dis_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (!dir) return {};
  std::string d(dir);
  std::ofstream(d + "/s.py") << script;
  std::string cmd = "python3 " + d + "/s.py " + d + "/out.bin" + arg_suffix;
  int rc = std::system(cmd.c_str());
  std::ifstream in(d + "/out.bin", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove((d + "/s.py").c_str());
  std::remove((d + "/out.bin").c_str());
  std::remove(d.c_str());
  if (rc != 0) return {};
  return ss.str();
}

TEST(Dis, SimpleListingProtocol0) {
  // pickle.dumps([1, 2, (3, 4), {b'abc': "def"}], 0), pickletools' own doctest.
  std::string p =
      "(lp0\nI1\naI2\na(I3\nI4\ntp1\na(dp2\nc_codecs\nencode\np3\n(Vabc\np4\nVlatin1\np5\ntp6\nRp7\nVdef\np8\nsa.";
  Result r = dis(p);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.out,
            "    0: (    MARK\n"
            "    1: l        LIST       (MARK at 0)\n"
            "    2: p    PUT        0\n"
            "    5: I    INT        1\n"
            "    8: a    APPEND\n"
            "    9: I    INT        2\n"
            "   12: a    APPEND\n"
            "   13: (    MARK\n"
            "   14: I        INT        3\n"
            "   17: I        INT        4\n"
            "   20: t        TUPLE      (MARK at 13)\n"
            "   21: p    PUT        1\n"
            "   24: a    APPEND\n"
            "   25: (    MARK\n"
            "   26: d        DICT       (MARK at 25)\n"
            "   27: p    PUT        2\n"
            "   30: c    GLOBAL     '_codecs encode'\n"
            "   46: p    PUT        3\n"
            "   49: (    MARK\n"
            "   50: V        UNICODE    'abc'\n"
            "   55: p        PUT        4\n"
            "   58: V        UNICODE    'latin1'\n"
            "   66: p        PUT        5\n"
            "   69: t        TUPLE      (MARK at 49)\n"
            "   70: p    PUT        6\n"
            "   73: R    REDUCE\n"
            "   74: p    PUT        7\n"
            "   77: V    UNICODE    'def'\n"
            "   82: p    PUT        8\n"
            "   85: s    SETITEM\n"
            "   86: a    APPEND\n"
            "   87: .    STOP\n"
            "highest protocol among opcodes = 0\n");
}

TEST(Dis, Protocol4FramesAndMemoize) {
  // pickle.dumps([{"a": "A", "b": 2, "c": 3.0}], 4)
  std::string p = from_hex(
      "80049523000000000000005d947d94288c0161948c0141948c016294"
      "4b028c01639447400800000000000075612e");
  Result r = dis(p);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.out,
            "    0: \\x80 PROTO      4\n"
            "    2: \\x95 FRAME      35\n"
            "   11: ]    EMPTY_LIST\n"
            "   12: \\x94 MEMOIZE    (as 0)\n"
            "   13: }    EMPTY_DICT\n"
            "   14: \\x94 MEMOIZE    (as 1)\n"
            "   15: (    MARK\n"
            "   16: \\x8c     SHORT_BINUNICODE 'a'\n"
            "   19: \\x94     MEMOIZE    (as 2)\n"
            "   20: \\x8c     SHORT_BINUNICODE 'A'\n"
            "   23: \\x94     MEMOIZE    (as 3)\n"
            "   24: \\x8c     SHORT_BINUNICODE 'b'\n"
            "   27: \\x94     MEMOIZE    (as 4)\n"
            "   28: K        BININT1    2\n"
            "   30: \\x8c     SHORT_BINUNICODE 'c'\n"
            "   33: \\x94     MEMOIZE    (as 5)\n"
            "   34: G        BINFLOAT   3.0\n"
            "   43: u        SETITEMS   (MARK at 15)\n"
            "   44: a    APPEND\n"
            "   45: .    STOP\n"
            "highest protocol among opcodes = 4\n");
}

TEST(Dis, FaultsKeepThePrintedLines) {
  // DUP turns the MARK into two plain items: TUPLE then finds no mark on
  // the stack and pickletools fails on `stack[-1]` of an empty list.
  Result r = dis("(2t.");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.out, "    0: (    MARK\n    1: 2        DUP\n    2: ");
  EXPECT_EQ(r.message, "list index out of range");
  EXPECT_EQ(r.offset, 2);
  EXPECT_EQ(r.opcode, 't');

  r = dis("Ng0\n.");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.out, "    0: N    NONE\n    1: g    GET        0\n");
  EXPECT_EQ(r.message, "memo key 0 has never been stored into");
  EXPECT_EQ(r.code, pkl::ErrorCode::MemoMissing);
  EXPECT_EQ(r.offset, 1);

  r = dis("N\x86.");
  EXPECT_EQ(r.message, "tries to pop 2 items from stack with only 1 items");
  EXPECT_EQ(r.code, pkl::ErrorCode::StackUnderflow);

  r = dis("t.");
  EXPECT_EQ(r.out, "    0: t    TUPLE      no MARK exists on stack\n");
  EXPECT_EQ(r.message, "no MARK exists on stack");
  EXPECT_EQ(r.code, pkl::ErrorCode::NoMark);

  r = dis("N");
  EXPECT_EQ(r.out, "    0: N    NONE\n");
  EXPECT_EQ(r.message, "pickle exhausted before seeing STOP");
  EXPECT_EQ(r.offset, 1);
  EXPECT_EQ(r.opcode, pkl::Error::kNoOpcode);
  EXPECT_EQ(r.code, pkl::ErrorCode::Truncated);

  r = dis("N\xff");
  EXPECT_EQ(r.message, "at position 1, opcode b'\\xff' unknown");
  EXPECT_EQ(r.offset, 1);
  EXPECT_EQ(r.opcode, 0xff);
  EXPECT_EQ(r.code, pkl::ErrorCode::BadOpcode);

  r = dis("NN.");
  EXPECT_EQ(r.out, "    0: N    NONE\n    1: N    NONE\n    2: .    STOP\nhighest protocol among opcodes = 0\n");
  EXPECT_EQ(r.message, "stack not empty after STOP: [None]");
}

TEST(Dis, DeclaredLengthsAreNotTrusted) {
  // 20 bytes claiming a 2^62-byte argument: fails at once, allocating nothing big.
  for (uint8_t op : {pkl::op::BINUNICODE8, pkl::op::BINBYTES8, pkl::op::BYTEARRAY8}) {
    std::string p(1, static_cast<char>(op));
    p += std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8);
    p += std::string(11, 'x');
    double t0 = thread_cpu_seconds();
    Result r = dis(p);
    double secs = thread_cpu_seconds() - t0;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.code, pkl::ErrorCode::Truncated);
    EXPECT_NE(r.message.find("expected 4611686018427387904 bytes in a"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("but only 11 remain"), std::string::npos) << r.message;
    EXPECT_LT(secs, 1.0);
  }
  Result r = dis(std::string("\x8e\xff\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(r.message, "bytes8 byte count > sys.maxsize: 18446744073709551615");
  r = dis(std::string("X\xff\xff\xff\xff", 5));
  EXPECT_EQ(r.message, "expected 4294967295 bytes in a unicodestring4, but only 0 remain");
  r = dis(std::string("\x8b\xff\xff\xff\x7f", 5));
  EXPECT_EQ(r.message, "not enough data in stream to read long4");
}

TEST(Dis, IntDigitLimit) {
  // LONG4 whose repr would pass 4300 digits: pickletools fails formatting the
  // line, after printing its offset.
  std::string p = "\x8b";
  uint32_t n = 1900;
  p += std::string(reinterpret_cast<const char*>(&n), 4);
  p += std::string(1900, '\x01');
  p += ".";
  Result r = dis(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.out, "    0: ");
  EXPECT_EQ(r.message,
            "Exceeds the limit (4300 digits) for integer string conversion; use "
            "sys.set_int_max_str_digits() to increase the limit");
  r = dis("I" + std::string(4301, '7') + "\n.");
  EXPECT_EQ(r.message,
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use "
            "sys.set_int_max_str_digits() to increase the limit");
  r = dis("I" + std::string(4300, '7') + "\n.");
  EXPECT_TRUE(r.ok);
}

TEST(Dis, OptionsAndStreams) {
  std::string two = std::string("\x80\x02K\x01.", 5) + "(I5\nt.";
  std::ostringstream out;
  uint64_t end = pkl::disassemble(bytes_of(two), out);
  EXPECT_EQ(end, 5u);
  pkl::DisOptions o;
  o.start = end;
  o.indentlevel = 2;
  std::ostringstream out2;
  EXPECT_EQ(pkl::disassemble(bytes_of(two), out2, o), two.size());
  EXPECT_EQ(out2.str(),
            "    5: (    MARK\n"
            "    6: I      INT        5\n"
            "    9: t      TUPLE      (MARK at 5)\n"
            "   10: .    STOP\n"
            "highest protocol among opcodes = 0\n");
}

TEST(Dis, DeepAndLongInputs) {
  // Nested MARKs: the listing grows quadratically (indentation), as
  // pickletools'; an unclosed deep nest fails at the end of input.
  double t0 = thread_cpu_seconds();
  std::ostringstream deep;
  EXPECT_THROW(pkl::disassemble(bytes_of(std::string(3000, '(')), deep), pkl::Error);
  std::ostringstream sink;
  // The full listing is quadratic in size (indentation): check a shallower one.
  std::string q(2000, '(');
  q += 'N';
  q += std::string(2000, 't');
  q += '.';
  pkl::disassemble(bytes_of(q), sink);
  EXPECT_NE(sink.str().find("highest protocol among opcodes = 0"), std::string::npos);
  // A million opcodes in a flat pickle.
  std::string flat = "]";
  for (int i = 0; i < 1000000; ++i) flat += "Na";
  flat += ".";
  std::ostringstream big;
  pkl::disassemble(bytes_of(flat), big);
  EXPECT_LT(thread_cpu_seconds() - t0, 60.0);
  EXPECT_NE(big.str().find("2000000: a    APPEND\n"), std::string::npos);
}

// ---- against python3 --------------------------------------------------------------

// Writes cases: for each, "len_data len_out len_err offset opcode\n" then the
// three byte strings; len_err -1 when pickletools accepted the input.
const char* kCasesScript = R"PY(
import io, pickle, pickletools, random, struct, sys

def opcode_label_byte(data, offset):
    return data[offset] if offset < len(data) else -1

def expected(data):
    out = io.StringIO()
    try:
        pickletools.dis(io.BytesIO(data), out)
        return out.getvalue(), None, -1, -1
    except Exception as exc:
        err = exc
    text = out.getvalue()
    ends, gexc = [], None
    try:
        for _o, _a, _p, end in pickletools._genops(io.BytesIO(data), yield_end_pos=True):
            ends.append(end)
    except Exception as e:
        gexc = e
    prefixes = [l for l in text.split("\n") if l[:5].strip().isdigit() and l[5:6] == ":"]
    if gexc is not None and len(prefixes) == len(ends) and str(gexc) == str(err) and (not text or text.endswith("\n")):
        offset = ends[-1] if ends else 0
    else:
        offset = int(prefixes[-1][:5])
    op = opcode_label_byte(data, offset)
    if str(err) == "pickle exhausted before seeing STOP":
        op = -1
    return text, str(err), offset, op

rng = random.Random(4242)
cases = []

class C:
    def __init__(self): self.x = [1, "two", 3.0]

vals = [None, True, 7, -300, 2**70, 1.25, "s\u20ac'", b"b\x00", bytearray(b"ba"), (1,), [1, [2]],
        {"k": {1, 2}}, frozenset({3}), C(), C, len]
r = []; r.append(r); vals.append(r)
for proto in range(6):
    for v in vals:
        cases.append(pickle.dumps(v, proto))

def rand_text(alphabet, n):
    return bytes(rng.choice(alphabet) for _ in range(rng.randrange(n)))

num = b"0123456789_ +-.eEinfatyLx\x00\x0b"
for _ in range(1500):
    t = rand_text(num, 12)
    cases.append(b"I" + t + b"\n.")
    cases.append(b"F" + t + b"\n.")
    if rng.random() < 0.3:
        cases.append(b"L" + t + b"\n.")
for _ in range(300):
    d = repr(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]).encode()
    cases.append(b"F" + d + b"\n.")
    cases.append(b"F" + str(rng.randrange(10**20)).encode() + b"e" + str(rng.randrange(-400, 400)).encode() + b"\n.")
    cases.append(b"G" + rng.getrandbits(64).to_bytes(8, "big") + b".")
for _ in range(600):
    raw = bytes(rng.choice([0x41, 0x80, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f])
                for _ in range(rng.randrange(7)))
    cases.append(b"X" + struct.pack("<I", len(raw)) + raw + b".")
esc = b"\\uU0123456789abcdefABCDEFxg'\"\x80\xe9 n"
for _ in range(600):
    t = rand_text(esc, 12)
    cases.append(b"V" + t + b"\n.")
    cases.append(b"S'" + t + b"'\n.")
    cases.append(b"S" + t + b"\n.")
    cases.append(b"c" + t + b"\n" + rand_text(esc, 4) + b"\n.")
    cases.append(b"P" + t + b"\n.")
for _ in range(300):
    raw = bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
    cases.append(b"\x8a" + bytes([len(raw)]) + raw + b".")
    cases.append(b"\x8b" + struct.pack("<i", len(raw)) + raw + b".")
    q = bytes(rng.choice(b"'\"\\\x00\x7f\x80\xffa\n") for _ in range(rng.randrange(5)))
    cases.append(b"\x96" + struct.pack("<Q", len(q)) + q + b".")
    cases.append(b"C" + bytes([len(q)]) + q + b".")
    cases.append(b"U" + bytes([len(q)]) + q + b".")
# Opcode soups: random opcode sequences with small valid arguments.
simple = b"()0125NQRS]abdeglostu}\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98"
argful = {b"K": lambda: bytes([rng.randrange(256)]), b"h": lambda: bytes([rng.randrange(4)]),
          b"q": lambda: bytes([rng.randrange(4)]), b"p": lambda: str(rng.randrange(4)).encode() + b"\n",
          b"g": lambda: rng.choice([b"0", b"1", b"01", b"00", b"2"]) + b"\n",
          b"\x8c": lambda: b"\x01a", b"I": lambda: b"01\n", b"\x80": lambda: bytes([rng.randrange(7)])}
for _ in range(2500):
    p = bytearray()
    for _k in range(rng.randrange(1, 14)):
        if rng.random() < 0.35:
            op = rng.choice(list(argful))
            p += op + argful[op]()
        else:
            p.append(rng.choice(simple))
    if rng.random() < 0.8:
        p += b"."
    cases.append(bytes(p))

with open(sys.argv[1], "wb") as f:
    for data in cases:
        text, err, offset, op = expected(data)
        out = text.encode("utf-8")
        e = b"" if err is None else err.encode("utf-8")
        f.write(b"%d %d %d %d %d\n" % (len(data), len(out), -1 if err is None else len(e), offset, op))
        f.write(data)
        f.write(out)
        f.write(e)
)PY";

TEST(Dis, AgreesWithPickletools) {
  std::string blob = run_python(kCasesScript);
  ASSERT_FALSE(blob.empty()) << "python3 failed";
  size_t pos = 0, count = 0, failures = 0;
  while (pos < blob.size()) {
    size_t nl = blob.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    long long ld, lo, le, off, opc;
    ASSERT_EQ(std::sscanf(blob.substr(pos, nl - pos).c_str(), "%lld %lld %lld %lld %lld", &ld, &lo, &le, &off, &opc), 5);
    pos = nl + 1;
    std::string data = blob.substr(pos, static_cast<size_t>(ld));
    pos += static_cast<size_t>(ld);
    std::string want_out = blob.substr(pos, static_cast<size_t>(lo));
    pos += static_cast<size_t>(lo);
    std::string want_err;
    if (le >= 0) {
      want_err = blob.substr(pos, static_cast<size_t>(le));
      pos += static_cast<size_t>(le);
    }
    ++count;
    Result r = dis(data);
    bool good = r.out == want_out && r.ok == (le < 0);
    if (good && le >= 0) good = r.message == want_err && r.offset == off && r.opcode == opc;
    if (!good && ++failures <= 15) {
      std::string hex;
      for (char c : data) {
        char b[4];
        std::snprintf(b, sizeof b, "%02x", static_cast<uint8_t>(c));
        hex += b;
      }
      ADD_FAILURE() << "input " << hex << "\nexpected:\n" << want_out << "[" << want_err << " @" << off << " op "
                    << opc << "]\ngot:\n" << r.out << "[" << r.message << " @" << r.offset << " op " << r.opcode
                    << "]";
    }
  }
  EXPECT_GT(count, 10000u);
  EXPECT_EQ(failures, 0u);
}

TEST(Dis, StackEffectsMatchPickletools) {
  const char* script = R"PY(
import pickletools, sys
with open(sys.argv[1], "w") as f:
    for o in pickletools.opcodes:
        f.write("%d %s->%s\n" % (ord(o.code), ",".join(s.name for s in o.stack_before),
                                  ",".join(s.name for s in o.stack_after)))
)PY";
  std::string text = run_python(script);
  ASSERT_FALSE(text.empty());
  std::istringstream lines(text);
  int code;
  std::string effect;
  int n = 0;
  while (lines >> code >> effect) {
    EXPECT_EQ(pkl::detail::dis_stack_effect(static_cast<uint8_t>(code)), effect) << "opcode " << code;
    ++n;
  }
  EXPECT_EQ(n, pkl::kOpcodeCount);
  EXPECT_EQ(pkl::detail::dis_stack_effect(0xff), "");
}

}  // namespace
