// Filters, tests, str/dict methods and global functions of the Jinja subset. Semantics follow
// Jinja2 3.1 and Python 3 (what Hugging Face transformers renders chat templates with).
#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "tokenizer/jinja_interp.h"

namespace tokenfab::jinja {

namespace {

// Positional argument `pos`, else keyword `name`, else nullptr.
const Value* param(const CallArgs& a, size_t pos, std::string_view name) {
  if (pos < a.args.size()) return &a.args[pos];
  return name.empty() ? nullptr : a.kwarg(name);
}

Value paramOr(const CallArgs& a, size_t pos, std::string_view name, Value def) {
  const Value* v = param(a, pos, name);
  return v ? *v : std::move(def);
}

const std::string& needString(const Value& v, const char* what) {
  if (!v.isString()) runtimeError(std::string(what) + " expects a string, got " + v.typeName());
  return v.str();
}

int64_t needInt(const Value& v, const char* what) {
  if (!v.isInt() && !v.isBool()) runtimeError(std::string(what) + " expects an integer, got " + v.typeName());
  return v.asInt();
}

char32_t upperCp(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))); }
char32_t lowerCp(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }
bool isLetter(char32_t c) {
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
}

std::string mapCase(const std::string& s, char32_t (*fn)(char32_t)) {
  std::string out;
  for (char32_t c : decodeUtf8(s)) appendUtf8(out, fn(c));
  return out;
}

// Python str.title(): a letter after a non-letter starts a word.
std::string pythonTitle(const std::string& s) {
  std::string out;
  bool prev_letter = false;
  for (char32_t c : decodeUtf8(s)) {
    bool letter = isLetter(c);
    appendUtf8(out, letter ? (prev_letter ? lowerCp(c) : upperCp(c)) : c);
    prev_letter = letter;
  }
  return out;
}

// Jinja's |title: words are split at runs of whitespace, '-', '(', '{', '[', '<'.
std::string jinjaTitle(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (char32_t c : decodeUtf8(s)) {
    bool sep = isPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      appendUtf8(out, c);
      word_start = true;
    } else {
      appendUtf8(out, word_start ? upperCp(c) : lowerCp(c));
      word_start = false;
    }
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::vector<char32_t> cps = decodeUtf8(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) appendUtf8(out, i == 0 ? upperCp(cps[i]) : lowerCp(cps[i]));
  return out;
}

// Python str.strip([chars]) family; which: 1 = left, 2 = right, 3 = both.
std::string strip(const std::string& s, const Value& chars, int which) {
  std::vector<char32_t> cps = decodeUtf8(s);
  std::vector<char32_t> set;
  bool use_set = chars.isString();
  if (use_set) set = decodeUtf8(chars.str());
  auto strippable = [&](char32_t c) {
    return use_set ? std::find(set.begin(), set.end(), c) != set.end() : isPythonSpace(c);
  };
  size_t b = 0, e = cps.size();
  if (which & 1)
    while (b < e && strippable(cps[b])) ++b;
  if (which & 2)
    while (e > b && strippable(cps[e - 1])) --e;
  return encodeUtf8(cps, b, e);
}

std::string replace(Interpreter& interp, const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every character
    std::vector<char32_t> cps = decodeUtf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) appendUtf8(out, cps[i]);
      interp.checkStringSize(out.size());
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    interp.checkStringSize(out.size());
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Value split(const std::string& s, const Value& sep, int64_t maxsplit) {
  ValueList out;
  if (!sep.isString()) {  // split on runs of whitespace, dropping empty pieces
    std::vector<char32_t> cps = decodeUtf8(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && isPythonSpace(cps[i])) ++i;
      if (i >= cps.size()) break;
      size_t j = i;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
        size_t e = cps.size();
        while (e > i && isPythonSpace(cps[e - 1])) --e;
        out.push_back(Value::string(encodeUtf8(cps, i, e)));
        break;
      }
      while (j < cps.size() && !isPythonSpace(cps[j])) ++j;
      out.push_back(Value::string(encodeUtf8(cps, i, j)));
      i = j;
    }
    return Value::list(std::move(out));
  }
  const std::string& d = sep.str();
  if (d.empty()) runtimeError("empty separator");
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    out.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + d.size();
  }
  out.push_back(Value::string(s.substr(pos)));
  return Value::list(std::move(out));
}

bool startsOrEnds(const std::string& s, const Value& affix, bool starts) {
  auto one = [&](const Value& a) {
    const std::string& x = needString(a, starts ? "startswith" : "endswith");
    if (x.size() > s.size()) return false;
    return starts ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.isList()) {
    for (const Value& a : affix.items())
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

// Python str.format with "{}", "{0}", "{name}" and "{{" / "}}" (no format specs).
std::string pythonFormat(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos) runtimeError("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < args.args.size() ? &args.args[auto_index] : nullptr;
        ++auto_index;
      } else if (std::all_of(field.begin(), field.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        size_t k = std::stoul(field);
        v = k < args.args.size() ? &args.args[k] : nullptr;
      } else {
        v = args.kwarg(field);
      }
      if (!v) runtimeError("format: missing argument for field '{" + field + "}'");
      out += toPythonStr(*v);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

// `attribute` may be dotted ("function.name") or an integer index, as in Jinja's make_attrgetter.
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

std::string indent(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::vector<std::string> lines;
  size_t pos = 0;
  std::string text = s + "\n";  // as Jinja does, so a trailing newline keeps its empty line
  while (pos < text.size()) {
    size_t nl = text.find_first_of("\r\n", pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (text[nl] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    bool do_pad = i == 0 ? first : (blank || !lines[i].empty());
    if (do_pad) out += pad;
    out += lines[i];
  }
  return out;
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
  if (name == "safe") return v;
  if (name == "string") return Value::string(toPythonStr(v));
  if (name == "trim") return Value::string(strip(toPythonStr(v), paramOr(args, 0, "chars", Value::none()), 3));
  if (name == "upper") return Value::string(mapCase(toPythonStr(v), upperCp));
  if (name == "lower") return Value::string(mapCase(toPythonStr(v), lowerCp));
  if (name == "title") return Value::string(jinjaTitle(toPythonStr(v)));
  if (name == "capitalize") return Value::string(capitalize(toPythonStr(v)));
  if (name == "e" || name == "escape") return Value::string(htmlEscape(toPythonStr(v)));
  if (name == "wordcount") return Value::integer(lengthOf(split(toPythonStr(v), Value::none(), -1)));
  if (name == "tojson") {
    Value ind = paramOr(args, 0, "indent", Value::none());
    int indent_width = ind.isNone() ? -1 : static_cast<int>(std::clamp<int64_t>(needInt(ind, "tojson indent"), 0, 64));
    bool sort_keys = paramOr(args, 99, "sort_keys", Value::boolean(false)).truthy();
    std::string json = toJson(v, indent_width, sort_keys);
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

bool hasMethod(const Value& object, const std::string& name) {
  static const std::set<std::string> kStringMethods = {
      "strip", "lstrip", "rstrip", "split", "title", "capitalize", "upper", "lower", "replace", "startswith",
      "endswith", "format", "join", "find", "count", "isdigit", "isalpha", "isspace", "islower", "isupper"};
  static const std::set<std::string> kDictMethods = {"items", "keys", "values", "get"};
  if (object.isString()) return kStringMethods.count(name) > 0;
  if (object.isDict() && !object.entries().is_namespace) return kDictMethods.count(name) > 0;
  return false;
}

Value callMethod(Interpreter& interp, const Value& object, const std::string& name, CallArgs& args) {
  if (object.isDict()) {
    const ValueDict& d = object.entries();
    ValueList out;
    if (name == "get") {
      const Value* key = param(args, 0, "key");
      if (!key) runtimeError("get() expects a key");
      const Value* v = key->isString() ? d.find(key->str()) : nullptr;
      return v ? *v : paramOr(args, 1, "default", Value::none());
    }
    for (const auto& [k, v] : d.entries) {
      if (name == "items") out.push_back(Value::list({Value::string(k), v}));
      else if (name == "keys") out.push_back(Value::string(k));
      else out.push_back(v);
    }
    return Value::list(std::move(out));
  }
  const std::string& s = object.str();
  if (name == "strip") return Value::string(strip(s, paramOr(args, 0, "chars", Value::none()), 3));
  if (name == "lstrip") return Value::string(strip(s, paramOr(args, 0, "chars", Value::none()), 1));
  if (name == "rstrip") return Value::string(strip(s, paramOr(args, 0, "chars", Value::none()), 2));
  if (name == "split") {
    Value maxsplit = paramOr(args, 1, "maxsplit", Value::integer(-1));
    return split(s, paramOr(args, 0, "sep", Value::none()), needInt(maxsplit, "split"));
  }
  if (name == "title") return Value::string(pythonTitle(s));
  if (name == "capitalize") return Value::string(capitalize(s));
  if (name == "upper") return Value::string(mapCase(s, upperCp));
  if (name == "lower") return Value::string(mapCase(s, lowerCp));
  if (name == "replace") {
    Value count = paramOr(args, 2, "count", Value::integer(-1));
    return Value::string(replace(interp, s, needString(paramOr(args, 0, "", Value::undefined()), "replace"),
                                 needString(paramOr(args, 1, "", Value::undefined()), "replace"),
                                 needInt(count, "replace")));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = param(args, 0, "");
    if (!affix) runtimeError(name + "() takes at least 1 argument");
    return Value::boolean(startsOrEnds(s, *affix, name == "startswith"));
  }
  if (name == "format") {
    std::string out = pythonFormat(s, args);
    interp.checkStringSize(out.size());
    return Value::string(std::move(out));
  }
  if (name == "join") {
    std::string out;
    std::vector<Value> items = iterate(paramOr(args, 0, "", Value::list()));
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += s;
      out += needString(items[i], "join");
      interp.checkStringSize(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "find" || name == "count") {
    const std::string sub = needString(paramOr(args, 0, "", Value::undefined()), name.c_str());
    if (name == "find") {
      size_t hit = s.find(sub);
      if (hit == std::string::npos) return Value::integer(-1);
      return Value::integer(static_cast<int64_t>(decodeUtf8(s.substr(0, hit)).size()));
    }
    if (sub.empty()) return Value::integer(static_cast<int64_t>(decodeUtf8(s).size()) + 1);
    int64_t n = 0;
    for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
    return Value::integer(n);
  }
  std::vector<char32_t> cps = decodeUtf8(s);
  if (cps.empty()) return Value::boolean(false);
  auto all = [&](auto pred) { return Value::boolean(std::all_of(cps.begin(), cps.end(), pred)); };
  if (name == "isdigit") return all([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isalpha") return all([](char32_t c) { return isLetter(c); });
  if (name == "isspace") return all([](char32_t c) { return isPythonSpace(c); });
  if (name == "islower") return Value::boolean(mapCase(s, lowerCp) == s && mapCase(s, upperCp) != s);
  if (name == "isupper") return Value::boolean(mapCase(s, upperCp) == s && mapCase(s, lowerCp) != s);
  runtimeError("'str' object has no attribute '" + name + "'");
}

void addGlobals(ValueDict& globals) {
  globals.set("range", Value::callable("range", [](Interpreter& interp, CallArgs& args) {
    if (args.args.empty() || args.args.size() > 3) runtimeError("range expected 1 to 3 arguments");
    int64_t start = 0, stop = 0, step = 1;
    if (args.args.size() == 1) {
      stop = needInt(args.args[0], "range");
    } else {
      start = needInt(args.args[0], "range");
      stop = needInt(args.args[1], "range");
      if (args.args.size() == 3) step = needInt(args.args[2], "range");
    }
    if (step == 0) runtimeError("range() arg 3 must not be zero");
    double count = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
    if (count > static_cast<double>(interp.limits().max_loop_iterations))
      fail(Code::kTemplateLimit, "range() of " + formatFloat(count) + " items exceeds the loop limit");
    ValueList out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::integer(i));
    return Value::list(std::move(out));
  }));
  globals.set("namespace", Value::callable("namespace", [](Interpreter&, CallArgs& args) {
    ValueDict ns;
    ns.is_namespace = true;
    for (const Value& a : args.args) {
      if (!a.isDict()) runtimeError("namespace() positional arguments must be mappings");
      for (const auto& [k, v] : a.entries().entries) ns.set(k, v);
    }
    for (const auto& [k, v] : args.kwargs) ns.set(k, v);
    return Value::dict(std::move(ns));
  }));
  globals.set("dict", Value::callable("dict", [](Interpreter&, CallArgs& args) {
    ValueDict d;
    for (const Value& a : args.args) {
      if (!a.isDict()) runtimeError("dict() positional arguments must be mappings");
      for (const auto& [k, v] : a.entries().entries) d.set(k, v);
    }
    for (const auto& [k, v] : args.kwargs) d.set(k, v);
    return Value::dict(std::move(d));
  }));
  globals.set("raise_exception", Value::callable("raise_exception", [](Interpreter&, CallArgs& args) -> Value {
    fail(Code::kTemplateRaised, args.args.empty() ? std::string("raise_exception() called") : toPythonStr(args.args[0]));
  }));
  globals.set("strftime_now", Value::callable("strftime_now", [](Interpreter& interp, CallArgs& args) {
    const std::string fmt = needString(paramOr(args, 0, "format", Value::undefined()), "strftime_now");
    if (fmt.size() > 256) runtimeError("strftime_now format too long");
    std::time_t t = std::chrono::system_clock::to_time_t(interp.now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[4096];
    size_t n = std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
    return Value::string(std::string(buf, n));
  }));
}

}  // namespace tokenfab::jinja
