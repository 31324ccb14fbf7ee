// The disassembler: pickletools.dis, byte for byte (CPython 3.11's
// Lib/pickletools.py), without Python. Each argument is read as the opcode
// table (picklecodec/opcodes.hpp) lays it out and read as pickletools'
// reader of that name does, raising what it raises; the text parsers behind
// those readers (int(), float(), codecs, UnicodeDecodeError's words) are the
// text layer's (text/python_text.hpp, Dialect::Pickletools).
#include "picklecodec/dis.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "base/foreign.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/repr.hpp"
#include "text/bigint.hpp"
#include "text/latin1.hpp"
#include "text/python_text.hpp"

namespace pkl {
namespace {

// ---- pickletools' stack objects and stack effects -------------------------
// Both come from the generated opcode table (opcodes.hpp), the one source of
// truth; the stack holds StackObj values as bytes.

constexpr uint8_t kMark = static_cast<uint8_t>(StackObj::Mark);
constexpr uint8_t kAny = static_cast<uint8_t>(StackObj::Any);

const char* so_name(uint8_t so) { return kStackObjNames[so]; }

struct Effect {
  bool known = false;
  uint8_t nbefore = 0;
  std::array<uint8_t, 3> before{};
  uint8_t nafter = 0;
  std::array<uint8_t, 2> after{};
};

Effect effect_of(uint8_t code) {
  Effect e;
  const OpcodeInfo* info = opcode_info(code);
  if (!info) return e;
  e.known = true;
  e.nbefore = info->n_before;
  e.nafter = info->n_after;
  for (size_t i = 0; i < e.before.size(); ++i) e.before[i] = static_cast<uint8_t>(info->before[i]);
  for (size_t i = 0; i < e.after.size(); ++i) e.after[i] = static_cast<uint8_t>(info->after[i]);
  return e;
}

// ---- arguments --------------------------------------------------------------

const char* arg_name(ArgType t) { return kArgTypeNames[static_cast<size_t>(t)]; }

// The count before a counted argument, by the table's marker (-2 .. -5):
// pickletools' reader of it, whose name its truncation error gives.
constexpr std::array<ArgType, 4> kCountType = {ArgType::Uint1, ArgType::Int4, ArgType::Uint4, ArgType::Uint8};
constexpr std::array<size_t, 4> kCountWidth = {1, 4, 4, 8};

uint64_t le_unsigned(std::string_view raw) {
  uint64_t v = 0;
  for (size_t i = 0; i < raw.size(); ++i) v |= uint64_t{static_cast<uint8_t>(raw[i])} << (8 * i);
  return v;
}

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

// A memo key: pickletools' memo is a dict of Python ints. Most fit int64;
// a PUT's decimal text may not, and is then kept as its canonical text.
struct MemoKey {
  int64_t small = 0;
  std::string big;  // non-empty: the key is this decimal text
};

MemoKey key_of_decimal(const std::string& text) {
  MemoKey k;
  auto r = std::from_chars(text.data(), text.data() + text.size(), k.small);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) k.big = text;
  return k;
}

// The memo: keys from 0 up in a vector (the picklers number them so), the
// others in hash maps. The vector grows only to about twice the entries.
class Memo {
 public:
  size_t size() const { return size_; }
  std::optional<uint8_t> find(const MemoKey& k) const {
    if (k.big.empty() && k.small >= 0 && static_cast<uint64_t>(k.small) < dense_.size() &&
        dense_[static_cast<size_t>(k.small)] != 0)
      return static_cast<uint8_t>(dense_[static_cast<size_t>(k.small)] - 1);
    if (!k.big.empty()) {
      auto it = big_.find(k.big);
      if (it != big_.end()) return it->second;
    } else if (!sparse_.empty()) {
      auto it = sparse_.find(k.small);
      if (it != sparse_.end()) return it->second;
    }
    return std::nullopt;
  }
  // `k` must not be present.
  void insert(const MemoKey& k, uint8_t so) {
    ++size_;
    if (!k.big.empty()) {
      big_.emplace(k.big, so);
    } else if (k.small >= 0 && static_cast<uint64_t>(k.small) < 2 * size_ + 1024) {
      const auto i = static_cast<size_t>(k.small);
      if (i >= dense_.size()) dense_.resize(std::max(i + 1, 2 * dense_.size()), 0);
      dense_[i] = static_cast<uint8_t>(so + 1);
    } else {
      sparse_.emplace(k.small, so);
    }
  }

 private:
  std::vector<uint8_t> dense_;  // stack object + 1; 0: absent
  std::unordered_map<int64_t, uint8_t> sparse_;
  std::unordered_map<std::string, uint8_t> big_;
  size_t size_ = 0;
};

// ---- the walker ---------------------------------------------------------------

struct Arg {
  bool present = false;
  std::string repr;          // repr(arg)
  bool repr_fails = false;   // repr(arg) raises (an int over the digit limit)
  MemoKey key;               // for PUT/GET family: the int key
  // As a fresh Arg, keeping the strings' room for the next opcode's.
  void clear() {
    present = false;
    repr.clear();
    repr_fails = false;
    key.small = 0;
    key.big.clear();
  }
};

class Disassembler {
 public:
  Disassembler(std::span<const uint8_t> data, std::ostream& out, const DisOptions& options)
      : data_(data), out_(out), options_(options) {}

  uint64_t run();

 private:
  [[noreturn]] void fail(ErrorCode code, std::string message, int64_t offset, int opcode) {
    // A line being written goes out as far as its position, as pickletools
    // prints it before anything after can raise.
    if (line_at_ != kNoLine) outbuf_.resize(line_at_);
    line_at_ = kNoLine;
    flush();
    throw Error(code, std::move(message), offset, opcode);
  }
  [[noreturn]] void fail_arg(std::string message) {
    fail(ErrorCode::BadArgument, std::move(message), op_pos_, op_code_);
  }
  [[noreturn]] void truncated(std::string message) {
    pos_ = data_.size();
    fail(ErrorCode::Truncated, std::move(message), op_pos_, op_code_);
  }

  size_t remaining() const { return data_.size() - pos_; }
  std::string_view take(size_t n) {
    std::string_view v(reinterpret_cast<const char*>(data_.data()) + pos_, n);
    pos_ += n;
    return v;
  }
  // f.read(k) for a fixed-width argument or count.
  std::string_view read_fixed(size_t k, ArgType type) {
    if (remaining() < k) truncated(std::string("not enough data in stream to read ") + arg_name(type));
    return take(k);
  }
  // f.readline() that must end with a newline; returns the line without it.
  std::string_view read_line(const char* what) {
    const uint8_t* begin = data_.data() + pos_;
    const void* nl = std::memchr(begin, '\n', remaining());
    if (!nl) truncated(std::string("no newline found when trying to read ") + what);
    std::string_view line = take(static_cast<size_t>(static_cast<const uint8_t*>(nl) - begin));
    pos_ += 1;
    return line;
  }
  std::string_view read_counted(const OpcodeInfo& info);
  std::string_view read_raw(const OpcodeInfo& info);
  std::string stringnl(std::string_view data, bool stripquotes);
  void read_arg(const OpcodeInfo& info, Arg& a);
  // read_arg with a text parser's error located at this opcode.
  void located_arg(const OpcodeInfo& info, Arg& a) {
    try {
      read_arg(info, a);
    } catch (Error& e) {
      flush();
      e.locate(op_pos_, op_code_);
      throw;
    }
  }
  // The listing goes out through a buffer (a stream call per line cost a
  // quarter of the time), written out when large, before any error and at the end.
  void emit_line(std::string_view line) {
    outbuf_ += line;
    outbuf_ += '\n';
    if (outbuf_.size() >= kOutChunk) write_out();
  }
  void write_out() {
    out_.write(outbuf_.data(), static_cast<std::streamsize>(outbuf_.size()));
    outbuf_.clear();
  }
  void flush() {
    write_out();
    out_.flush();
  }
  static constexpr size_t kOutChunk = size_t{1} << 16;

  // What an opcode's line adds after its argument, and the error it then raises.
  struct Outcome {
    std::string markmsg;
    std::optional<std::pair<ErrorCode, std::string>> error;
  };
  bool step();
  size_t pop_mark(uint8_t code, const Effect& eff, Outcome& o);
  uint8_t memo_traffic(uint8_t code, const Arg& arg, Outcome& o);

  std::span<const uint8_t> data_;
  std::ostream& out_;
  DisOptions options_;
  size_t pos_ = 0;
  int64_t op_pos_ = 0;
  int op_code_ = Error::kNoOpcode;
  size_t indent_ = 0;              // blanks per open MARK
  std::vector<uint8_t> stack_;      // pickletools' crude stack (stack objects)
  Memo memo_;                       // int key -> stack object
  std::vector<int64_t> markstack_;  // positions of the open MARKs
  int maxproto_ = -1;
  // Where the line being written continues after its position; kNoLine
  // between lines.
  static constexpr size_t kNoLine = SIZE_MAX;
  size_t line_at_ = kNoLine;
  std::string outbuf_;
  // Each opcode's argument and outcome, their strings' room kept from one
  // opcode to the next.
  Arg arg_;
  Outcome outcome_;
};

// A count (the table's marker says its width and sign) then that many bytes.
std::string_view Disassembler::read_counted(const OpcodeInfo& info) {
  const auto marker = static_cast<size_t>(-2 - info.arg_bytes);  // 0..3
  const ArgType count_type = kCountType[marker];
  const std::string name = arg_name(info.arg);
  uint64_t n = le_unsigned(read_fixed(kCountWidth[marker], count_type));
  if (count_type == ArgType::Int4) {
    const auto sn = static_cast<int32_t>(static_cast<uint32_t>(n));
    if (sn < 0) fail_arg(name + " byte count < 0: " + std::to_string(sn));
  } else if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    fail_arg(name + " byte count > sys.maxsize: " + std::to_string(n));
  }
  if (n > remaining()) {
    if (info.arg == ArgType::Long1 || info.arg == ArgType::Long4)
      truncated("not enough data in stream to read " + name);
    truncated("expected " + std::to_string(n) + " bytes in a " + name + ", but only " +
              std::to_string(remaining()) + " remain");
  }
  return take(static_cast<size_t>(n));
}

// The argument's bytes as the table lays them out: a fixed width, a line
// (GLOBAL and INST read their second line as they interpret the first), or
// a count and bytes.
std::string_view Disassembler::read_raw(const OpcodeInfo& info) {
  if (info.arg_bytes > 0) return read_fixed(static_cast<size_t>(info.arg_bytes), info.arg);
  if (info.arg_bytes == -1) return read_line(info.arg == ArgType::Unicodestringnl ? "unicodestringnl" : "stringnl");
  return read_counted(info);
}

// read_stringnl(f, decode=True, stripquotes) on a line: the decoded text (ASCII).
std::string Disassembler::stringnl(std::string_view data, bool stripquotes) {
  if (stripquotes) {
    const char q = data.empty() ? 0 : data.front();
    if (q != '"' && q != '\'') fail_arg("no string quotes around " + repr_bytes(data));
    if (data.back() != q)
      fail_arg("strinq quote " + repr_bytes(std::string_view(&q, 1)) + " not found at both ends of " + repr_bytes(data));
    data = data.size() >= 2 ? data.substr(1, data.size() - 2) : std::string_view{};
  }
  std::string decoded = detail::escape_decode(data);
  detail::require_ascii(decoded);
  return decoded;
}

// decode_long's repr: decimal, or raising past the digit limit.
void long_repr(std::string_view raw, Arg& a) {
  std::span<const uint8_t> le(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  le = le.first(detail::minimal_le_length(le));
  if (detail::le_decimal_exceeds(le, detail::kIntMaxStrDigits)) {
    a.repr_fails = true;
  } else {
    a.repr = detail::le_to_decimal(le);
  }
}

// The argument read as pickletools' reader of its type reads it, as repr() shows it.
void Disassembler::read_arg(const OpcodeInfo& info, Arg& a) {
  a.clear();
  if (info.arg == ArgType::None) return;
  a.present = true;
  const std::string_view raw = read_raw(info);
  switch (info.arg) {
    case ArgType::None: break;
    case ArgType::Uint1:
    case ArgType::Uint2:
    case ArgType::Uint4:
    case ArgType::Uint8:
      a.key.small = static_cast<int64_t>(le_unsigned(raw));  // (a memo key is at most uint4)
      append_int(a.repr, le_unsigned(raw));
      break;
    case ArgType::Int4: append_int(a.repr, static_cast<int32_t>(le_unsigned(raw))); break;
    case ArgType::Float8: {
      uint64_t be = 0;  // big-endian on the wire
      for (char c : raw) be = (be << 8) | static_cast<uint8_t>(c);
      double d;
      std::memcpy(&d, &be, sizeof d);
      append_repr_float(a.repr, d);
      break;
    }
    case ArgType::Stringnl:
    case ArgType::StringnlNoescape: a.repr = repr_str(stringnl(raw, info.arg == ArgType::Stringnl)); break;
    case ArgType::StringnlNoescapePair: {
      std::string first = stringnl(raw, false);
      a.repr = repr_str(first + " " + stringnl(read_line("stringnl"), false));
      break;
    }
    case ArgType::String1:
    case ArgType::String4: append_repr_str(a.repr, detail::latin1_to_utf8(raw)); break;
    case ArgType::Bytes1:
    case ArgType::Bytes4:
    case ArgType::Bytes8:
    case ArgType::Bytearray8: a.repr = repr_bytes(raw, info.arg == ArgType::Bytearray8); break;
    case ArgType::Unicodestringnl: a.repr = repr_str(detail::raw_unicode_escape_decode(raw)); break;
    case ArgType::Unicodestring1:
    case ArgType::Unicodestring4:
    case ArgType::Unicodestring8:
      detail::require_utf8(raw, true);  // str(raw, 'utf-8', 'surrogatepass'): raw itself
      append_repr_str(a.repr, raw);
      break;
    case ArgType::DecimalnlShort:
      if (raw == "00" || raw == "01") {
        a.repr = raw == "00" ? "False" : "True";
        a.key.small = raw == "00" ? 0 : 1;
        break;
      }
      a.repr = detail::py_int_of_bytes(raw);
      a.key = key_of_decimal(a.repr);
      break;
    case ArgType::DecimalnlLong:
      a.repr = detail::py_int_of_bytes(raw.ends_with('L') ? raw.substr(0, raw.size() - 1) : raw);
      break;
    case ArgType::Floatnl: append_repr_float(a.repr, detail::py_float_of_bytes(raw)); break;
    case ArgType::Long1:
    case ArgType::Long4: long_repr(raw, a); break;
  }
}

// The opcode column: repr of the opcode byte as a latin-1 str, unquoted,
// padded to 4, then a blank (pickletools' "%-4s "), for each byte.
const std::string& code_column(uint8_t code) {
  static const std::array<std::string, 256> columns = [] {
    std::array<std::string, 256> t;
    for (int c = 0; c < 256; ++c) {
      const char ch = static_cast<char>(c);
      std::string r = repr_str(detail::latin1_to_utf8(std::string_view(&ch, 1)));
      std::string text = r.substr(1, r.size() - 2);  // all ASCII
      if (text.size() < 4) text.append(4 - text.size(), ' ');
      t[static_cast<size_t>(c)] = text + ' ';
    }
    return t;
  }();
  return columns[code];
}

// "%5d: " of a position.
void append_position(std::string& line, int64_t pos) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, pos);
  const auto len = static_cast<size_t>(r.ptr - buf);
  if (len < 5) line.append(5 - len, ' ');
  line.append(buf, len);
  line += ": ";
}

uint64_t Disassembler::run() {
  if (options_.start > data_.size()) options_.start = data_.size();
  pos_ = static_cast<size_t>(options_.start);
  indent_ = static_cast<size_t>(std::max(0, options_.indentlevel));
  while (step()) {
  }
  emit_line("highest protocol among opcodes = " + std::to_string(maxproto_));
  if (!stack_.empty()) {
    std::string msg = "stack not empty after STOP: [";
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (i) msg += ", ";
      msg += so_name(stack_[i]);
    }
    msg += "]";
    fail(ErrorCode::ValueError, std::move(msg), op_pos_, op::STOP);
  }
  flush();
  return pos_;
}

// One opcode: its line, then its effect on pickletools' stack. False after STOP.
bool Disassembler::step() {
  op_pos_ = static_cast<int64_t>(pos_);
  op_code_ = Error::kNoOpcode;
  if (pos_ >= data_.size()) fail(ErrorCode::Truncated, "pickle exhausted before seeing STOP", op_pos_, Error::kNoOpcode);
  const uint8_t code = data_[pos_++];
  op_code_ = code;
  const OpcodeInfo* info = opcode_info(code);
  if (!info) {
    char c = static_cast<char>(code);
    fail(ErrorCode::BadOpcode,
         "at position " + std::to_string(op_pos_) + ", opcode " + repr_bytes(std::string_view(&c, 1)) + " unknown",
         op_pos_, code);
  }
  Arg& arg = arg_;
  located_arg(*info, arg);
  const Effect eff = effect_of(code);

  // The line is written straight into the output buffer; fail() takes back
  // all but its position, which pickletools prints before anything below
  // can raise.
  append_position(outbuf_, op_pos_);
  line_at_ = outbuf_.size();
  outbuf_ += code_column(code);
  outbuf_.append(markstack_.size() * indent_, ' ');
  outbuf_ += info->name;
  maxproto_ = std::max(maxproto_, static_cast<int>(info->proto));

  Outcome& o = outcome_;
  o.markmsg.clear();
  o.error.reset();
  const size_t numtopop = pop_mark(code, eff, o);
  const uint8_t got = memo_traffic(code, arg, o);
  if (arg.present || !o.markmsg.empty()) {
    size_t namelen = std::strlen(info->name);
    if (namelen < 10) outbuf_.append(10 - namelen, ' ');
    if (arg.present) {
      if (arg.repr_fails)
        fail(ErrorCode::ValueError, detail::int_to_str_limit_text(detail::kIntMaxStrDigits), op_pos_, code);
      outbuf_ += ' ';
      outbuf_ += arg.repr;
    }
    if (!o.markmsg.empty()) {
      outbuf_ += ' ';
      outbuf_ += o.markmsg;
    }
  }
  outbuf_ += '\n';
  line_at_ = kNoLine;
  if (outbuf_.size() >= kOutChunk) write_out();
  if (o.error) fail(o.error->first, o.error->second, op_pos_, code);

  if (stack_.size() < numtopop)
    fail(ErrorCode::StackUnderflow,
         "tries to pop " + std::to_string(numtopop) + " items from stack with only " + std::to_string(stack_.size()) +
             " items",
         op_pos_, code);
  stack_.resize(stack_.size() - numtopop);
  if (code == op::MARK) markstack_.push_back(op_pos_);
  if (code == op::GET || code == op::BINGET || code == op::LONG_BINGET) {
    stack_.push_back(got);
  } else {
    for (int i = 0; i < eff.nafter; ++i) stack_.push_back(eff.after[static_cast<size_t>(i)]);
  }
  return code != op::STOP;
}

// An opcode that takes the stack down to its MARK (or POP of a mark): how
// many items it then pops.
size_t Disassembler::pop_mark(uint8_t code, const Effect& eff, Outcome& o) {
  int mark_index = -1;
  for (int i = 0; i < eff.nbefore; ++i)
    if (eff.before[static_cast<size_t>(i)] == kMark) {
      mark_index = i;
      break;
    }
  if (mark_index < 0 && !(code == op::POP && !stack_.empty() && stack_.back() == kMark)) return eff.nbefore;
  if (markstack_.empty()) {
    o.markmsg = "no MARK exists on stack";
    o.error = {ErrorCode::NoMark, o.markmsg};
    return eff.nbefore;
  }
  const int64_t markpos = markstack_.back();
  markstack_.pop_back();
  o.markmsg = "(MARK at ";
  append_int(o.markmsg, markpos);
  o.markmsg += ')';
  while (!stack_.empty() && stack_.back() != kMark) stack_.pop_back();
  // pickletools' `stack[-1]` on an emptied list.
  if (stack_.empty()) fail(ErrorCode::StackUnderflow, "list index out of range", op_pos_, code);
  stack_.pop_back();
  return mark_index >= 0 ? static_cast<size_t>(mark_index) : 0;
}

// PUT and GET families and MEMOIZE: the memo's answer; what GET pushes.
uint8_t Disassembler::memo_traffic(uint8_t code, const Arg& arg, Outcome& o) {
  if (code == op::GET || code == op::BINGET || code == op::LONG_BINGET) {
    if (auto so = memo_.find(arg.key)) return *so;
    o.error = {ErrorCode::MemoMissing, "memo key " + arg.repr + " has never been stored into"};
    return kAny;
  }
  if (code != op::PUT && code != op::BINPUT && code != op::LONG_BINPUT && code != op::MEMOIZE) return kAny;
  MemoKey memoize_key;
  if (code == op::MEMOIZE) {
    memoize_key.small = static_cast<int64_t>(memo_.size());
    o.markmsg = "(as ";
    append_int(o.markmsg, memo_.size());
    o.markmsg += ')';
  }
  const MemoKey& key = code == op::MEMOIZE ? memoize_key : arg.key;
  if (memo_.find(key)) {
    o.error = {ErrorCode::ValueError, "memo key " + (code == op::MEMOIZE ? std::string("None") : arg.repr) +
                                          " already defined"};
  } else if (stack_.empty()) {
    o.error = {ErrorCode::ValueError, "stack is empty -- can't store into memo"};
  } else if (stack_.back() == kMark) {
    o.error = {ErrorCode::ValueError, "can't store markobject in the memo"};
  } else {
    memo_.insert(key, stack_.back());
  }
  return kAny;
}

}  // namespace

uint64_t disassemble(std::span<const uint8_t> data, std::ostream& out, const DisOptions& options) {
  Disassembler d(data, out, options);
  return detail::as_error([&] { return d.run(); });
}

namespace detail {
std::string dis_stack_effect(uint8_t code) {
  Effect e = effect_of(code);
  if (!e.known) return {};
  std::string s;
  for (int i = 0; i < e.nbefore; ++i) {
    if (i) s += ',';
    s += so_name(e.before[static_cast<size_t>(i)]);
  }
  s += "->";
  for (int i = 0; i < e.nafter; ++i) {
    if (i) s += ',';
    s += so_name(e.after[static_cast<size_t>(i)]);
  }
  return s;
}
}  // namespace detail

}  // namespace pkl
