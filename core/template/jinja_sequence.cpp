// Sequence operators with Python's semantics: len, iteration, slicing, `in`, repetition and
// concatenation. Each charges what it touches and checks the size of its result before
// building it, so `'x' * 10**18` fails at once instead of running out of memory.
#include <algorithm>

#include "template/jinja_budget.h"
#include "template/jinja_ops.h"
#include "template/jinja_value.h"

namespace tokenfab::jinja {

namespace {

void requireDefined(const Value& v) {
  if (v.isUndefined()) runtimeError("'" + v.str() + "' is undefined");
}

// Bytes a value holds directly: its text, or its items as sizeof(Value) each.
uint64_t shallowBytes(const Value& v) {
  if (v.isString()) return v.str().size();
  if (v.isList()) return saturatingMul(v.items().size(), sizeof(Value));
  return 0;
}

}  // namespace

size_t findText(std::string_view haystack, std::string_view needle, size_t from) {
  // (Also spares the table below for a needle that cannot fit.)
  if (from > haystack.size() || needle.size() > haystack.size() - from) return std::string_view::npos;
  // Short needles: the library search costs at most |haystack| * 16 comparisons.
  if (needle.size() <= 16) return haystack.find(needle, from);
  // Knuth-Morris-Pratt: never re-reads the haystack. table[i] is the length of the longest
  // proper prefix of needle[0..i] that is also its suffix.
  std::vector<uint32_t> table(needle.size(), 0);
  for (size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = table[k - 1];
    if (needle[i] == needle[k]) ++k;
    table[i] = static_cast<uint32_t>(k);
  }
  for (size_t i = from, k = 0; i < haystack.size(); ++i) {
    while (k > 0 && haystack[i] != needle[k]) k = table[k - 1];
    if (haystack[i] == needle[k]) ++k;
    if (k == needle.size()) return i + 1 - k;
  }
  return std::string_view::npos;
}

int64_t lengthOf(Budget& budget, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString:
      budget.workBytes(v.str().size());
      return static_cast<int64_t>(countCodePoints(v.str()));
    case Value::Kind::kList: return static_cast<int64_t>(v.items().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.entries().size());
    default: runtimeError("object of type '" + v.typeName() + "' has no len()");
  }
}

std::vector<Value> iterate(Budget& budget, const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return out;
    case Value::Kind::kList:
      budget.items(v.items().size(), sizeof(Value));
      return v.items();
    case Value::Kind::kDict:
      budget.items(v.entries().size(), sizeof(Value));
      budget.workBytes(v.entries().keyBytes());
      for (const auto& [k, e] : v.entries().items()) out.push_back(Value::string(k));
      return out;
    case Value::Kind::kString: {
      const std::vector<char32_t> cps = decodeUtf8(v.str());
      budget.items(cps.size(), sizeof(Value));
      out.reserve(cps.size());
      for (char32_t cp : cps) {
        std::string s;
        appendUtf8(s, cp);
        out.push_back(Value::string(std::move(s)));
      }
      return out;
    }
    default:
      runtimeError("'" + v.typeName() + "' object is not iterable");
  }
}

Value sliceValue(Budget& budget, const Value& subject, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.isUndefined() || v.isNone()) return std::nullopt;
    if (!v.isInt() && !v.isBool()) runtimeError(std::string("slice ") + what + " must be an integer");
    return v.asInt();
  };
  const std::optional<int64_t> start = as_index(start_v, "start"), stop = as_index(stop_v, "stop");
  const int64_t step = as_index(step_v, "step").value_or(1);
  if (step == 0) runtimeError("slice step cannot be zero");
  std::vector<char32_t> cps;
  int64_t n = 0;
  if (subject.isString()) {
    budget.workBytes(subject.str().size());
    cps = decodeUtf8(subject.str());
    n = static_cast<int64_t>(cps.size());
  } else if (subject.isList()) {
    n = static_cast<int64_t>(subject.items().size());
  } else {
    requireDefined(subject);
    runtimeError("'" + subject.typeName() + "' object is not subscriptable");
  }
  // Python's slice.indices(n): bounds clamped into the sequence. x + n cannot overflow: x < 0.
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    return step > 0 ? std::clamp<int64_t>(x, 0, n) : std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t lo = clamp(start, step > 0 ? 0 : n - 1);
  const int64_t hi = clamp(stop, step > 0 ? n : -1);
  // Count the picked indices first: stepping an index by a huge step would overflow.
  const uint64_t stride = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  const uint64_t span = step > 0 ? (hi > lo ? static_cast<uint64_t>(hi - lo) : 0) : (lo > hi ? static_cast<uint64_t>(lo - hi) : 0);
  const uint64_t count = span == 0 ? 0 : (span - 1) / stride + 1;
  budget.items(count, subject.isString() ? 4 : sizeof(Value));
  // k * stride < span <= n + 1 for every picked k, so each index is computed without overflow.
  auto index = [&](uint64_t k) {
    const int64_t offset = static_cast<int64_t>(k * stride);
    return static_cast<size_t>(step > 0 ? lo + offset : lo - offset);
  };
  if (subject.isString()) {
    std::string out;
    for (uint64_t k = 0; k < count; ++k) appendUtf8(out, cps[index(k)]);
    return Value::string(std::move(out));
  }
  ValueList out;
  out.reserve(count);
  for (uint64_t k = 0; k < count; ++k) out.push_back(subject.items()[index(k)]);
  return Value::list(std::move(out));
}

bool contains(Budget& budget, const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.isString()) runtimeError("'in <string>' requires string as left operand, not " + item.typeName());
      budget.workBytes(container.str().size() + item.str().size());
      return findText(container.str(), item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.items())
        if (valuesEqual(budget, v, item)) return true;
      return false;
    case Value::Kind::kDict:
      budget.workBytes(item.str().size());
      return item.isString() && container.entries().find(item.str()) != nullptr;
    default:
      runtimeError("argument of type '" + container.typeName() + "' is not iterable");
  }
}

Value repeat(Budget& budget, const Value& a, const Value& b) {
  const bool seq_first = a.isString() || a.isList();
  const Value& seq = seq_first ? a : b;
  const Value& count = seq_first ? b : a;
  if (!count.isInt() && !count.isBool())
    runtimeError("can't multiply sequence by non-int of type '" + count.typeName() + "'");
  const uint64_t n = count.asInt() > 0 ? static_cast<uint64_t>(count.asInt()) : 0;
  const uint64_t unit = shallowBytes(seq);
  // Python: repeating an empty sequence any number of times is empty (and instant).
  if (unit == 0 || n == 0) return seq.isString() ? Value::string("") : Value::list();
  budget.checkValueSize(saturatingMul(unit, n));
  // A string is copied n times (bytes); a list's items are n * size values (steps too).
  budget.steps(seq.isString() ? 1 : n * seq.items().size());
  budget.workBytes(unit * n);
  if (seq.isString()) {
    std::string out;
    out.reserve(unit * n);
    for (uint64_t k = 0; k < n; ++k) out += seq.str();
    return Value::string(std::move(out));
  }
  ValueList items;
  items.reserve(seq.items().size() * n);
  for (uint64_t k = 0; k < n; ++k) items.insert(items.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(items));
}

Value concatenate(Budget& budget, const Value& a, const Value& b) {
  if (a.isString() && b.isString()) {
    budget.checkValueSize(a.str().size() + b.str().size());
    if (a.isMarkup() == b.isMarkup()) {
      budget.workBytes(a.str().size() + b.str().size());
      return a.isMarkup() ? Value::markup(a.str() + b.str()) : Value::string(a.str() + b.str());
    }
    // Markup + str escapes the plain side (jinja2's Markup.__add__ / __radd__): up to 6x longer.
    const std::string& plain = a.isMarkup() ? b.str() : a.str();
    budget.checkValueSize(a.str().size() + b.str().size() + saturatingMul(plain.size(), 5));
    std::string joined = a.isMarkup() ? a.str() + htmlEscape(b.str()) : htmlEscape(a.str()) + b.str();
    budget.workBytes(joined.size());
    return Value::markup(std::move(joined));
  }
  if (a.isList() && b.isList()) {
    budget.items(a.items().size() + b.items().size(), sizeof(Value));
    ValueList items;
    items.reserve(a.items().size() + b.items().size());
    items.insert(items.end(), a.items().begin(), a.items().end());
    items.insert(items.end(), b.items().begin(), b.items().end());
    return Value::list(std::move(items));
  }
  requireDefined(a);
  requireDefined(b);
  if (a.isNumber() && b.isNumber()) return arithmetic("+", a, b);
  runtimeError("unsupported operand type(s) for +: '" + a.typeName() + "' and '" + b.typeName() + "'");
}

Value concatenateText(Budget& budget, const Value& a, const Value& b) {
  std::string s = toPythonStr(budget, a);
  const std::string t = toPythonStr(budget, b);
  budget.checkValueSize(s.size() + t.size());
  budget.workBytes(s.size() + t.size());
  s += t;
  return Value::string(std::move(s));
}

}  // namespace tokenfab::jinja
