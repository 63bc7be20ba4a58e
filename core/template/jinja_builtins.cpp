// Filters and tests of the Jinja subset. Semantics follow Jinja2 3.1 and Python 3 (what
// Hugging Face transformers renders chat templates with). Each filter charges the budget for
// what it reads and builds; the ones whose result can dwarf their input (indent, batch,
// tojson, escape) check the result's size before building it.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_set>

#include "template/jinja_interp.h"
#include "template/jinja_ops.h"
#include "template/jinja_text.h"

namespace tokenfab::jinja {

namespace {

// Jinja's make_attrgetter: `attribute` may be dotted ("function.name"); a part made of digits
// indexes a list.
Value attributeOf(Interpreter& interp, const Value& item, const std::string& attribute) {
  interp.budget().workBytes(attribute.size());
  Value cur = item;
  size_t pos = 0;
  while (pos <= attribute.size()) {
    size_t dot = attribute.find('.', pos);
    std::string part = attribute.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    // Python indexes with int(part); a dict's keys are strings, so that finds nothing there.
    if (std::optional<uint64_t> index = parseIndex(part); index && !cur.isUndefined()) {
      const bool list = cur.isList();
      if (!list && !cur.isString()) return Value::undefined(part);
      const uint64_t n = list ? cur.items().size() : countCodePoints(cur.str());
      if (*index >= n) return Value::undefined(part);
      cur = list ? cur.items()[*index] : Value::string(encodeUtf8(decodeUtf8(cur.str()), *index, *index + 1));
    } else {
      if (cur.isUndefined()) return cur;
      cur = interp.getAttr(cur, part);
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

// Jinja2's |int: int(value, base), else int(float(value)), else the default. Where Python's
// answer would be an int beyond 64 bits the filter fails instead of giving another number.
Value toInt(const Value& v, const Value& def, int64_t base) {
  auto from_double = [&](double d) {
    // Python: int(nan) raises ValueError, which the filter turns into the default; int(inf)
    // raises OverflowError, which Jinja2 3.1.2 (Debian 12) lets through.
    if (std::isnan(d)) return def;
    if (std::isinf(d)) runtimeError("cannot convert float infinity to integer");
    if (std::fabs(d) >= 9223372036854775808.0)
      fail(Code::kTemplateLimit, "int filter: " + formatFloat(d) + " does not fit in 64 bits");
    return Value::integer(static_cast<int64_t>(d));
  };
  if (v.isInt() || v.isBool()) return Value::integer(v.asInt());
  if (v.isFloat()) return from_double(v.asDouble());
  if (!v.isString()) return def;
  const ParsedInt parsed = parsePythonInt(v.str(), base);
  if (parsed.kind == ParsedInt::Kind::kOk) return Value::integer(parsed.value);
  if (parsed.kind == ParsedInt::Kind::kTooLarge)
    fail(Code::kTemplateLimit, "int filter: the number does not fit in 64 bits");
  std::optional<double> d = parsePythonFloat(v.str());
  return d ? from_double(*d) : def;
}

Value toFloat(const Value& v, const Value& def) {
  if (v.isNumber()) return Value::number(v.asDouble());
  if (v.isString()) {
    if (std::optional<double> d = parsePythonFloat(v.str())) return Value::number(*d);
  }
  return def;
}

Value roundValue(const Value& v, int64_t precision, const std::string& method) {
  if (!v.isNumber()) runtimeError("round expects a number, got " + v.typeName());
  const double x = v.asDouble();
  if (method != "common" && method != "ceil" && method != "floor")
    runtimeError("round method must be 'common', 'ceil' or 'floor'");
  // Past 10**±308 the scale is infinite: every double is already a whole number of 10**-308, and
  // rounding to 10**308 leaves 0 (Python's round() agrees).
  if (!std::isfinite(x) || precision > 308) return Value::number(x);
  if (precision < -308) return Value::number(std::copysign(0.0, x));
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = x * scale;
  double r;
  if (method == "common") r = std::nearbyint(scaled);  // Python round(): half to even
  else if (method == "ceil") r = std::ceil(scaled);
  else r = std::floor(scaled);
  return Value::number(r / scale);
}

// The text of a value, charged like the copy it is.
std::string textOf(Interpreter& interp, const Value& v) {
  std::string s = toPythonStr(interp.budget(), v);
  interp.budget().workBytes(s.size());
  return s;
}

// A string result of `bytes` bytes: its size checked and charged.
Value builtString(Interpreter& interp, std::string s) {
  interp.budget().checkValueSize(s.size());
  interp.budget().workBytes(s.size());
  return Value::string(std::move(s));
}

// Key used by unique/sort/min/max: strings compare case-insensitively unless asked otherwise.
Value sortKey(Interpreter& interp, const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = attribute.isString() ? attributeOf(interp, item, attribute.str()) : item;
  if (!case_sensitive && k.isString()) return builtString(interp, mapCase(k.str(), lowerCp));
  return k;
}

// What Python's set would see of a value: equal values (1, 1.0, True) get equal keys.
std::string hashKey(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "U";
    case Value::Kind::kNone: return "N";
    case Value::Kind::kBool:
    case Value::Kind::kInt: return "I" + std::to_string(v.asInt());
    case Value::Kind::kFloat: {
      const double d = v.asDouble();
      if (d == std::trunc(d) && std::fabs(d) < 9223372036854775808.0) return "I" + std::to_string(static_cast<int64_t>(d));
      return "F" + formatFloat(d);
    }
    case Value::Kind::kString: return "S" + v.str();
    case Value::Kind::kCallable: return "C" + std::to_string(reinterpret_cast<uintptr_t>(&v.fn()));
    case Value::Kind::kList:
    case Value::Kind::kDict: break;
  }
  runtimeError("unhashable type: '" + v.typeName() + "'");
}

// Jinja2's escape() output size, so a long text is refused before it grows sixfold.
uint64_t escapedSize(const std::string& s) {
  uint64_t n = s.size();
  for (char c : s) n += (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'') ? 4 : 0;
  return n;
}

const std::set<std::string>& filterNames() {
  static const std::set<std::string> kNames = {
      "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first",
      "float", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
      "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
      "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount"};
  return kNames;
}

const std::set<std::string>& testNames() {
  static const std::set<std::string> kNames = {
      "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "float",
      "ge", "gt", "in", "integer", "iterable", "le", "lower", "lt", "mapping", "ne", "none", "number", "odd",
      "sameas", "sequence", "string", "true", "undefined", "upper", "==", "!=", "<", "<=", ">", ">="};
  return kNames;
}

Value toJsonFilter(Interpreter& interp, const Value& v, CallArgs& args) {
  // HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  JsonStyle style;
  Value ind = paramOr(args, 0, "indent", Value::none());
  if (!ind.isNone()) style.indent = std::max<int64_t>(0, needInt(ind, "tojson indent"));  // Python: ' ' * n
  style.ensure_ascii = paramOr(args, 99, "ensure_ascii", Value::boolean(false)).truthy();
  style.sort_keys = paramOr(args, 99, "sort_keys", Value::boolean(false)).truthy();
  Value seps = paramOr(args, 99, "separators", Value::none());
  if (!seps.isNone()) {
    if (!seps.isList() || seps.items().size() != 2 || !seps.items()[0].isString() || !seps.items()[1].isString())
      runtimeError("tojson separators must be a pair of strings");
    style.item_separator = seps.items()[0].str();
    style.key_separator = seps.items()[1].str();
  }
  return Value::string(toJson(interp.budget(), v, style));
}

Value indentFilter(Interpreter& interp, const Value& v, CallArgs& args) {
  Value width = paramOr(args, 0, "width", Value::integer(4));
  const std::string text = textOf(interp, v);
  const bool first = paramOr(args, 1, "first", Value::boolean(false)).truthy();
  const bool blank = paramOr(args, 2, "blank", Value::boolean(false)).truthy();
  const uint64_t lines = 1 + static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n')) +
                         static_cast<uint64_t>(std::count(text.begin(), text.end(), '\r'));
  uint64_t pad_size = 0;
  if (width.isString()) pad_size = width.str().size();
  else if (needInt(width, "indent") > 0) pad_size = static_cast<uint64_t>(width.asInt());
  // Python: " " * width; a pad on every line must fit before any of it is built.
  interp.budget().checkValueSize(text.size() + saturatingMul(lines, pad_size));
  const std::string pad = width.isString() ? width.str() : std::string(pad_size, ' ');
  return builtString(interp, indent(text, pad, first, blank));
}

Value batchFilter(Interpreter& interp, std::vector<Value> items, CallArgs& args) {
  const int64_t size = needInt(paramOr(args, 0, "linecount", Value::undefined()), "batch");
  if (size <= 0) runtimeError("batch size must be positive");
  const Value* fill = param(args, 1, "fill_with");
  const bool filling = fill && !fill->isNone();
  // The last batch is padded to `size` items: count them before making any.
  const uint64_t rest = items.size() % static_cast<uint64_t>(size);
  interp.budget().items(filling && rest > 0 ? static_cast<uint64_t>(size) - rest : 0, sizeof(Value));
  ValueList out, cur;
  for (const Value& item : items) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == size) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (filling) cur.resize(static_cast<size_t>(size), *fill);
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::list(std::move(out));
}

Value selectFilter(Interpreter& interp, const std::string& name, const std::vector<Value>& items, CallArgs& args) {
  const bool by_attr = name == "selectattr" || name == "rejectattr";
  const bool keep_if = name == "selectattr" || name == "select";
  const size_t first_test_arg = by_attr ? 1 : 0;
  const std::string attribute = by_attr ? needString(paramOr(args, 0, "", Value::undefined()), name.c_str()) : "";
  std::string test;
  CallArgs test_args;
  if (args.args.size() > first_test_arg) {
    test = needString(args.args[first_test_arg], name.c_str());
    if (!hasTest(test)) runtimeError("no test named '" + test + "'");
    test_args.args.assign(args.args.begin() + static_cast<long>(first_test_arg) + 1, args.args.end());
  }
  ValueList out;
  for (const Value& item : items) {
    interp.budget().steps();
    Value subject = by_attr ? attributeOf(interp, item, attribute) : item;
    const bool ok = test.empty() ? subject.truthy() : applyTest(interp, test, subject, test_args);
    if (ok == keep_if) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value mapFilter(Interpreter& interp, const std::vector<Value>& items, CallArgs& args) {
  ValueList out;
  if (const Value* attribute = args.kwarg("attribute")) {
    const Value* def = args.kwarg("default");
    const std::string path = textOf(interp, *attribute);
    for (const Value& item : items) {
      interp.budget().steps();
      Value x = attributeOf(interp, item, path);
      out.push_back(x.isUndefined() && def ? *def : x);
    }
    return Value::list(std::move(out));
  }
  const std::string filter = needString(paramOr(args, 0, "", Value::undefined()), "map");
  if (!hasFilter(filter)) runtimeError("no filter named '" + filter + "'");
  CallArgs filter_args;
  filter_args.args.assign(args.args.begin() + 1, args.args.end());
  filter_args.kwargs = args.kwargs;
  for (const Value& item : items) {
    interp.budget().steps();
    out.push_back(applyFilter(interp, filter, item, filter_args));
  }
  return Value::list(std::move(out));
}

// unique / sort / min / max, on keys computed once per item.
Value orderFilter(Interpreter& interp, const std::string& name, std::vector<Value> items, CallArgs& args) {
  Budget& budget = interp.budget();
  const bool case_sensitive = paramOr(args, name == "sort" ? 1 : 0, "case_sensitive", Value::boolean(false)).truthy();
  const Value attribute = paramOr(args, name == "sort" ? 2 : 1, "attribute", Value::none());
  std::vector<Value> keys;
  keys.reserve(items.size());
  for (const Value& item : items) keys.push_back(sortKey(interp, item, attribute, case_sensitive));
  if (name == "unique") {  // a hash set, as Python's: linear, not a comparison per pair
    std::unordered_set<std::string> seen;
    ValueList out;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string key = hashKey(keys[i]);
      budget.workBytes(key.size());
      if (seen.insert(std::move(key)).second) out.push_back(items[i]);
    }
    return Value::list(std::move(out));
  }
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  auto less = [&](size_t a, size_t b) { return valueLess(budget, keys[a], keys[b]); };
  if (name == "sort") {
    const bool reverse = paramOr(args, 0, "reverse", Value::boolean(false)).truthy();
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return reverse ? less(b, a) : less(a, b); });
    ValueList out;
    out.reserve(items.size());
    for (size_t i : order) out.push_back(items[i]);
    return Value::list(std::move(out));
  }
  if (items.empty()) return Value::undefined(name);
  auto best = name == "min" ? std::min_element(order.begin(), order.end(), less)
                            : std::max_element(order.begin(), order.end(), less);
  return items[*best];
}

Value sumFilter(Interpreter& interp, const std::vector<Value>& items, CallArgs& args) {
  const Value attribute = paramOr(args, 0, "attribute", Value::none());
  Value total = paramOr(args, 1, "start", Value::integer(0));
  for (const Value& item : items) {
    interp.budget().steps();
    Value x = attribute.isString() ? attributeOf(interp, item, attribute.str()) : item;
    if (!x.isNumber() || !total.isNumber()) runtimeError("sum expects numbers, got " + x.typeName());
    total = (x.isFloat() || total.isFloat()) ? Value::number(total.asDouble() + x.asDouble())
                                             : Value::integer(checkedInt('+', total.asInt(), x.asInt()));
  }
  return total;
}

Value joinFilter(Interpreter& interp, const std::vector<Value>& items, CallArgs& args) {
  const std::string sep = textOf(interp, paramOr(args, 0, "d", Value::string("")));
  const Value attribute = paramOr(args, 1, "attribute", Value::none());
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string piece = textOf(interp, attribute.isString() ? attributeOf(interp, items[i], attribute.str()) : items[i]);
    interp.budget().checkValueSize(out.size() + (i > 0 ? sep.size() : 0) + piece.size());
    if (i > 0) out += sep;
    out += piece;
  }
  return builtString(interp, std::move(out));
}

}  // namespace

bool hasFilter(const std::string& name) { return filterNames().count(name) > 0; }
bool hasTest(const std::string& name) { return testNames().count(name) > 0; }

bool applyTest(Interpreter& interp, const std::string& name, const Value& v, CallArgs& args) {
  Budget& budget = interp.budget();
  auto arg = [&](size_t i) -> const Value& {
    if (i >= args.args.size()) runtimeError("test '" + name + "' needs an argument");
    return args.args[i];
  };
  if (name == "defined") return !v.isUndefined();
  if (name == "undefined") return v.isUndefined();
  if (name == "none") return v.isNone();
  if (name == "string") return v.isString();
  if (name == "mapping") return v.isDict();
  if (name == "iterable") return v.isList() || v.isDict() || v.isString() || v.isUndefined();
  if (name == "sequence") return v.isList() || v.isDict() || v.isString();
  if (name == "number") return v.isNumber();
  if (name == "integer") return v.isInt();
  if (name == "float") return v.isFloat();
  if (name == "boolean") return v.isBool();
  if (name == "true") return v.isBool() && v.asBool();
  if (name == "false") return v.isBool() && !v.asBool();
  if (name == "callable") return v.isCallable();
  if (name == "escaped") return false;
  if (name == "equalto" || name == "eq" || name == "==") return valuesEqual(budget, v, arg(0));
  if (name == "ne" || name == "!=") return !valuesEqual(budget, v, arg(0));
  if (name == "lt" || name == "<") return valueLess(budget, v, arg(0));
  if (name == "gt" || name == ">") return valueLess(budget, arg(0), v);
  if (name == "le" || name == "<=") return !valueLess(budget, arg(0), v);
  if (name == "ge" || name == ">=") return !valueLess(budget, v, arg(0));
  if (name == "sameas") {
    const Value& o = arg(0);
    if (v.kind() != o.kind()) return false;
    if (v.isList()) return &v.items() == &o.items();
    if (v.isDict()) return &v.entries() == &o.entries();
    return valuesEqual(budget, v, o);
  }
  if (name == "in") {
    const Value& c = arg(0);
    if (c.isString()) {
      budget.workBytes(c.str().size() + v.str().size());
      return v.isString() && findText(c.str(), v.str()) != std::string::npos;
    }
    if (c.isDict()) {
      budget.workBytes(v.str().size());
      return v.isString() && c.entries().find(v.str()) != nullptr;
    }
    for (const Value& x : iterate(budget, c))
      if (valuesEqual(budget, x, v)) return true;
    return false;
  }
  if (name == "odd") return needInt(v, "odd") % 2 != 0;
  if (name == "even") return needInt(v, "even") % 2 == 0;
  if (name == "divisibleby") {
    const int64_t d = needInt(arg(0), "divisibleby");
    if (d == 0) runtimeError("integer division or modulo by zero");
    return d == -1 || needInt(v, "divisibleby") % d == 0;  // INT64_MIN % -1 traps in C++
  }
  if (name == "lower" || name == "upper") {
    if (!v.isString()) return false;
    budget.workBytes(2 * v.str().size());
    return mapCase(v.str(), name == "lower" ? lowerCp : upperCp) == v.str();
  }
  runtimeError("no test named '" + name + "'");
}

Value applyFilter(Interpreter& interp, const std::string& name, const Value& v, CallArgs& args) {
  Budget& budget = interp.budget();
  if (name == "default" || name == "d") {
    Value def = paramOr(args, 0, "default_value", Value::string(""));
    bool boolean = paramOr(args, 1, "boolean", Value::boolean(false)).truthy();
    return (v.isUndefined() || (boolean && !v.truthy())) ? def : v;
  }
  if (name == "length" || name == "count") return Value::integer(lengthOf(budget, v));
  if (name == "safe") return v.isMarkup() ? v : Value::markup(textOf(interp, v));
  if (name == "string") return Value::string(textOf(interp, v));
  if (name == "trim")
    return builtString(interp, strip(budget, textOf(interp, v), paramOr(args, 0, "chars", Value::none()), 3));
  if (name == "upper") return builtString(interp, mapCase(textOf(interp, v), upperCp));
  if (name == "lower") return builtString(interp, mapCase(textOf(interp, v), lowerCp));
  if (name == "title") return builtString(interp, jinjaTitle(textOf(interp, v)));
  if (name == "capitalize") return builtString(interp, capitalize(textOf(interp, v)));
  if (name == "e" || name == "escape") {
    if (v.isMarkup()) return v;
    const std::string text = textOf(interp, v);
    budget.checkValueSize(escapedSize(text));
    std::string escaped = htmlEscape(text);
    budget.workBytes(escaped.size());
    return Value::markup(std::move(escaped));
  }
  if (name == "wordcount") {
    Value words = split(budget, textOf(interp, v), Value::none(), -1);
    return Value::integer(static_cast<int64_t>(words.items().size()));
  }
  if (name == "tojson") return toJsonFilter(interp, v, args);
  if (name == "replace") {
    const std::string from = needString(paramOr(args, 0, "old", Value::undefined()), "replace");
    const std::string to = needString(paramOr(args, 1, "new", Value::undefined()), "replace");
    Value count = paramOr(args, 2, "count", Value::none());
    return Value::string(replace(budget, textOf(interp, v), from, to, count.isNone() ? -1 : needInt(count, "replace")));
  }
  if (name == "indent") return indentFilter(interp, v, args);
  if (name == "int") {
    const Value def = paramOr(args, 0, "default", Value::integer(0));
    return toInt(v, def, needInt(paramOr(args, 1, "base", Value::integer(10)), "int"));
  }
  if (name == "float") return toFloat(v, paramOr(args, 0, "default", Value::number(0.0)));
  if (name == "abs") {
    if (v.isFloat()) return Value::number(std::fabs(v.asDouble()));
    const int64_t i = needInt(v, "abs");
    return i < 0 ? negate(Value::integer(i)) : Value::integer(i);
  }
  if (name == "round") {
    return roundValue(v, needInt(paramOr(args, 0, "precision", Value::integer(0)), "round"),
                      textOf(interp, paramOr(args, 1, "method", Value::string("common"))));
  }
  if (name == "attr") return interp.getAttr(v, needString(paramOr(args, 0, "name", Value::undefined()), "attr"));
  if (name == "items" || name == "dictsort") {
    if (name == "items" && v.isUndefined()) return Value::list();
    if (!v.isDict()) runtimeError(name + " filter expects a mapping, got " + v.typeName());
    const auto& entries = v.entries().items();
    budget.items(entries.size(), 3 * sizeof(Value));
    budget.workBytes(v.entries().keyBytes());
    std::vector<size_t> order(entries.size());
    std::iota(order.begin(), order.end(), 0);
    if (name == "dictsort") {  // by key, case-insensitively
      std::vector<std::string> keys;
      for (const auto& [k, e] : entries) {
        budget.workBytes(2 * k.size());
        keys.push_back(mapCase(k, lowerCp));
      }
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        budget.steps();
        budget.workBytes(std::min(keys[a].size(), keys[b].size()));  // what comparing them reads
        return keys[a] < keys[b];
      });
    }
    ValueList out;
    for (size_t i : order) out.push_back(Value::list({Value::string(entries[i].first), entries[i].second}));
    return Value::list(std::move(out));
  }

  // The rest work on a sequence of items.
  std::vector<Value> items = iterate(budget, v);
  if (name == "list") return Value::list(std::move(items));
  if (name == "first") return items.empty() ? Value::undefined("first") : items.front();
  if (name == "last") return items.empty() ? Value::undefined("last") : items.back();
  if (name == "reverse") {
    std::reverse(items.begin(), items.end());
    if (v.isString()) {
      std::string out;
      for (const Value& c : items) out += c.str();
      return Value::string(std::move(out));
    }
    return Value::list(std::move(items));
  }
  if (name == "join") return joinFilter(interp, items, args);
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject")
    return selectFilter(interp, name, items, args);
  if (name == "map") return mapFilter(interp, items, args);
  if (name == "unique" || name == "sort" || name == "min" || name == "max")
    return orderFilter(interp, name, std::move(items), args);
  if (name == "sum") return sumFilter(interp, items, args);
  if (name == "batch") return batchFilter(interp, std::move(items), args);
  runtimeError("no filter named '" + name + "'");
}

}  // namespace tokenfab::jinja
