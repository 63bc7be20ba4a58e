#include "template/jinja_value.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "template/jinja_budget.h"

namespace tokenfab::jinja {

namespace {

// Dicts up to this size are searched in order; beyond it they keep a hash index.
constexpr size_t kIndexFrom = 8;

uint32_t nestedDepth(uint32_t inner_depth) {
  if (inner_depth + 1 > kMaxValueDepth)
    fail(Code::kTemplateLimit, "lists/dicts nested deeper than " + std::to_string(kMaxValueDepth));
  return inner_depth + 1;
}

}  // namespace

void fail(Code code, std::string message) {
  throw JinjaError{code, std::move(message)};
}

const Value* ValueDict::find(std::string_view key) const {
  if (!m_index.empty()) {
    auto it = m_index.find(key);
    return it == m_index.end() ? nullptr : &m_entries[it->second].second;
  }
  for (const auto& [k, v] : m_entries)
    if (k == key) return &v;
  return nullptr;
}

Value* ValueDict::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const ValueDict&>(*this).find(key));
}

void ValueDict::set(const std::string& key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  m_entries.emplace_back(key, std::move(value));
  if (!m_index.empty()) {
    m_index.emplace(key, m_entries.size() - 1);
  } else if (m_entries.size() > kIndexFrom) {
    for (size_t i = 0; i < m_entries.size(); ++i) m_index.emplace(m_entries[i].first, i);
  }
}

Value& ValueDict::valueAt(size_t i) { return m_entries.at(i).second; }

uint64_t ValueDict::keyBytes() const {
  uint64_t n = 0;
  for (const auto& entry : m_entries) n += entry.first.size();
  return n;
}

void ValueDict::clear() {
  m_index.clear();
  std::vector<Entry> dropped;
  dropped.swap(m_entries);  // destroyed after this dict is already empty
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : kwargs)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string name) {
  Value v;
  if (!name.empty()) v.m_text = std::make_shared<const std::string>(std::move(name));
  return v;
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  return m_text ? *m_text : kEmpty;
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
  v.m_text = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.m_markup = true;
  return v;
}

Value Value::list(ValueList items) {
  Value v;
  v.m_kind = Kind::kList;
  uint32_t inner = 0;
  for (const Value& item : items) inner = std::max(inner, item.m_depth);
  v.m_depth = nestedDepth(inner);
  v.m_list = std::make_shared<ValueList>(std::move(items));
  return v;
}

Value Value::dict(ValueDict d) {
  Value v;
  v.m_kind = Kind::kDict;
  uint32_t inner = 0;
  for (const auto& entry : d.items()) inner = std::max(inner, entry.second.m_depth);
  v.m_depth = nestedDepth(inner);
  v.m_dict = std::make_shared<ValueDict>(std::move(d));
  return v;
}

Value Value::callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.m_kind = Kind::kCallable;
  v.m_fn = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::fromJson(const nlohmann::ordered_json& j) { return fromJson(j, 0); }

Value Value::fromJson(const nlohmann::ordered_json& j, uint32_t depth) {
  if (depth > kMaxValueDepth)
    fail(Code::kTemplateLimit, "input nested deeper than " + std::to_string(kMaxValueDepth));
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
      for (const auto& e : j) items.push_back(fromJson(e, depth + 1));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueDict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), fromJson(it.value(), depth + 1));
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
      return !str().empty();
    case Kind::kList:
      return !m_list->empty();
    case Kind::kDict:
      return m_dict->size() > 0;
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

namespace {

// -1, 0 or 1 as Python orders two numbers: an int and a float compare exactly (2**53 + 1 is not
// equal to float(2**53)); nullopt when a NaN makes them unordered.
std::optional<int> compareNumbers(const Value& a, const Value& b) {
  if (!a.isFloat() && !b.isFloat()) return a.asInt() < b.asInt() ? -1 : a.asInt() > b.asInt() ? 1 : 0;
  if (a.isFloat() && b.isFloat()) {
    const double x = a.asDouble(), y = b.asDouble();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const bool int_first = !a.isFloat();
  const int64_t i = int_first ? a.asInt() : b.asInt();
  const double d = int_first ? b.asDouble() : a.asDouble();
  if (std::isnan(d)) return std::nullopt;
  int order;  // of i against d
  if (d >= 9223372036854775808.0) {
    order = -1;
  } else if (d < -9223372036854775808.0) {
    order = 1;
  } else {
    const double whole = std::trunc(d);
    const auto w = static_cast<int64_t>(whole);
    order = i < w ? -1 : i > w ? 1 : (d > whole ? -1 : d < whole ? 1 : 0);
  }
  return int_first ? order : -order;
}

}  // namespace

bool valuesEqual(Budget& budget, const Value& a, const Value& b) {
  budget.steps();
  if (a.isNumber() && b.isNumber()) return compareNumbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      budget.workBytes(std::min(a.str().size(), b.str().size()));
      return a.str() == b.str();
    case Value::Kind::kList: {
      const ValueList& x = a.items();
      const ValueList& y = b.items();
      if (&x == &y) return true;  // Python compares a list with itself by identity first
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!valuesEqual(budget, x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const ValueDict& x = a.entries();
      const ValueDict& y = b.entries();
      // A namespace has no __eq__ in Jinja2: it equals only itself. This also keeps a namespace
      // that holds itself from recursing forever.
      if (&x == &y) return true;
      if (x.is_namespace || y.is_namespace) return false;
      if (x.size() != y.size()) return false;
      budget.workBytes(x.keyBytes());  // each key is hashed or compared to find its pair
      for (const auto& [k, v] : x.items()) {
        const Value* other = y.find(k);
        if (!other || !valuesEqual(budget, v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kCallable:
      return &a.fn() == &b.fn();
    default:
      return false;
  }
}

bool valueLess(Budget& budget, const Value& a, const Value& b) {
  budget.steps();
  if (a.isNumber() && b.isNumber()) return compareNumbers(a, b) == -1;
  if (a.isString() && b.isString()) {
    budget.workBytes(std::min(a.str().size(), b.str().size()));
    return a.str() < b.str();  // UTF-8 bytes order like code points
  }
  if (a.isList() && b.isList()) {
    // Python: the first pair of items that differ decides; else the shorter list is less.
    const ValueList& x = a.items();
    const ValueList& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!valuesEqual(budget, x[i], y[i])) return valueLess(budget, x[i], y[i]);
    }
    return x.size() < y.size();
  }
  runtimeError("'<' not supported between instances of '" + a.typeName() + "' and '" +
               b.typeName() + "'");
}


std::vector<char32_t> decodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  forEachCodePoint(s, [&](char32_t cp, size_t, size_t) { out.push_back(cp); });
  return out;
}

size_t countCodePoints(std::string_view s) {
  size_t n = 0;
  forEachCodePoint(s, [&](char32_t, size_t, size_t) { ++n; });
  return n;
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
