// A small JSON reader/writer for the harness: the oracle server's frames
// and graph JSON (docs/graph-json.md). Strings are UTF-8 in which lone
// surrogates (\udXXX escapes, as Python's json writes them) are kept as
// 3-byte sequences ("surrogatepass"), the form pkl::Graph stores. The reader
// is iterative (no recursion proportional to nesting).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pklharness {

struct JVal {
  enum Type : uint8_t { Null, Bool, Num, Str, Arr, Obj } type = Null;
  bool b = false;
  std::string s;  // Str: the text; Num: the number's text
  std::vector<JVal> arr;           // Arr: the items; Obj: the member values
  std::vector<std::string> keys;   // Obj: the member names, parallel to arr
  // (not a vector of pairs: a pair holding the still-incomplete JVal breaks
  // clang 14 with libstdc++ 12)

  bool is_null() const { return type == Null; }
  // Object member or nullptr.
  const JVal* find(std::string_view key) const;
  // Object member; throws if absent.
  const JVal& at(std::string_view key) const;
  const JVal& operator[](size_t i) const { return arr.at(i); }
  int64_t as_int() const;
  bool truthy() const { return type == Bool ? b : type != Null; }
};

// Throws std::runtime_error on malformed input.
JVal json_parse(std::string_view text);

// Appends `s` (UTF-8, surrogates allowed) as a JSON string literal, ASCII
// only: as Python's json.dumps(ensure_ascii=True).
void json_quote(std::string& out, std::string_view s);
std::string json_quote(std::string_view s);

std::string base64_encode(std::string_view data);
std::string base64_decode(std::string_view text);

std::string to_hex(std::string_view data);  // all of it (executor.hpp's hex() cuts)
std::string unhex(std::string_view text);

}  // namespace pklharness
