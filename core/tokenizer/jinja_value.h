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

class Value;
class Interpreter;
using ValueList = std::vector<Value>;

struct ValueDict {
  std::vector<std::pair<std::string, Value>> entries;
  bool is_namespace = false;

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(const std::string& key, Value value);
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
  static Value fromJson(const nlohmann::ordered_json& j);

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
  const std::string& str() const { return m_string; }  // the string, or the undefined name
  ValueList& items() const { return *m_list; }
  ValueDict& entries() const { return *m_dict; }
  const Callable& fn() const { return *m_fn; }

  bool truthy() const;
  std::string typeName() const;  // Python's name: "str", "dict", "NoneType"...

 private:
  Kind m_kind = Kind::kUndefined;
  bool m_bool = false;
  bool m_markup = false;
  int64_t m_int = 0;
  double m_float = 0.0;
  std::string m_string;
  std::shared_ptr<ValueList> m_list;
  std::shared_ptr<ValueDict> m_dict;
  std::shared_ptr<const Callable> m_fn;
};

// Python str(): what `{{ x }}` prints. Undefined prints as "".
std::string toPythonStr(const Value& v);
// Python repr(): strings quoted, lists/dicts as Python literals.
std::string toPythonRepr(const Value& v);
// Python float repr ("1.0", "0.1", "1e+16").
std::string formatFloat(double d);
// Jinja2's escape(): & < > " ' as HTML entities.
std::string htmlEscape(const std::string& s);
// json.dumps(v, ensure_ascii, indent, separators, sort_keys) as HF's tojson filter calls it.
struct JsonStyle {
  int indent = -1;             // < 0: None (one line)
  std::optional<std::string> item_separator;  // default: ", " on one line, "," indented
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;   // \uXXXX for every non-ASCII code point
};
// Undefined and callables are errors (not JSON serialisable).
std::string toJson(const Value& v, const JsonStyle& style = {});
// Python ==, <.
bool valuesEqual(const Value& a, const Value& b);
bool valueLess(const Value& a, const Value& b);  // error for unorderable types

// UTF-8 helpers: strings are indexed by code point like Python.
std::vector<char32_t> decodeUtf8(std::string_view s);
void appendUtf8(std::string& out, char32_t cp);
std::string encodeUtf8(const std::vector<char32_t>& cps, size_t begin, size_t end);
bool isPythonSpace(char32_t cp);

}  // namespace tokenfab::jinja
