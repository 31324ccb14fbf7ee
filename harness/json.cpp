#include "json.hpp"
#include "text/utf8.hpp"  // codec/src: the codec's UTF-8 writer

#include <cstring>
#include <stdexcept>

namespace pklharness {

const JVal* JVal::find(std::string_view key) const {
  if (type != Obj) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &arr[i];
  return nullptr;
}

const JVal& JVal::at(std::string_view key) const {
  const JVal* v = find(key);
  if (!v) throw std::runtime_error("JSON: missing member '" + std::string(key) + "'");
  return *v;
}

int64_t JVal::as_int() const {
  if (type == Num) return std::stoll(s);
  if (type == Bool) return b ? 1 : 0;
  throw std::runtime_error("JSON: not a number");
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  JVal run() {
    JVal root;
    // Explicit stack of containers being filled.
    std::vector<JVal*> stack;
    std::vector<bool> expect_key;
    auto fail = [&](const char* what) {
      throw std::runtime_error(std::string("JSON: ") + what + " at " + std::to_string(p_));
    };
    bool have_root = false;
    // Read a value into `slot`; containers are pushed.
    auto read_value = [&](JVal& slot) {
      ws();
      if (p_ >= t_.size()) fail("unexpected end");
      char c = t_[p_];
      if (c == '{') {
        ++p_;
        slot.type = JVal::Obj;
        stack.push_back(&slot);
        expect_key.push_back(true);
      } else if (c == '[') {
        ++p_;
        slot.type = JVal::Arr;
        stack.push_back(&slot);
        expect_key.push_back(false);
      } else if (c == '"') {
        slot.type = JVal::Str;
        slot.s = string();
      } else if (c == 't' && t_.substr(p_, 4) == "true") {
        p_ += 4;
        slot.type = JVal::Bool;
        slot.b = true;
      } else if (c == 'f' && t_.substr(p_, 5) == "false") {
        p_ += 5;
        slot.type = JVal::Bool;
        slot.b = false;
      } else if (c == 'n' && t_.substr(p_, 4) == "null") {
        p_ += 4;
        slot.type = JVal::Null;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        size_t q = p_;
        while (q < t_.size() && std::strchr("+-0123456789.eE", t_[q]) && t_[q] != '\0') ++q;
        slot.type = JVal::Num;
        slot.s = std::string(t_.substr(p_, q - p_));
        p_ = q;
      } else {
        fail("bad value");
      }
    };
    read_value(root);
    have_root = true;
    while (!stack.empty()) {
      JVal* top = stack.back();
      ws();
      if (p_ >= t_.size()) fail("unexpected end");
      const bool is_obj = top->type == JVal::Obj;
      const size_t count = top->arr.size();
      char c = t_[p_];
      if (c == (is_obj ? '}' : ']')) {
        ++p_;
        stack.pop_back();
        expect_key.pop_back();
        continue;
      }
      if (count > 0) {
        if (c != ',') fail("expected ','");
        ++p_;
        ws();
      }
      if (is_obj) {
        if (p_ >= t_.size() || t_[p_] != '"') fail("expected key");
        std::string key = string();
        ws();
        if (p_ >= t_.size() || t_[p_] != ':') fail("expected ':'");
        ++p_;
        top->keys.push_back(std::move(key));
      }
      top->arr.emplace_back();
      read_value(top->arr.back());
    }
    (void)have_root;
    ws();
    if (p_ != t_.size()) fail("trailing data");
    return root;
  }

 private:
  void ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t')) ++p_;
  }
  uint32_t hex4() {
    if (p_ + 4 > t_.size()) throw std::runtime_error("JSON: bad \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else throw std::runtime_error("JSON: bad \\u escape");
    }
    return v;
  }
  std::string string() {
    ++p_;  // opening quote
    std::string out;
    while (true) {
      if (p_ >= t_.size()) throw std::runtime_error("JSON: unterminated string");
      char c = t_[p_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= t_.size()) throw std::runtime_error("JSON: bad escape");
      char e = t_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          // A high surrogate followed by a low one is one astral character
          // (as Python's json reads it); any other surrogate stays lone.
          if (cp >= 0xd800 && cp < 0xdc00 && p_ + 6 <= t_.size() && t_[p_] == '\\' && t_[p_ + 1] == 'u') {
            size_t save = p_;
            p_ += 2;
            uint32_t lo = hex4();
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else {
              p_ = save;
            }
          }
          pkl::append_utf8(out, cp);
          break;
        }
        default:
          throw std::runtime_error("JSON: bad escape");
      }
    }
    return out;
  }

  std::string_view t_;
  size_t p_ = 0;
};

}  // namespace

JVal json_parse(std::string_view text) { return Parser(text).run(); }

void json_quote(std::string& out, std::string_view s) {
  static const char* hx = "0123456789abcdef";
  auto u4 = [&](uint32_t v) {
    out += "\\u";
    out += hx[(v >> 12) & 15];
    out += hx[(v >> 8) & 15];
    out += hx[(v >> 4) & 15];
    out += hx[v & 15];
  };
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) u4(c);
          else out += static_cast<char>(c);
      }
      continue;
    }
    uint32_t cp;
    int n;
    if (c >= 0xf0) { cp = c & 0x07; n = 3; }
    else if (c >= 0xe0) { cp = c & 0x0f; n = 2; }
    else { cp = c & 0x1f; n = 1; }
    ++i;
    for (int k = 0; k < n && i < s.size(); ++k, ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u4(0xd800 + (cp >> 10));
      u4(0xdc00 + (cp & 0x3ff));
    } else {
      u4(cp);
    }
  }
  out += '"';
}

std::string json_quote(std::string_view s) {
  std::string out;
  json_quote(out, s);
  return out;
}

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < data.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  int map[256];
  for (int& m : map) m = -1;
  for (int k = 0; k < 64; ++k) map[static_cast<unsigned char>(kB64[k])] = k;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    int v = map[static_cast<unsigned char>(ch)];
    if (v < 0) throw std::runtime_error("bad base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string to_hex(std::string_view data) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string unhex(std::string_view text) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex");
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i + 1 < text.size(); i += 2) out += static_cast<char>(nib(text[i]) * 16 + nib(text[i + 1]));
  return out;
}

}  // namespace pklharness
