// The decoder's own rules: error codes, offsets and opcodes; every limit of
// the budget just under and just over; streams, pipes and clean ends; the
// caller's hooks (persistent ids, buffers, extensions, registered classes);
// the allowlist policy; deep and hostile inputs. CPython's accept/reject and
// messages are covered case by case in test_decode_fixtures.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>

#include "cpu_time.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/registry.hpp"

namespace {

using namespace pkl;
using namespace std::string_literals;
using namespace std::string_view_literals;

Error decode_error(std::string_view data, const DecodeOptions& o = {}) {
  try {
    decode(data, o);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "decoded without error";
  return Error(ErrorCode::Usage, "none");
}

void expect_error(std::string_view data, ErrorCode code, const std::string& message, int64_t offset, int opcode,
                  const DecodeOptions& o = {}) {
  Error e = decode_error(data, o);
  EXPECT_EQ(error_code_name(e.code()), std::string(error_code_name(code))) << e.what();
  EXPECT_EQ(e.message(), message);
  EXPECT_EQ(e.offset(), offset) << e.what();
  EXPECT_EQ(e.opcode(), opcode) << e.what();
}

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// ---- errors: codes, CPython's words, offsets, opcodes ------------------------

TEST(Decode, ErrorsCarryOffsetAndOpcode) {
  expect_error("", ErrorCode::EndOfInput, "Ran out of input", 0, Error::kNoOpcode);
  expect_error("N", ErrorCode::Truncated, "Ran out of input", 1, Error::kNoOpcode);
  expect_error("K", ErrorCode::Truncated, "pickle data was truncated", 0, op::BININT1);
  expect_error(".", ErrorCode::StackUnderflow, "unpickling stack underflow", 0, op::STOP);
  expect_error("N(.", ErrorCode::StackUnderflow, "unexpected MARK found", 2, op::STOP);
  expect_error("NN1.", ErrorCode::NoMark, "could not find MARK", 2, op::POP_MARK);
  expect_error("N\x00"s, ErrorCode::BadOpcode, "invalid load key, '\\x00'.", 1, 0);
  expect_error("NNA", ErrorCode::BadOpcode, "invalid load key, 'A'.", 2, 'A');
  expect_error("\x80\x06.", ErrorCode::BadProtocol, "unsupported pickle protocol: 6", 0, op::PROTO);
  expect_error("Nh\x05.", ErrorCode::MemoMissing, "Memo value not found at index 5", 1, op::BINGET);
  expect_error("I12x\n.", ErrorCode::BadArgument, "could not convert string to int", 0, op::INT);
  expect_error("NP1\n.", ErrorCode::NoHook,
               "A load persistent id instruction was encountered,\nbut no persistent_load function was specified.",
               1, op::PERSID);
  expect_error("\x82\x05.", ErrorCode::NoHook, "unregistered extension code 5", 0, op::EXT1);
  expect_error("}(K\x01u.", ErrorCode::BadArgument, "odd number of items for SETITEMS", 4, op::SETITEMS);
  expect_error("}]K\x01s.", ErrorCode::TypeError, "unhashable type: 'list'", 4, op::SETITEM);
  expect_error("](K\x01K\x02\x90.", ErrorCode::AttributeError, "'list' object has no attribute 'add'", 6,
               op::ADDITEMS);
  expect_error("])R.", ErrorCode::TypeError, "'list' object is not callable", 2, op::REDUCE);
  expect_error("K\x05)\x81.", ErrorCode::TypeError, "NEWOBJ class argument must be a type, not int", 3, op::NEWOBJ);
  expect_error("K\x01]b.", ErrorCode::ValueError, "state is not a dictionary", 3, op::BUILD);
  expect_error("\x97.", ErrorCode::NoHook,
               "pickle stream refers to out-of-band data but no *buffers* argument was given", 0, op::NEXT_BUFFER);
  expect_error("U\x01\x80.", ErrorCode::BadArgument,
               "'ascii' codec can't decode byte 0x80 in position 0: ordinal not in range(128)", 0,
               op::SHORT_BINSTRING);
  expect_error("\x80\x02X\x02\x00\x00\x00\xed\xa0."s, ErrorCode::BadArgument,
               "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte", 2, op::BINUNICODE);
  // The what() text adds the position to CPython's words.
  EXPECT_STREQ(decode_error("Nh\x05.").what(), "Memo value not found at index 5 at offset 1 (opcode BINGET)");
}

TEST(Decode, StopRules) {
  // STOP pops the top; items left below it are dropped, as CPython does.
  Graph g = decode("NK\x01."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Int);
  EXPECT_EQ(g.as_int(g.root()), 1);
  // A MARK left open is fine when the top is above it.
  g = decode("(N."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::None);
  // Bytes after STOP are ignored.
  g = decode("N.garbage"sv);
  EXPECT_EQ(g.kind(g.root()), Kind::None);
}

TEST(Decode, PopAndMarks) {
  EXPECT_EQ(decode("(0N."sv).kind(0), Kind::None);  // POP removes an empty MARK
  Graph g = decode("K\x01(1."sv);                     // POP_MARK of an empty mark keeps what is below
  EXPECT_EQ(g.as_int(g.root()), 1);
  expect_error("(N1.", ErrorCode::StackUnderflow, "unpickling stack underflow", 3, op::STOP);
}

TEST(Decode, SharedNodesAndIdentity) {
  Graph g = decode("]2\x86."sv);  // DUP: one list reached twice
  auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], items[1]);
  g = decode("]q\x00h\x00\x86."sv);  // memo: the same
  items = g.items(g.root());
  EXPECT_EQ(items[0], items[1]);
  g = decode("]q\x00h\x00" "a."sv);  // a list holding itself
  EXPECT_EQ(g.items(g.root())[0], g.root());
  g = decode("cmod\nC\ncmod\nC\n\x86."sv);  // one node per global
  items = g.items(g.root());
  EXPECT_EQ(items[0], items[1]);
}

// CPython 3.8+ makes a new object for a 1-byte BINBYTES family argument,
// but shares 1-byte strs and the bytes _codecs.encode or BINSTRING (as bytes)
// make: pickle.loads(b'\x80\x03(C\x01aC\x01al.') gives [b'a', b'a'] with
// l[0] is not l[1].
TEST(Decode, OneByteBytesIdentityFollowsCPython) {
  Graph g = decode("\x80\x03(C\x01" "aC\x01" "al."sv);
  EXPECT_NE(g.items(g.root())[0], g.items(g.root())[1]);
  g = decode("\x80\x03(B\x01\x00\x00\x00" "aB\x01\x00\x00\x00" "al."sv);
  EXPECT_NE(g.items(g.root())[0], g.items(g.root())[1]);
  g = decode("\x80\x03(C\x00" "C\x00" "l."sv);
  EXPECT_EQ(g.items(g.root())[0], g.items(g.root())[1]);
  g = decode("\x80\x03(X\x01\x00\x00\x00" "aX\x01\x00\x00\x00" "al."sv);
  EXPECT_EQ(g.items(g.root())[0], g.items(g.root())[1]);
  DecodeOptions as_bytes;
  as_bytes.string_encoding = StringEncoding::Bytes;
  g = decode("\x80\x02(U\x01" "aU\x01" "al."sv, as_bytes);
  EXPECT_EQ(g.items(g.root())[0], g.items(g.root())[1]);
}

// _codecs.encode, bytes() and bytearray() check their arguments as CPython
// does before any codec runs (messages from python3 3.11).
TEST(Decode, CodecsEncodeArgumentsFollowCPython) {
  const std::string head = "c_codecs\nencode\n(Vab\n";
  expect_error(head + "Vlatin0\ntR.", ErrorCode::LookupError, "unknown encoding: latin0", 30, op::REDUCE);
  expect_error(head + "Vlatin1\nI01\ntR.", ErrorCode::TypeError,
               "encode() argument 'errors' must be str, not bool", 34, op::REDUCE);
  expect_error(head + "Vlat\\u0000in1\ntR.", ErrorCode::ValueError, "embedded null character", 36, op::REDUCE);
  // A handler other than strict changes nothing when every character encodes.
  Graph g = decode(head + "Vlatin1\nVlatin1\ntR.");
  EXPECT_EQ(g.kind(g.root()), Kind::Bytes);
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  g = decode(head + "VLatin 1\ntR.");  // names normalize as codecs.lookup does
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  g = decode(head + "Vansi_x3.4_1968\ntR.");  // an alias holding a dot
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  // search_function maps '.' to '_' for aliases only: 'latin.1' is unknown.
  expect_error(head + "Vlatin.1\ntR.", ErrorCode::LookupError, "unknown encoding: latin.1", 31, op::REDUCE);
  expect_error(head + "Vmbcs\ntR.", ErrorCode::LookupError, "unknown encoding: mbcs", 28, op::REDUCE);
  // A non-str to a codec the decoder runs: CPython's TypeError, its words.
  expect_error("c_codecs\nencode\n((lVutf-8\ntR.", ErrorCode::TypeError,
               "encoding with 'utf-8' codec failed (TypeError: utf_8_encode() argument 1 must be str, not list)", 27,
               op::REDUCE);
  // So is an inert object, a global or a persistent id: CPython, with inert
  // stand-ins, refuses them too (found by fuzz_diff_cpython); the codec
  // names the type as CPython would for an instance of that class.
  expect_error("c_codecs\nencode\n(cm\nf\n)RVlatin1\ntR.", ErrorCode::TypeError,
               "encoding with 'latin1' codec failed (TypeError: latin_1_encode() argument 1 must be str, not f)", 33,
               op::REDUCE);
  expect_error("c_codecs\nencode\n(cm\nf\nVascii\ntR.", ErrorCode::TypeError,
               "encoding with 'ascii' codec failed (TypeError: ascii_encode() argument 1 must be str, not type)", 30,
               op::REDUCE);
  expect_error("c_codecs\nencode\n(cm\nf\n)RtR.", ErrorCode::TypeError,
               "encoding with 'utf-8' codec failed (TypeError: utf_8_encode() argument 1 must be str, not f)", 25,
               op::REDUCE);
  expect_error("c__builtin__\nbytearray\n(Vab\nVlatin0\ntR.", ErrorCode::LookupError, "unknown encoding: latin0",
               37, op::REDUCE);
  // The C lookup normalizes the name's UTF-8 bytes: a non-ASCII character
  // separates like punctuation (found by fuzz_diff_cpython).
  expect_error(head + "Vl\\u00baatin\ntR.", ErrorCode::LookupError, "unknown encoding: l\xc2\xba" "atin", 35,
               op::REDUCE);
  g = decode(head + "Vutf\\u00b28\ntR.");  // utf_8
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  g = decode(head + "Vascii\\u00b9\ntR.");  // ascii
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  // Encoding and errors become C strings first: a surrogate fails as UTF-8,
  // before the NUL check; the errors argument likewise.
  expect_error(head + "V\\ud800\\u0000\ntR.", ErrorCode::ValueError,
               "'utf-8' codec can't encode character '\\ud800' in position 0: surrogates not allowed", 36, op::REDUCE);
  expect_error(head + "Vlatin1\nVab\\udc80\\udc81\ntR.", ErrorCode::ValueError,
               "'utf-8' codec can't encode characters in position 2-3: surrogates not allowed", 46, op::REDUCE);
  expect_error("c__builtin__\nbytes\n(Vab\nVascii\nV\\ud801\ntR.", ErrorCode::ValueError,
               "'utf-8' codec can't encode character '\\ud801' in position 0: surrogates not allowed", 40, op::REDUCE);
}

// NEWOBJ_EX hands its kwargs dict to tp_new as it is: set and bytearray
// ignore it, frozenset refuses any, every other __new__ requires str keys
// (found by replaying fuzz_structured's corpus through fuzz_diff_cpython).
TEST(Decode, NewobjExKeywordsMustBeStrings) {
  auto newobj_ex = [](std::string_view module, std::string_view name, std::string_view kwargs_items) {
    std::string p = "\x80\x04\x8c";
    p += static_cast<char>(module.size());
    p += module;
    p += "\x8c";
    p += static_cast<char>(name.size());
    p += name;
    p += "\x93)}";
    p += kwargs_items;
    p += "\x92.";
    return p;
  };
  const std::string int_key = "K\x01K\x02s";  // {1: 2}
  expect_error(newobj_ex("foo", "Bar", int_key), ErrorCode::TypeError, "keywords must be strings", 20, op::NEWOBJ_EX);
  expect_error(newobj_ex("builtins", "bytes", int_key), ErrorCode::TypeError, "keywords must be strings", 27,
               op::NEWOBJ_EX);
  expect_error(newobj_ex("builtins", "frozenset", int_key), ErrorCode::TypeError,
               "frozenset() takes no keyword arguments", 31, op::NEWOBJ_EX);
  Graph g = decode(newobj_ex("builtins", "set", int_key));
  EXPECT_EQ(g.kind(g.root()), Kind::Set);
  g = decode(newobj_ex("builtins", "bytearray", int_key));
  EXPECT_EQ(g.kind(g.root()), Kind::ByteArray);
  g = decode(newobj_ex("foo", "Bar", "\x8c\x01xK\x02s"));  // {'x': 2}: an inert object
  EXPECT_EQ(g.kind(g.root()), Kind::Object);
}

// NEWOBJ needs a class: _codecs.encode is CPython's own function, but getattr
// and copyreg._reconstructor, outside their special shapes, are inert globals
// (§2.2, §3), which CPython with inert stand-ins accepts (found by ci/diffcheck).
TEST(Decode, NewobjOnTheSpecialGlobals) {
  expect_error("\x80\x02" "c_codecs\nencode\n)\x81."s, ErrorCode::TypeError,
               "NEWOBJ class argument must be a type, not builtin_function_or_method", 19, op::NEWOBJ);
  for (std::string name : {"cbuiltins\ngetattr\n", "ccopyreg\n_reconstructor\n"}) {
    Graph g = decode("\x80\x02" + name + "K\x01\x85\x81.");
    ASSERT_EQ(g.kind(g.root()), Kind::Object) << name;
    const ObjectData& o = g.object_data(g.root());
    EXPECT_EQ(g.global_data(o.callable).qualname, "__newobj__");
    EXPECT_EQ(g.length(o.args), 2u);
  }
}

// bytes.__new__ parses NEWOBJ_EX's kwargs as bytes(source, encoding, errors)
// does (tests/builtin_calls_test.py checks a grid of them against CPython).
TEST(Decode, NewobjExBytesKeywords) {
  auto bytes_ex = [](std::string_view kwargs_items) {
    return "\x80\x04\x8c\x08" "builtins\x8c\x05" "bytes\x93)}(" + std::string(kwargs_items) + "u\x92.";
  };
  const std::string source = "\x8c\x06sourceX\x02\x00\x00\x00\xc3\xa9"s;  // 'source': 'é'
  const std::string latin1 = "\x8c\x08" "encoding\x8c\x06latin1";
  Graph g = decode(bytes_ex(source + latin1));
  ASSERT_EQ(g.kind(g.root()), Kind::Bytes);
  EXPECT_EQ(g.as_bytes(g.root()), "\xe9");
  expect_error(bytes_ex(source), ErrorCode::TypeError, "string argument without an encoding", 39, op::NEWOBJ_EX);
  expect_error(bytes_ex(latin1), ErrorCode::TypeError, "encoding without a string argument", 42, op::NEWOBJ_EX);
  expect_error(bytes_ex(source + "\x8c\x01xK\x01"), ErrorCode::TypeError,
               "'x' is an invalid keyword argument for bytes()", 44, op::NEWOBJ_EX);
  expect_error(bytes_ex(source + latin1 + "\x8c\x06" "errorsN" "\x8c\x01xN"), ErrorCode::TypeError,
               "bytes() takes at most 3 keyword arguments (4 given)", 70, op::NEWOBJ_EX);
  expect_error(bytes_ex(latin1 + "\x8c\x06" "errorsN"), ErrorCode::TypeError,
               "bytes() argument 'errors' must be str, not None", 51, op::NEWOBJ_EX);
}

// READONLY_BUFFER on an in-band bytearray leaves a memoryview in CPython,
// which pickle.dumps refuses at every protocol (TypeError: "cannot pickle
// 'memoryview' object" from copyreg below protocol 2, "cannot pickle
// memoryview objects" from 2 on; python3 3.11), so recode must refuse it too.
TEST(Decode, ReadonlyBufferOnABytearrayIsAMemoryview) {
  Graph g = decode("\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00" "ab\x98."sv);
  ASSERT_EQ(g.kind(g.root()), Kind::Buffer);
  for (int q = 0; q <= 5; ++q) {
    try {
      encode(g, g.root(), {.protocol = q});
      ADD_FAILURE() << "encoded at protocol " << q;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::TypeError);
      EXPECT_EQ(e.message(), q < 2 ? "cannot pickle 'memoryview' object" : "cannot pickle memoryview objects");
    }
  }
}

// SETITEM on a list assigns an item: pickle.loads(b'(K\x01K\x02lK\x00K\x07s.') == [7, 2].
TEST(Decode, SetitemOnAListAssigns) {
  Graph g = decode("(K\x01K\x02lK\x00K\x07s."sv);
  auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(g.as_int(items[0]), 7);
  EXPECT_EQ(g.as_int(items[1]), 2);
  g = decode("(K\x01K\x02lJ\xfe\xff\xff\xffK\x07s."sv);  // index -2
  EXPECT_EQ(g.as_int(g.items(g.root())[0]), 7);
  expect_error("(K\x01K\x02lK\x05K\x07s."sv, ErrorCode::ValueError, "list assignment index out of range", 10,
               op::SETITEM);
}

TEST(Decode, DictKeysFollowPython) {
  Graph g = decode("(K\x01U\x01" "aI01\nU\x01" "bd."sv);  // {1: 'a', True: 'b'} keeps key 1, value 'b'
  auto items = g.dict_items(g.root());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(g.kind(items[0].first), Kind::Int);
  EXPECT_EQ(g.as_str(items[0].second), "b");
}

// ---- limits: just under and just over ------------------------------------------

TEST(DecodeLimits, Depth) {
  std::string in = std::string(10, '(') + "N.";
  DecodeOptions o;
  o.limits.max_depth = 10;
  EXPECT_NO_THROW(decode(in, o));
  o.limits.max_depth = 9;
  Error e = decode_error(in, o);
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(e.offset(), 9);
  EXPECT_EQ(e.opcode(), op::MARK);
}

TEST(DecodeLimits, MemoEntries) {
  std::string in = "N" + std::string(100, '\x94') + "h\x63.";
  DecodeOptions o;
  o.limits.max_memo_entries = 100;
  EXPECT_NO_THROW(decode(in, o));
  o.limits.max_memo_entries = 99;
  Error e = decode_error(in, o);
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(e.offset(), 100);
  EXPECT_EQ(e.opcode(), op::MEMOIZE);
  // Re-putting an index is not a new entry.
  o.limits.max_memo_entries = 1;
  EXPECT_NO_THROW(decode("Nq\x00q\x00q\x00."sv, o));
}

TEST(DecodeLimits, ContainerLength) {
  const std::string items = std::string(50, 'N');
  DecodeOptions o;
  o.limits.max_container_len = 50;
  for (const std::string& in : {"(" + items + "l.", "(" + items + "t.", "](" + items + "e.", "]" + std::string(50, '\x00')}) {
    if (in[1] == '\0') continue;
    EXPECT_NO_THROW(decode(in, o)) << in;
  }
  o.limits.max_container_len = 49;
  for (const std::string& in : {"(" + items + "l.", "(" + items + "t.", "](" + items + "e.", "}(" + std::string(50, 'K') + "u."}) {
    if (in[0] == '}') continue;
    EXPECT_EQ(decode_error(in, o).code(), ErrorCode::ResourceLimit) << in;
  }
  // Appends add up.
  o.limits.max_container_len = 3;
  EXPECT_NO_THROW(decode("](K\x01K\x02" "e(K\x03" "e."sv, o));
  EXPECT_EQ(decode_error("](K\x01K\x02" "e(K\x03K\x04" "e."sv, o).code(), ErrorCode::ResourceLimit);
}

TEST(DecodeLimits, InputBytes) {
  std::string in = "(K\x01K\x02K\x03l.";
  DecodeOptions o;
  o.limits.max_input_bytes = in.size();
  EXPECT_NO_THROW(decode(in, o));
  o.limits.max_input_bytes = in.size() - 1;
  Error e = decode_error(in, o);
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(e.offset(), static_cast<int64_t>(in.size() - 1));
  // A line running past the budget, and an argument.
  o.limits.max_input_bytes = 4;
  EXPECT_EQ(decode_error("I12345\n.", o).code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(decode_error("C\x05hello.", o).code(), ErrorCode::ResourceLimit);
  // Data that is really missing is truncated, not over budget.
  EXPECT_EQ(decode_error("C\x05h", o).code(), ErrorCode::Truncated);
  // The budget is per pickle in a stream.
  std::string two = "K\x01.K\x02.";
  o.limits.max_input_bytes = 3;
  EXPECT_EQ(decode_all(two, o).size(), 2u);
}

TEST(DecodeLimits, TotalBytes) {
  std::string in = "\x80\x04(\x8e" + le64(100000) + std::string(100000, 'x') + "C\x03" "abcl.";
  Graph full = decode(in);
  uint64_t held = full.bytes_held();
  DecodeOptions o;
  o.limits.max_total_bytes = held;
  EXPECT_NO_THROW(decode(in, o));
  o.limits.max_total_bytes = held - 1;
  EXPECT_EQ(decode_error(in, o).code(), ErrorCode::ResourceLimit);
  // bytes(n) made by a call is charged before it is built.
  o.limits.max_total_bytes = 1 << 20;
  Error e = decode_error("cbuiltins\nbytes\nJ\x00\x00\x00\x40\x85R."s, o);
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  EXPECT_EQ(e.opcode(), op::REDUCE);
}

TEST(DecodeLimits, IntDigits) {
  const std::string d4300(4300, '7');
  EXPECT_NO_THROW(decode("L" + d4300 + "L\n."));
  Error e = decode_error("L" + d4300 + "7L\n.");
  EXPECT_EQ(e.code(), ErrorCode::ValueError);
  EXPECT_EQ(e.message(),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use "
            "sys.set_int_max_str_digits() to increase the limit");
  e = decode_error("I" + d4300 + "7\n.");
  EXPECT_EQ(e.code(), ErrorCode::ValueError);
  EXPECT_EQ(e.message(), "could not convert string to int");
  DecodeOptions o;
  o.limits.max_int_digits = 10;
  EXPECT_NO_THROW(decode("L1234567890\n."sv, o));
  EXPECT_EQ(decode_error("L12345678901\n.", o).code(), ErrorCode::ValueError);
  o.limits.max_int_digits = 0;  // no limit
  Graph g = decode("L" + std::string(6000, '9') + "\n.", o);
  EXPECT_EQ(g.int_decimal(g.root()), std::string(6000, '9'));
}

// ---- declared lengths are not trusted ---------------------------------------------

// A source that records the largest read it was asked for.
class CountingSource final : public Source {
 public:
  CountingSource(std::string data, bool ahead) : data_(std::move(data)), ahead_(ahead) {}
  size_t read(void* buf, size_t n) override {
    max_request = std::max(max_request, n);
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    total += k;
    return k;
  }
  bool may_read_ahead() const override { return ahead_; }
  size_t max_request = 0, total = 0;

 private:
  std::string data_;
  size_t pos_ = 0;
  bool ahead_;
};

TEST(Decode, HugeLengthClaimFailsAsTruncated) {
  for (std::string op : {"\x8e"s, "\x8d"s, "\x96"s, "\x95"s}) {
    std::string in = "\x80\x04" + op + le64(uint64_t{1} << 62) + "abcdefghi";
    EXPECT_EQ(decode_error(in).code(), ErrorCode::Truncated);
    for (bool ahead : {false, true}) {
      CountingSource src(in, ahead);
      Decoder dec(src);
      try {
        dec.next();
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Truncated) << e.what();
      }
      EXPECT_LE(src.max_request, size_t{1} << 20);  // kilobytes, not 2^62
    }
  }
  EXPECT_EQ(decode_error("\x80\x04\x8b\xff\xff\xff\x7f"s).code(), ErrorCode::Truncated);  // LONG4 2^31-1
}

// ---- the memo -----------------------------------------------------------------

TEST(Decode, SparseMemoIsCheap) {
  Graph g = decode("K\x07r\xff\xff\xff\xff" "0j\xff\xff\xff\xff."s);
  EXPECT_EQ(g.as_int(g.root()), 7);
  // Many sparse indices, each far from the last.
  std::string in = "N";
  for (uint32_t i = 0; i < 2000; ++i) {
    uint32_t idx = 0xfffff000u - i * 1000003u;
    in += "r";
    for (int k = 0; k < 4; ++k) in += static_cast<char>((idx >> (8 * k)) & 0xff);
  }
  in += "j" + std::string("\x00\xf0\xff\xff", 4) + ".";
  double t0 = thread_cpu_seconds();
  EXPECT_EQ(decode(in).kind(0), Kind::None);
  EXPECT_LT(thread_cpu_seconds() - t0, 2.0);
  // MEMOIZE uses the number of entries, as CPython's memo_len.
  g = decode("K\x05p1000\nK\x06\x94h\x01."sv);
  EXPECT_EQ(g.as_int(g.root()), 6);
}

// ---- deep and long inputs ----------------------------------------------------------

TEST(Decode, MillionDeepLists) {
  const size_t n = 1'000'000;
  std::string in = std::string(n, ']') + std::string(n - 1, 'a') + ".";
  Graph g = decode(in);
  NodeId cur = g.root();
  size_t depth = 1;
  while (g.length(cur) == 1) {
    cur = g.items(cur)[0];
    ++depth;
  }
  EXPECT_EQ(depth, n);
}

TEST(Decode, MillionDeepMarks) {
  const size_t n = 1'000'000;
  std::string in = std::string(n, '(') + std::string(n, 'l') + ".";
  EXPECT_EQ(decode_error(in).code(), ErrorCode::ResourceLimit);  // default max_depth 100000
  DecodeOptions o;
  o.limits.max_depth = n;
  Graph g = decode(in, o);
  EXPECT_EQ(g.kind(g.root()), Kind::List);
}

TEST(Decode, MillionDeepTuplesAndDicts) {
  const size_t n = 1'000'000;
  Graph g = decode("N" + std::string(n, '\x85') + ".");
  EXPECT_EQ(g.kind(g.root()), Kind::Tuple);
  std::string in = "}";
  for (size_t i = 0; i < n; ++i) in += "K\x01}";
  for (size_t i = 0; i < n; ++i) in += "s";
  g = decode(in + ".");
  EXPECT_EQ(g.kind(g.root()), Kind::Dict);
}

TEST(Decode, LinearTime) {
  // Patterns that are quadratic in naive decoders.
  const size_t n = 1'000'000;
  std::string marks;
  for (size_t i = 0; i < n; ++i) marks += "(N1";
  std::string appends = "]";
  for (size_t i = 0; i < n / 4; ++i) appends += "(K\x01K\x02" "e";
  std::string bytearray_appends = "\x96" + le64(0);
  for (size_t i = 0; i < n / 2; ++i) bytearray_appends += "KAa";
  std::string big_stack = "](" + std::string(n, 'N') + "e";
  for (const std::string& body : {marks + "N.", appends + ".", bytearray_appends + ".", big_stack + "."}) {
    double t0 = thread_cpu_seconds();
    EXPECT_NO_THROW(decode(body));
    EXPECT_LT(thread_cpu_seconds() - t0, 5.0);
  }
  Graph g = decode(bytearray_appends + ".");
  EXPECT_EQ(g.as_bytes(g.root()), std::string(n / 2, 'A'));
}

// ---- streams ---------------------------------------------------------------------

TEST(DecodeStream, SeveralPicklesThenCleanEnd) {
  std::string data = "K\x01.\x80\x02]K\x02" "a.Vx\n.";
  MemorySource src(data);
  Decoder dec(src);
  auto a = dec.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->as_int(a->root()), 1);
  EXPECT_EQ(dec.offset(), 3u);
  auto b = dec.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind(b->root()), Kind::List);
  auto c = dec.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->as_str(c->root()), "x");
  EXPECT_FALSE(dec.next());
  EXPECT_FALSE(dec.next());
  EXPECT_EQ(dec.offset(), data.size());
  EXPECT_EQ(src.remaining().size(), 0u);
  EXPECT_EQ(decode_all(data).size(), 3u);
}

TEST(DecodeStream, TruncatedInsideAPickle) {
  for (bool ahead : {false, true}) {
    CountingSource src("K\x01.K\x02", ahead);
    Decoder dec(src);
    EXPECT_TRUE(dec.next());
    try {
      dec.next();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Truncated);
      EXPECT_EQ(e.offset(), 5);
    }
  }
  EXPECT_THROW(decode_all("N.K"), Error);
}

TEST(DecodeStream, IstreamSource) {
  std::istringstream in("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x07\x94.\x80\x02N."s);
  StreamSource src(in);
  Decoder dec(src);
  auto a = dec.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->as_int(a->root()), 7);
  auto b = dec.next();
  ASSERT_TRUE(b);
  EXPECT_FALSE(dec.next());
}

TEST(DecodeStream, ReadAheadSourceBuffersAndKeepsTheRest) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += "\x80\x04\x8c\x05hello\x94.";
  CountingSource src(data, true);
  Decoder dec(src);
  int count = 0;
  while (auto g = dec.next()) {
    EXPECT_EQ(g->as_str(g->root()), "hello");
    ++count;
  }
  EXPECT_EQ(count, 1000);
  EXPECT_GE(src.max_request, size_t{4096});  // reads in chunks
}

TEST(DecodeStream, PipeNeverReadsPastStop) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string first = "\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x8c\x05hello\x94\x85."s;
  const std::string second = "(I1\nS'x'\nl.";
  ASSERT_EQ(write(fds[1], first.data(), first.size()), static_cast<ssize_t>(first.size()));
  FdSource src(fds[0]);
  Decoder dec(src);
  // The writer keeps the pipe open: next() must return with what it has.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 50 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!done) (void)!write(fds[1], "N.", 2);  // unblock a wrong implementation
  });
  auto a = dec.next();
  done = true;
  watchdog.join();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind(a->root()), Kind::Tuple);
  EXPECT_EQ(dec.offset(), first.size());
  // The next pickle is still all in the pipe.
  ASSERT_EQ(write(fds[1], second.data(), second.size()), static_cast<ssize_t>(second.size()));
  char buf[64];
  ssize_t got = read(fds[0], buf, sizeof buf);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(got)), second);
  // Protocol 0 through the pipe, then a clean end when the writer closes.
  ASSERT_EQ(write(fds[1], second.data(), second.size()), static_cast<ssize_t>(second.size()));
  close(fds[1]);
  auto b = dec.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->length(b->root()), 2u);
  EXPECT_FALSE(dec.next());
  close(fds[0]);
}

// ---- the caller's hooks ----------------------------------------------------------------

TEST(DecodeHooks, PersistentLoad) {
  DecodeOptions o;
  std::vector<std::string> seen;
  o.persistent_load = [&](Graph& g, NodeId pid) {
    seen.push_back(g.kind(pid) == Kind::Str ? std::string(g.as_str(pid)) : "?");
    return g.persid(pid);
  };
  Graph g = decode("P42\n\x8c\x01xQ\x86."sv, o);
  auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(g.kind(items[0]), Kind::PersId);
  EXPECT_EQ(g.as_str(g.persid_value(items[0])), "42");
  EXPECT_EQ(seen, (std::vector<std::string>{"42", "x"}));
  Error e = decode_error("P\xe9\n.", o);
  EXPECT_EQ(e.message(), "persistent IDs in protocol 0 must be ASCII strings");
  EXPECT_EQ(e.code(), ErrorCode::BadArgument);
  o.persistent_load = [](Graph&, NodeId) -> NodeId { throw std::runtime_error("boom"); };
  e = decode_error("P1\n.", o);
  EXPECT_EQ(e.code(), ErrorCode::Usage);
  EXPECT_EQ(e.opcode(), op::PERSID);
}

TEST(DecodeHooks, OutOfBandBuffers) {
  DecodeOptions o;
  o.buffers = std::vector<std::string>{"abc", "de"};
  Graph g = decode("\x80\x05\x97\x97\x98\x86."sv, o);
  auto items = g.items(g.root());
  ASSERT_EQ(g.kind(items[0]), Kind::Buffer);
  EXPECT_EQ(g.buffer_data(items[0]).index, 0u);
  EXPECT_EQ(g.buffer_data(items[0]).data, "abc");
  EXPECT_FALSE(g.buffer_data(items[0]).readonly);
  EXPECT_EQ(g.buffer_data(items[1]).index, 1u);
  EXPECT_TRUE(g.buffer_data(items[1]).readonly);
  Error e = decode_error("\x97\x97\x97.", o);
  EXPECT_EQ(e.message(), "not enough out-of-band buffers");
  EXPECT_EQ(e.code(), ErrorCode::NoHook);
  EXPECT_EQ(e.offset(), 2);
  // In-band bytearray (BYTEARRAY8) and READONLY_BUFFER on bytes.
  g = decode("\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00" "ab."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::ByteArray);
  g = decode("C\x02" "ab\x98."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Bytes);
}

TEST(DecodeHooks, Extensions) {
  DecodeOptions o;
  o.extension = [](int32_t code) -> std::optional<std::pair<std::string, std::string>> {
    if (code == 0x12345678) return std::make_pair(std::string("copy_reg"), std::string("_reconstructor"));
    return std::nullopt;
  };
  Graph g = decode("\x80\x02\x84\x78\x56\x34\x12."sv, o);  // fix_imports applies to the pair
  EXPECT_EQ(g.global_data(g.root()).module, "copyreg");
  g = decode("\x80\x03\x84\x78\x56\x34\x12."sv, o);
  EXPECT_EQ(g.global_data(g.root()).module, "copy_reg");
  Error e = decode_error("\x83\x01\x01.", o);
  EXPECT_EQ(e.code(), ErrorCode::NoHook);
  EXPECT_EQ(e.message(), "unregistered extension code 257");
}

// ---- registered classes ---------------------------------------------------------------

struct Point {
  int64_t x = 0, y = 0;
  std::vector<std::string> calls;
};

ClassRegistry point_registry(bool with_set_state) {
  ClassRegistry reg;
  ClassHooks h;
  h.module = "geo";
  h.qualname = "Point";
  h.create = [](const Graph& g, NodeId args, NodeId kwargs) {
    Point p;
    p.calls.push_back("create/" + std::to_string(g.length(args)) + (kwargs == kNoNode ? "" : "+kw"));
    return std::any(p);
  };
  if (with_set_state) {
    h.set_state = [](std::any& self, const Graph& g, NodeId state) {
      std::any_cast<Point&>(self).calls.push_back(std::string("set_state/") + kind_name(g.kind(state)));
    };
  }
  h.set_attr = [](std::any& self, const Graph& g, std::string_view name, NodeId value) {
    Point& p = std::any_cast<Point&>(self);
    if (name == "x") p.x = g.as_int(value);
    if (name == "y") p.y = g.as_int(value);
    p.calls.push_back("set_attr/" + std::string(name));
  };
  reg.add(h);
  return reg;
}

const Point& point_of(const Graph& g, NodeId n) {
  EXPECT_EQ(g.kind(n), Kind::Object);
  EXPECT_EQ(g.object_data(n).class_index, 0);
  return std::any_cast<const Point&>(g.object_data(n).native);
}

TEST(DecodeRegistry, NamesDoNotMeetAcrossTheModuleBoundary) {
  // STACK_GLOBAL names may hold any character, so ("a\nb", "c") and
  // ("a", "b\nc") are two classes.
  ClassRegistry reg;
  ClassHooks h;
  h.module = "a\nb";
  h.qualname = "c";
  EXPECT_EQ(reg.add(h), 0);
  EXPECT_EQ(reg.find("a\nb", "c"), 0);
  EXPECT_EQ(reg.find("a", "b\nc"), -1);
  EXPECT_EQ(reg.find("a\nbc", ""), -1);
  h.module = "a";
  h.qualname = "b\nc";
  EXPECT_EQ(reg.add(h), 1);
  EXPECT_EQ(reg.find("a", "b\nc"), 1);
  EXPECT_EQ(reg.add(h), 1);  // re-registering replaces
  EXPECT_EQ(reg.size(), 2u);
}

TEST(DecodeRegistry, AtAnIndexOutOfRangeIsACodecError) {
  ClassRegistry reg = point_registry(false);
  EXPECT_EQ(reg.at(0).qualname, "Point");
  for (int bad : {-1, 1, 1 << 30}) {
    try {
      reg.at(bad);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const pkl::Error& e) {
      EXPECT_EQ(e.code(), pkl::ErrorCode::Usage);
      EXPECT_EQ(e.message(), "no registered class at index " + std::to_string(bad));
    }
  }
}

TEST(DecodeRegistry, NewobjAndBuild) {
  ClassRegistry reg = point_registry(false);
  DecodeOptions o;
  o.registry = &reg;
  // Protocol 2: NEWOBJ + BUILD with a dict state.
  Graph g = decode("\x80\x02" "cgeo\nPoint\n)\x81}(X\x01\x00\x00\x00xK\x01X\x01\x00\x00\x00yK\x02ub."sv, o);
  const Point& p = point_of(g, g.root());
  EXPECT_EQ(p.x, 1);
  EXPECT_EQ(p.y, 2);
  EXPECT_EQ(p.calls, (std::vector<std::string>{"create/0", "set_attr/x", "set_attr/y"}));
  // (dict, slots) state.
  g = decode("\x80\x02" "cgeo\nPoint\n)\x81N}X\x01\x00\x00\x00yK\x05s\x86" "b."sv, o);
  EXPECT_EQ(point_of(g, g.root()).y, 5);
  // Other states are refused as CPython refuses them.
  Error e = decode_error("\x80\x02" "cgeo\nPoint\n)\x81K\x01" "b.", o);
  EXPECT_EQ(e.message(), "state is not a dictionary");
  // Python 2, protocol 0: copy_reg._reconstructor(Point, object, None) then BUILD.
  g = decode("ccopy_reg\n_reconstructor\n(cgeo\nPoint\nc__builtin__\nobject\nNtR(dS'x'\nI3\nsb."sv, o);
  EXPECT_EQ(point_of(g, g.root()).x, 3);
  // Any other base: its __new__(Point, state) as CPython runs it for a plain
  // class (messages from python3 3.11, copyreg._reconstructor by hand).
  auto rec = [](std::string base) { return "ccopy_reg\n_reconstructor\n(cgeo\nPoint\n" + base + "Vab\ntR."; };
  expect_error(rec("c__builtin__\nset\n"), ErrorCode::TypeError, "set.__new__(Point): Point is not a subtype of set", 59,
               op::REDUCE, o);
  expect_error(rec("c__builtin__\nbytes\n"), ErrorCode::TypeError,
               "bytes.__new__(Point): Point is not a subtype of bytes", 61, op::REDUCE, o);
  expect_error(rec("I5\n"), ErrorCode::TypeError, "int.__new__(Point): Point is not a subtype of int", 45, op::REDUCE, o);
  expect_error(rec("N"), ErrorCode::TypeError, "NoneType.__new__(Point): Point is not a subtype of NoneType", 43,
               op::REDUCE, o);
  expect_error(rec("(l"), ErrorCode::TypeError, "list.__new__(Point): Point is not a subtype of list", 44, op::REDUCE, o);
  expect_error(rec("c_codecs\nencode\n"), ErrorCode::TypeError, "Point() takes no arguments", 58, op::REDUCE, o);
  expect_error(rec("cgeo\nPoint\n"), ErrorCode::TypeError, "Point() takes no arguments", 53, op::REDUCE, o);
  // A base the decoder does not know would run its own __new__: inert.
  g = decode(rec("cfoo\nBar\n"), o);
  ASSERT_EQ(g.kind(g.root()), Kind::Object);
  EXPECT_EQ(g.object_data(g.root()).class_index, -1);
  // REDUCE, INST and OBJ call the class.
  g = decode("cgeo\nPoint\n(K\x01K\x02tR."sv, o);
  EXPECT_EQ(point_of(g, g.root()).calls[0], "create/2");
  g = decode("(K\x01igeo\nPoint\n."sv, o);
  EXPECT_EQ(point_of(g, g.root()).calls[0], "create/1");
  // NEWOBJ_EX passes the kwargs.
  g = decode("\x80\x04" "cgeo\nPoint\n)}\x92."sv, o);
  EXPECT_EQ(point_of(g, g.root()).calls[0], "create/0+kw");
}

TEST(DecodeRegistry, SetStateTakesTheStateAsIs) {
  ClassRegistry reg = point_registry(true);
  DecodeOptions o;
  o.registry = &reg;
  Graph g = decode("\x80\x02" "cgeo\nPoint\n)\x81K\x00" "bNb."sv, o);
  EXPECT_EQ(point_of(g, g.root()).calls,
            (std::vector<std::string>{"create/0", "set_state/int", "set_state/NoneType"}));
}

// ---- the global policy -------------------------------------------------------------

TEST(DecodePolicy, AllowlistOnly) {
  DecodeOptions o;
  o.policy = GlobalPolicy::AllowlistOnly;
  expect_error("c__main__\nSimpleObject\n.", ErrorCode::NotAllowed,
               "Can't get attribute 'SimpleObject' on <module '__main__'>", 0, op::GLOBAL, o);
  expect_error("\x80\x04\x8c\x03mod\x8c\x05" "A.B.C\x93.", ErrorCode::NotAllowed,
               "Can't get attribute 'A.B.C' on <module 'mod'>", 14, op::STACK_GLOBAL, o);
  // The builtins pickle spells with a global are values, allowed.
  Graph g = decode("c__builtin__\nset\n]K\x01" "a\x85R."sv, o);
  EXPECT_EQ(g.kind(g.root()), Kind::Set);
  g = decode("\x80\x02" "c_codecs\nencode\nX\x02\x00\x00\x00" "abX\x06\x00\x00\x00latin1\x86R."sv, o);
  EXPECT_EQ(g.as_bytes(g.root()), "ab");
  // Registered classes are allowed; getattr reaching an unknown name is not.
  ClassRegistry reg = point_registry(false);
  o.registry = &reg;
  EXPECT_NO_THROW(decode("cgeo\nPoint\n."sv, o));
  expect_error("cbuiltins\ngetattr\ncgeo\nPoint\nX\x05\x00\x00\x00Inner\x86R."s, ErrorCode::NotAllowed,
               "Can't get attribute 'Point.Inner' on <module 'geo'>", 40, op::REDUCE, o);
}

TEST(DecodePolicy, InertGlobalsAndGetattr) {
  Graph g = decode("cbuiltins\ngetattr\ncmod\nOuter\nX\x05\x00\x00\x00Inner\x86R."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Global);
  EXPECT_EQ(g.global_data(g.root()).module, "mod");
  EXPECT_EQ(g.global_data(g.root()).qualname, "Outer.Inner");
  // getattr on a §2.1 builtin (CPython's own type, whose attributes are
  // real) is an ordinary inert call, re-encoded as the same REDUCE.
  g = decode("cbuiltins\ngetattr\ncbuiltins\nbytes\nX\x05\x00\x00\x00Inner\x86R."sv);
  ASSERT_EQ(g.kind(g.root()), Kind::Object);
  EXPECT_EQ(g.global_data(g.object_data(g.root()).callable).qualname, "getattr");
  EXPECT_EQ(g.global_data(g.items(g.object_data(g.root()).args)[0]).qualname, "bytes");
  // The builtin types as plain values stay globals, so they re-encode as such.
  g = decode("\x80\x02" "cbuiltins\nset\nc__builtin__\nfrozenset\n\x86."sv);
  EXPECT_EQ(g.global_data(g.items(g.root())[0]).qualname, "set");
  EXPECT_EQ(g.global_data(g.items(g.root())[1]).qualname, "frozenset");
  // fix_imports off keeps Python 2 names.
  DecodeOptions o;
  o.fix_imports = false;
  g = decode("c__builtin__\nset\n."sv, o);
  EXPECT_EQ(g.global_data(g.root()).module, "__builtin__");
}

TEST(DecodePolicy, StringEncodings) {
  DecodeOptions o;
  o.string_encoding = StringEncoding::Latin1;
  Graph g = decode("U\x02\xe9\xff."sv, o);
  EXPECT_EQ(g.as_str(g.root()), "\xc3\xa9\xc3\xbf");
  o.string_encoding = StringEncoding::Bytes;
  g = decode("S'\\xe9'\n."sv, o);
  EXPECT_EQ(g.kind(g.root()), Kind::Bytes);
  EXPECT_EQ(g.as_bytes(g.root()), "\xe9");
}

}  // namespace
