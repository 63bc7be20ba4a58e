// The Jinja interpreter's value model: Python-like values (None, bool, int, float, str, list,
// dict with insertion order) plus Undefined and callables (macros, built-in functions).
// Lists and dicts are shared by reference, as in Python, so `namespace()` objects can be
// mutated through `{% set ns.x = ... %}`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenfab/status.h"

namespace tokenfab::jinja {

// Raised inside the interpreter only; parseTemplate()/renderTemplate() turn it into a Status.
// (The evaluator is deeply recursive; unwinding with an exception keeps every step readable.)
struct JinjaError {
  Code code = Code::kTemplateRuntime;
  std::string message;
  size_t offset = static_cast<size_t>(-1);  // byte offset in the template source, if known
};
[[noreturn]] void fail(Code code, std::string message);
[[noreturn]] inline void runtimeError(std::string message) {
  fail(Code::kTemplateRuntime, std::move(message));
}

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Value;
class Interpreter;
class Budget;
using ValueList = std::vector<Value>;

// Lists and dicts nest at most this deep. Values are built in many places without a budget at
// hand, so the cap lives with the value type: it keeps comparison, printing and destruction
// (all recursive) within the stack.
constexpr uint32_t kMaxValueDepth = 256;

// A dict keeps insertion order like Python's. Large ones get a hash index, so a template that
// builds a dict of many keys cannot make every lookup a long scan.
class ValueDict {
 public:
  using Entry = std::pair<std::string, Value>;
  bool is_namespace = false;  // a namespace() object: mutable, compared by identity

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(const std::string& key, Value value);
  const std::vector<Entry>& items() const { return m_entries; }
  Value& valueAt(size_t i);
  size_t size() const;
  uint64_t keyBytes() const;  // the keys' total size: what copying or hashing them all costs
  void clear();

 private:
  std::vector<Entry> m_entries;
  std::unordered_map<std::string, size_t, StringViewHash, std::equal_to<>> m_index;  // empty while small
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  const Value* kwarg(std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // Undefined
  static Value undefined(std::string name = {});
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  // A string marked safe (|safe, |escape): `+` HTML-escapes a plain string joined to it, as
  // Jinja2's Markup does even with autoescape off.
  static Value markup(std::string s);
  static Value list(ValueList items = {});
  static Value dict(ValueDict d = {});
  static Value callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);
  static Value fromJson(const nlohmann::ordered_json& j);  // kTemplateLimit past kMaxValueDepth

  Kind kind() const { return m_kind; }
  bool isUndefined() const { return m_kind == Kind::kUndefined; }
  bool isNone() const { return m_kind == Kind::kNone; }
  bool isBool() const { return m_kind == Kind::kBool; }
  bool isInt() const { return m_kind == Kind::kInt; }
  bool isFloat() const { return m_kind == Kind::kFloat; }
  bool isNumber() const { return m_kind == Kind::kInt || m_kind == Kind::kFloat || m_kind == Kind::kBool; }
  bool isString() const { return m_kind == Kind::kString; }
  bool isMarkup() const { return m_kind == Kind::kString && m_markup; }
  bool isList() const { return m_kind == Kind::kList; }
  bool isDict() const { return m_kind == Kind::kDict; }
  bool isCallable() const { return m_kind == Kind::kCallable; }

  bool asBool() const { return m_bool; }
  int64_t asInt() const { return m_kind == Kind::kBool ? (m_bool ? 1 : 0) : m_int; }
  double asDouble() const;  // int, float or bool
  const std::string& str() const;  // the string, or the undefined name
  // Lists/dicts nested inside this value, counted when it was built (0 for a scalar; a
  // namespace changed later keeps the count it was built with).
  uint32_t depth() const { return m_depth; }
  ValueList& items() const { return *m_list; }
  ValueDict& entries() const { return *m_dict; }
  const Callable& fn() const { return *m_fn; }

  bool truthy() const;
  std::string typeName() const;  // Python's name: "str", "dict", "NoneType"...

 private:
  static Value fromJson(const nlohmann::ordered_json& j, uint32_t depth);

  Kind m_kind = Kind::kUndefined;
  bool m_bool = false;
  bool m_markup = false;
  uint32_t m_depth = 0;
  int64_t m_int = 0;
  double m_float = 0.0;
  std::shared_ptr<const std::string> m_text;  // shared: copying a value never copies its text
  std::shared_ptr<ValueList> m_list;
  std::shared_ptr<ValueDict> m_dict;
  std::shared_ptr<const Callable> m_fn;
};

// (Defined here, where Value is complete: clang instantiates the vector's size() eagerly.)
inline size_t ValueDict::size() const { return m_entries.size(); }

// Python str(): what `{{ x }}` prints. Undefined prints as "". Lists and dicts print as
// Python's repr, which costs steps and bytes.
std::string toPythonStr(Budget& budget, const Value& v);
// Python repr(): strings quoted, lists/dicts as Python literals.
std::string toPythonRepr(Budget& budget, const Value& v);
// Python float repr ("1.0", "0.1", "1e+16").
std::string formatFloat(double d);
// Jinja2's escape(): & < > " ' as HTML entities.
std::string htmlEscape(const std::string& s);
// json.dumps(v, ensure_ascii, indent, separators, sort_keys) as HF's tojson filter calls it.
struct JsonStyle {
  int64_t indent = -1;         // < 0: None (one line)
  std::optional<std::string> item_separator;  // default: ", " on one line, "," indented
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;   // \uXXXX for every non-ASCII code point
};
// Undefined, callables and namespaces are errors (not JSON serialisable).
std::string toJson(Budget& budget, const Value& v, const JsonStyle& style = {});
// Python ==, < (one step per pair of items compared).
bool valuesEqual(Budget& budget, const Value& a, const Value& b);
bool valueLess(Budget& budget, const Value& a, const Value& b);  // error for unorderable types

// UTF-8 helpers: strings are indexed by code point like Python.
// Calls fn(code point, first byte, end byte) for each character of UTF-8 text, without building
// a decoded copy (four bytes per character); an invalid byte is one U+FFFD.
template <typename Fn>
void forEachCodePoint(std::string_view s, Fn fn) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len != 0 && i + len <= s.size();
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      fn(char32_t{0xfffd}, i, i + 1);
      ++i;
      continue;
    }
    fn(cp, i, i + len);
    i += len;
  }
}
// Invalid bytes become U+FFFD, one per byte.
std::vector<char32_t> decodeUtf8(std::string_view s);
size_t countCodePoints(std::string_view s);  // decodeUtf8(s).size() without building it
void appendUtf8(std::string& out, char32_t cp);
std::string encodeUtf8(const std::vector<char32_t>& cps, size_t begin, size_t end);
bool isPythonSpace(char32_t cp);

}  // namespace tokenfab::jinja
