// Filters and tests of the Jinja subset. Semantics follow Jinja2 3.1 and Python 3 (what
// Hugging Face transformers renders chat templates with).
#include <algorithm>
#include <cmath>
#include <set>

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_text.h"

namespace tokenfab::jinja {

namespace {

Value attributeOf(Interpreter& interp, const Value& item, const std::string& attribute) {
  Value cur = item;
  size_t pos = 0;
  while (pos <= attribute.size()) {
    size_t dot = attribute.find('.', pos);
    std::string part = attribute.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && cur.isList()) {
      size_t k = std::stoul(part);
      cur = k < cur.items().size() ? cur.items()[k] : Value::undefined(part);
    } else {
      if (cur.isUndefined()) return cur;
      cur = interp.getAttr(cur, part);
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

Value toInt(const Value& v, const Value& def) {
  if (v.isInt() || v.isBool()) return Value::integer(v.asInt());
  if (v.isFloat()) {
    double d = v.asDouble();
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return def;
    return Value::integer(static_cast<int64_t>(d));
  }
  if (v.isString()) {
    std::string s = strip(v.str(), Value::undefined(), 3);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    try {
      size_t used = 0;
      long long i = std::stoll(s, &used, 10);
      if (used == s.size()) return Value::integer(i);
      double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
    } catch (...) {
    }
  }
  return def;
}

Value toFloat(const Value& v, const Value& def) {
  if (v.isNumber()) return Value::number(v.asDouble());
  if (v.isString()) {
    std::string s = strip(v.str(), Value::undefined(), 3);
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return Value::number(d);
    } catch (...) {
    }
  }
  return def;
}

Value roundValue(const Value& v, int64_t precision, const std::string& method) {
  if (!v.isNumber()) runtimeError("round expects a number, got " + v.typeName());
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.asDouble() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);  // Python round(): half to even
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else runtimeError("round method must be 'common', 'ceil' or 'floor'");
  return Value::number(r / scale);
}

// Key used by unique/sort/min/max: strings compare case-insensitively unless asked otherwise.
Value sortKey(Interpreter& interp, const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = attribute.isString() ? attributeOf(interp, item, attribute.str()) : item;
  if (!case_sensitive && k.isString()) return Value::string(mapCase(k.str(), lowerCp));
  return k;
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

}  // namespace


bool hasFilter(const std::string& name) { return filterNames().count(name) > 0; }
bool hasTest(const std::string& name) { return testNames().count(name) > 0; }

bool applyTest(Interpreter& interp, const std::string& name, const Value& v, CallArgs& args) {
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
  if (name == "equalto" || name == "eq" || name == "==") return valuesEqual(v, arg(0));
  if (name == "ne" || name == "!=") return !valuesEqual(v, arg(0));
  if (name == "lt" || name == "<") return valueLess(v, arg(0));
  if (name == "gt" || name == ">") return valueLess(arg(0), v);
  if (name == "le" || name == "<=") return !valueLess(arg(0), v);
  if (name == "ge" || name == ">=") return !valueLess(v, arg(0));
  if (name == "sameas") {
    const Value& o = arg(0);
    if (v.kind() != o.kind()) return false;
    if (v.isList()) return &v.items() == &o.items();
    if (v.isDict()) return &v.entries() == &o.entries();
    return valuesEqual(v, o);
  }
  if (name == "in") {
    const Value& c = arg(0);
    if (c.isString()) return v.isString() && c.str().find(v.str()) != std::string::npos;
    if (c.isDict()) return v.isString() && c.entries().find(v.str()) != nullptr;
    for (const Value& x : iterate(c))
      if (valuesEqual(x, v)) return true;
    return false;
  }
  if (name == "odd") return needInt(v, "odd") % 2 != 0;
  if (name == "even") return needInt(v, "even") % 2 == 0;
  if (name == "divisibleby") {
    int64_t d = needInt(arg(0), "divisibleby");
    if (d == 0) runtimeError("integer division or modulo by zero");
    return needInt(v, "divisibleby") % d == 0;
  }
  if (name == "lower") return v.isString() && mapCase(v.str(), lowerCp) == v.str();
  if (name == "upper") return v.isString() && mapCase(v.str(), upperCp) == v.str();
  (void)interp;
  runtimeError("no test named '" + name + "'");
}

Value applyFilter(Interpreter& interp, const std::string& name, const Value& v, CallArgs& args) {
  if (name == "default" || name == "d") {
    Value def = paramOr(args, 0, "default_value", Value::string(""));
    bool boolean = paramOr(args, 1, "boolean", Value::boolean(false)).truthy();
    return (v.isUndefined() || (boolean && !v.truthy())) ? def : v;
  }
  if (name == "length" || name == "count") return Value::integer(lengthOf(v));
  if (name == "safe") return v.isMarkup() ? v : Value::markup(toPythonStr(v));
  if (name == "string") return Value::string(toPythonStr(v));
  if (name == "trim") return Value::string(strip(toPythonStr(v), paramOr(args, 0, "chars", Value::none()), 3));
  if (name == "upper") return Value::string(mapCase(toPythonStr(v), upperCp));
  if (name == "lower") return Value::string(mapCase(toPythonStr(v), lowerCp));
  if (name == "title") return Value::string(jinjaTitle(toPythonStr(v)));
  if (name == "capitalize") return Value::string(capitalize(toPythonStr(v)));
  if (name == "e" || name == "escape") return v.isMarkup() ? v : Value::markup(htmlEscape(toPythonStr(v)));
  if (name == "wordcount") return Value::integer(lengthOf(split(toPythonStr(v), Value::none(), -1)));
  if (name == "tojson") {
    // HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    JsonStyle style;
    Value ind = paramOr(args, 0, "indent", Value::none());
    if (!ind.isNone()) style.indent = static_cast<int>(std::clamp<int64_t>(needInt(ind, "tojson indent"), 0, 64));
    style.ensure_ascii = paramOr(args, 99, "ensure_ascii", Value::boolean(false)).truthy();
    style.sort_keys = paramOr(args, 99, "sort_keys", Value::boolean(false)).truthy();
    Value seps = paramOr(args, 99, "separators", Value::none());
    if (!seps.isNone()) {
      if (!seps.isList() || seps.items().size() != 2 || !seps.items()[0].isString() || !seps.items()[1].isString())
        runtimeError("tojson separators must be a pair of strings");
      style.item_separator = seps.items()[0].str();
      style.key_separator = seps.items()[1].str();
    }
    std::string json = toJson(v, style);
    interp.checkStringSize(json.size());
    return Value::string(std::move(json));
  }
  if (name == "replace") {
    const std::string from = needString(paramOr(args, 0, "old", Value::undefined()), "replace");
    const std::string to = needString(paramOr(args, 1, "new", Value::undefined()), "replace");
    Value count = paramOr(args, 2, "count", Value::none());
    return Value::string(replace(interp, toPythonStr(v), from, to, count.isNone() ? -1 : needInt(count, "replace")));
  }
  if (name == "indent") {
    Value width = paramOr(args, 0, "width", Value::integer(4));
    std::string pad = width.isString() ? width.str() : std::string(static_cast<size_t>(std::clamp<int64_t>(needInt(width, "indent"), 0, 256)), ' ');
    bool first = paramOr(args, 1, "first", Value::boolean(false)).truthy();
    bool blank = paramOr(args, 2, "blank", Value::boolean(false)).truthy();
    std::string out = indent(toPythonStr(v), pad, first, blank);
    interp.checkStringSize(out.size());
    return Value::string(std::move(out));
  }
  if (name == "int") return toInt(v, paramOr(args, 0, "default", Value::integer(0)));
  if (name == "float") return toFloat(v, paramOr(args, 0, "default", Value::number(0.0)));
  if (name == "abs") {
    if (v.isFloat()) return Value::number(std::fabs(v.asDouble()));
    int64_t i = needInt(v, "abs");
    if (i == INT64_MIN) fail(Code::kTemplateLimit, "integer overflow");
    return Value::integer(i < 0 ? -i : i);
  }
  if (name == "round") {
    return roundValue(v, needInt(paramOr(args, 0, "precision", Value::integer(0)), "round"),
                      toPythonStr(paramOr(args, 1, "method", Value::string("common"))));
  }
  if (name == "attr") return interp.getAttr(v, needString(paramOr(args, 0, "name", Value::undefined()), "attr"));
  if (name == "items") {
    if (v.isUndefined()) return Value::list();
    if (!v.isDict()) runtimeError("items filter expects a mapping, got " + v.typeName());
    ValueList out;
    for (const auto& [k, e] : v.entries().entries) out.push_back(Value::list({Value::string(k), e}));
    return Value::list(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.isDict()) runtimeError("dictsort expects a mapping, got " + v.typeName());
    ValueList out;
    for (const auto& [k, e] : v.entries().entries) out.push_back(Value::list({Value::string(k), e}));
    std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
      return mapCase(a.items()[0].str(), lowerCp) < mapCase(b.items()[0].str(), lowerCp);
    });
    return Value::list(std::move(out));
  }

  // The rest work on a sequence of items.
  std::vector<Value> items = iterate(v);
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
  if (name == "join") {
    std::string sep = toPythonStr(paramOr(args, 0, "d", Value::string("")));
    Value attribute = paramOr(args, 1, "attribute", Value::none());
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += sep;
      out += toPythonStr(attribute.isString() ? attributeOf(interp, items[i], attribute.str()) : items[i]);
      interp.checkStringSize(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    bool by_attr = name == "selectattr" || name == "rejectattr";
    bool keep_if = name == "selectattr" || name == "select";
    size_t first_test_arg = by_attr ? 1 : 0;
    std::string attribute = by_attr ? needString(paramOr(args, 0, "", Value::undefined()), name.c_str()) : "";
    ValueList out;
    for (const Value& item : items) {
      Value subject = by_attr ? attributeOf(interp, item, attribute) : item;
      bool ok;
      if (args.args.size() > first_test_arg) {
        std::string test = needString(args.args[first_test_arg], name.c_str());
        if (!hasTest(test)) runtimeError("no test named '" + test + "'");
        CallArgs test_args;
        test_args.args.assign(args.args.begin() + static_cast<long>(first_test_arg) + 1, args.args.end());
        ok = applyTest(interp, test, subject, test_args);
      } else {
        ok = subject.truthy();
      }
      if (ok == keep_if) out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "map") {
    ValueList out;
    if (const Value* attribute = args.kwarg("attribute")) {
      const Value* def = args.kwarg("default");
      for (const Value& item : items) {
        Value x = attributeOf(interp, item, toPythonStr(*attribute));
        out.push_back(x.isUndefined() && def ? *def : x);
      }
      return Value::list(std::move(out));
    }
    std::string filter = needString(paramOr(args, 0, "", Value::undefined()), "map");
    if (!hasFilter(filter)) runtimeError("no filter named '" + filter + "'");
    CallArgs filter_args;
    filter_args.args.assign(args.args.begin() + 1, args.args.end());
    filter_args.kwargs = args.kwargs;
    for (const Value& item : items) out.push_back(applyFilter(interp, filter, item, filter_args));
    return Value::list(std::move(out));
  }
  if (name == "unique" || name == "sort" || name == "min" || name == "max") {
    bool case_sensitive = paramOr(args, name == "sort" ? 1 : 0, "case_sensitive", Value::boolean(false)).truthy();
    Value attribute = paramOr(args, name == "sort" ? 2 : 1, "attribute", Value::none());
    if (name == "unique") {
      ValueList out, seen;
      for (const Value& item : items) {
        Value key = sortKey(interp, item, attribute, case_sensitive);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return valuesEqual(s, key); })) {
          seen.push_back(key);
          out.push_back(item);
        }
      }
      return Value::list(std::move(out));
    }
    auto less = [&](const Value& a, const Value& b) {
      return valueLess(sortKey(interp, a, attribute, case_sensitive), sortKey(interp, b, attribute, case_sensitive));
    };
    if (name == "sort") {
      bool reverse = paramOr(args, 0, "reverse", Value::boolean(false)).truthy();
      std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
        return reverse ? less(b, a) : less(a, b);
      });
      return Value::list(std::move(items));
    }
    if (items.empty()) return Value::undefined(name);
    return name == "min" ? *std::min_element(items.begin(), items.end(), less)
                         : *std::max_element(items.begin(), items.end(), less);
  }
  if (name == "sum") {
    Value attribute = paramOr(args, 0, "attribute", Value::none());
    Value total = paramOr(args, 1, "start", Value::integer(0));
    for (const Value& item : items) {
      Value x = attribute.isString() ? attributeOf(interp, item, attribute.str()) : item;
      if (!x.isNumber() || !total.isNumber()) runtimeError("sum expects numbers, got " + x.typeName());
      total = (x.isFloat() || total.isFloat()) ? Value::number(total.asDouble() + x.asDouble())
                                               : Value::integer(total.asInt() + x.asInt());
    }
    return total;
  }
  if (name == "batch") {
    int64_t size = needInt(paramOr(args, 0, "linecount", Value::undefined()), "batch");
    if (size <= 0) runtimeError("batch size must be positive");
    const Value* fill = param(args, 1, "fill_with");
    ValueList out, cur;
    for (const Value& item : items) {
      cur.push_back(item);
      if (static_cast<int64_t>(cur.size()) == size) {
        out.push_back(Value::list(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      if (fill && !fill->isNone())
        while (static_cast<int64_t>(cur.size()) < size) cur.push_back(*fill);
      out.push_back(Value::list(std::move(cur)));
    }
    return Value::list(std::move(out));
  }
  runtimeError("no filter named '" + name + "'");
}

}  // namespace tokenfab::jinja
