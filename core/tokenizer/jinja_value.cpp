#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tokenfab::jinja {

void fail(Code code, std::string message) {
  throw JinjaError{code, std::move(message)};
}

const Value* ValueDict::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

Value* ValueDict::find(std::string_view key) {
  for (auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void ValueDict::set(const std::string& key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
  } else {
    entries.emplace_back(key, std::move(value));
  }
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : kwargs)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string name) {
  Value v;
  v.m_string = std::move(name);
  return v;
}

Value Value::none() {
  Value v;
  v.m_kind = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.m_kind = Kind::kBool;
  v.m_bool = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.m_kind = Kind::kInt;
  v.m_int = i;
  return v;
}

Value Value::number(double f) {
  Value v;
  v.m_kind = Kind::kFloat;
  v.m_float = f;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.m_kind = Kind::kString;
  v.m_string = std::move(s);
  return v;
}

Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.m_markup = true;
  return v;
}

std::string htmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Value Value::list(ValueList items) {
  Value v;
  v.m_kind = Kind::kList;
  v.m_list = std::make_shared<ValueList>(std::move(items));
  return v;
}

Value Value::dict(ValueDict d) {
  Value v;
  v.m_kind = Kind::kDict;
  v.m_dict = std::make_shared<ValueDict>(std::move(d));
  return v;
}

Value Value::callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.m_kind = Kind::kCallable;
  v.m_fn = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::fromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return number(static_cast<double>(u));
      return integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(fromJson(e));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueDict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), fromJson(it.value()));
      return dict(std::move(d));
    }
    default:
      return none();
  }
}

double Value::asDouble() const {
  switch (m_kind) {
    case Kind::kFloat:
      return m_float;
    case Kind::kInt:
      return static_cast<double>(m_int);
    case Kind::kBool:
      return m_bool ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

bool Value::truthy() const {
  switch (m_kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return m_bool;
    case Kind::kInt:
      return m_int != 0;
    case Kind::kFloat:
      return m_float != 0.0;
    case Kind::kString:
      return !m_string.empty();
    case Kind::kList:
      return !m_list->empty();
    case Kind::kDict:
      return !m_dict->entries.empty();
    case Kind::kCallable:
      return true;
  }
  return false;
}

std::string Value::typeName() const {
  switch (m_kind) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return m_dict->is_namespace ? "Namespace" : "dict";
    case Kind::kCallable: return "function";
  }
  return "?";
}

std::string formatFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Shortest round-trip digits, then laid out the way Python's float.__repr__ does.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = !sci.empty() && sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent + 1)) + "." +
             digits.substr(static_cast<size_t>(exponent + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

namespace {

void reprString(std::string& out, const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  out += quote;
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

void reprInto(std::string& out, const Value& v, int depth) {
  if (depth > 200) runtimeError("value nested too deeply to print");
  switch (v.kind()) {
    case Value::Kind::kString:
      reprString(out, v.str());
      return;
    case Value::Kind::kList: {
      out += '[';
      bool first = true;
      for (const Value& e : v.items()) {
        if (!first) out += ", ";
        first = false;
        reprInto(out, e, depth + 1);
      }
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      if (v.entries().is_namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.entries().entries) {
        if (!first) out += ", ";
        first = false;
        reprString(out, k);
        out += ": ";
        reprInto(out, e, depth + 1);
      }
      out += '}';
      if (v.entries().is_namespace) out += '>';
      return;
    }
    default:
      out += toPythonStr(v);
  }
}

void jsonString(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  auto hex4 = [&](unsigned v) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "\\u%04x", v);
    out += buf;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          hex4(c);
        } else if (c >= 0x80 && ensure_ascii) {
          size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
          std::vector<char32_t> cps = decodeUtf8(std::string_view(s).substr(i, len));
          char32_t cp = cps.empty() ? 0xfffd : cps[0];
          if (cps.size() != 1) {  // invalid sequence: one replacement character per byte
            len = 1;
            cp = 0xfffd;
          }
          if (cp >= 0x10000) {  // UTF-16 surrogate pair, as Python writes it
            hex4(0xd800 + ((cp - 0x10000) >> 10));
            hex4(0xdc00 + ((cp - 0x10000) & 0x3ff));
          } else {
            hex4(cp);
          }
          i += len - 1;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void jsonInto(std::string& out, const Value& v, const JsonStyle& style, int depth) {
  if (depth > 200) runtimeError("value nested too deeply for tojson");
  const int indent = style.indent;
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent * level), ' ');
  };
  const std::string item_sep = style.item_separator ? *style.item_separator : indent >= 0 ? "," : ", ";
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.asBool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.asInt());
      return;
    case Value::Kind::kFloat: {
      double d = v.asDouble();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
      else out += formatFloat(d);
      return;
    }
    case Value::Kind::kString:
      jsonString(out, v.str(), style.ensure_ascii);
      return;
    case Value::Kind::kList: {
      const ValueList& items = v.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_sep;
        if (indent >= 0) newline(depth + 1);
        jsonInto(out, items[i], style, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.entries().entries) entries.push_back(&e);
      if (style.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      if (entries.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += item_sep;
        if (indent >= 0) newline(depth + 1);
        jsonString(out, entries[i]->first, style.ensure_ascii);
        out += style.key_separator;
        jsonInto(out, entries[i]->second, style, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case Value::Kind::kUndefined:
    case Value::Kind::kCallable:
      runtimeError("Object of type " + v.typeName() + " is not JSON serializable");
  }
}

}  // namespace

std::string toPythonStr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.asBool() ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.asInt());
    case Value::Kind::kFloat: return formatFloat(v.asDouble());
    case Value::Kind::kString: return v.str();
    case Value::Kind::kCallable: return "<function " + v.fn().name + ">";
    case Value::Kind::kList:
    case Value::Kind::kDict: {
      std::string out;
      reprInto(out, v, 0);
      return out;
    }
  }
  return "";
}

std::string toPythonRepr(const Value& v) {
  std::string out;
  reprInto(out, v, 0);
  return out;
}

std::string toJson(const Value& v, const JsonStyle& style) {
  std::string out;
  jsonInto(out, v, style, 0);
  return out;
}

bool valuesEqual(const Value& a, const Value& b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.isFloat() || b.isFloat()) return a.asDouble() == b.asDouble();
    return a.asInt() == b.asInt();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.str() == b.str();
    case Value::Kind::kList: {
      const ValueList& x = a.items();
      const ValueList& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!valuesEqual(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const auto& x = a.entries().entries;
      const auto& y = b.entries();
      if (x.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = y.find(k);
        if (!other || !valuesEqual(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kCallable:
      return &a.fn() == &b.fn();
    default:
      return false;
  }
}

bool valueLess(const Value& a, const Value& b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.isFloat() || b.isFloat()) return a.asDouble() < b.asDouble();
    return a.asInt() < b.asInt();
  }
  if (a.isString() && b.isString()) return a.str() < b.str();
  if (a.isList() && b.isList()) {
    const ValueList& x = a.items();
    const ValueList& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (valueLess(x[i], y[i])) return true;
      if (valueLess(y[i], x[i])) return false;
    }
    return x.size() < y.size();
  }
  runtimeError("'<' not supported between instances of '" + a.typeName() + "' and '" +
               b.typeName() + "'");
}

std::vector<char32_t> decodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xfffd);  // invalid byte: keep going, one replacement per byte
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string encodeUtf8(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i) appendUtf8(out, cps[i]);
  return out;
}

bool isPythonSpace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

}  // namespace tokenfab::jinja
