// str / dict methods (`s.strip()`, `d.items()`) and the global functions of the Jinja subset.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <set>

#include "template/jinja_interp.h"
#include "template/jinja_ops.h"
#include "template/jinja_text.h"

namespace tokenfab::jinja {

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
  Budget& budget = interp.budget();
  if (object.isDict()) {
    const ValueDict& d = object.entries();
    ValueList out;
    if (name == "get") {
      const Value* key = param(args, 0, "key");
      if (!key) runtimeError("get() expects a key");
      if (key->isString()) budget.workBytes(key->str().size());
      const Value* v = key->isString() ? d.find(key->str()) : nullptr;
      return v ? *v : paramOr(args, 1, "default", Value::none());
    }
    budget.items(d.size(), name == "items" ? 3 * sizeof(Value) : sizeof(Value));
    if (name != "values") budget.workBytes(d.keyBytes());
    for (const auto& [k, v] : d.items()) {
      if (name == "items") out.push_back(Value::list({Value::string(k), v}));
      else if (name == "keys") out.push_back(Value::string(k));
      else out.push_back(v);
    }
    return Value::list(std::move(out));
  }
  const std::string& s = object.str();
  // Every str method reads the whole string (and most build one as long).
  budget.workBytes(s.size());
  auto built = [&](std::string text) {
    budget.checkValueSize(text.size());
    budget.workBytes(text.size());
    return Value::string(std::move(text));
  };
  if (name == "strip") return built(strip(budget, s, paramOr(args, 0, "chars", Value::none()), 3));
  if (name == "lstrip") return built(strip(budget, s, paramOr(args, 0, "chars", Value::none()), 1));
  if (name == "rstrip") return built(strip(budget, s, paramOr(args, 0, "chars", Value::none()), 2));
  if (name == "split") {
    Value maxsplit = paramOr(args, 1, "maxsplit", Value::integer(-1));
    return split(budget, s, paramOr(args, 0, "sep", Value::none()), needInt(maxsplit, "split"));
  }
  if (name == "title") return built(pythonTitle(s));
  if (name == "capitalize") return built(capitalize(s));
  if (name == "upper") return built(mapCase(s, upperCp));
  if (name == "lower") return built(mapCase(s, lowerCp));
  if (name == "replace") {
    Value count = paramOr(args, 2, "count", Value::integer(-1));
    return Value::string(replace(budget, s, needString(paramOr(args, 0, "", Value::undefined()), "replace"),
                                 needString(paramOr(args, 1, "", Value::undefined()), "replace"),
                                 needInt(count, "replace")));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = param(args, 0, "");
    if (!affix) runtimeError(name + "() takes at least 1 argument");
    budget.steps(affix->isList() ? affix->items().size() : 1);
    return Value::boolean(startsOrEnds(s, *affix, name == "startswith"));
  }
  if (name == "format") return Value::string(pythonFormat(budget, s, args));
  if (name == "join") {
    std::string out;
    std::vector<Value> items = iterate(budget, paramOr(args, 0, "", Value::list()));
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& piece = needString(items[i], "join");
      budget.checkValueSize(out.size() + (i > 0 ? s.size() : 0) + piece.size());
      budget.workBytes((i > 0 ? s.size() : 0) + piece.size());
      if (i > 0) out += s;
      out += piece;
    }
    return Value::string(std::move(out));
  }
  if (name == "find" || name == "count") {
    const std::string sub = needString(paramOr(args, 0, "", Value::undefined()), name.c_str());
    budget.workBytes(sub.size());
    if (name == "find") {
      size_t hit = findText(s, sub);
      if (hit == std::string::npos) return Value::integer(-1);
      return Value::integer(static_cast<int64_t>(decodeUtf8(s.substr(0, hit)).size()));
    }
    if (sub.empty()) return Value::integer(static_cast<int64_t>(countCodePoints(s)) + 1);
    int64_t n = 0;
    for (size_t pos = findText(s, sub); pos != std::string::npos; pos = findText(s, sub, pos + sub.size())) ++n;
    return Value::integer(n);
  }
  std::vector<char32_t> cps = decodeUtf8(s);
  if (cps.empty()) return Value::boolean(false);
  auto all = [&](auto pred) { return Value::boolean(std::all_of(cps.begin(), cps.end(), pred)); };
  if (name == "isdigit") return all([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isalpha") return all([](char32_t c) { return isLetter(c); });
  if (name == "isspace") return all([](char32_t c) { return isPythonSpace(c); });
  budget.workBytes(2 * s.size());  // the case tests map the string twice
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
    // Counted exactly before anything is made: stepping to `stop` could overflow int64. Jinja2's
    // sandbox refuses ranges of more than MAX_RANGE items; so does this one.
    constexpr uint64_t kMaxRange = 100'000;
    const uint64_t count = rangeLength(start, stop, step);
    if (count > kMaxRange)
      fail(Code::kTemplateLimit, "range() of " + std::to_string(count) + " items: the sandbox allows " +
                                     std::to_string(kMaxRange) + " at most (as Jinja2's)");
    interp.budget().items(count, sizeof(Value));
    ValueList out;
    out.reserve(count);
    // Each item fits in int64, but k * step alone may not: computed modulo 2^64 (C++20's
    // conversion back to int64 is exact for a value that fits).
    for (uint64_t k = 0; k < count; ++k)
      out.push_back(Value::integer(static_cast<int64_t>(static_cast<uint64_t>(start) + k * static_cast<uint64_t>(step))));
    return Value::list(std::move(out));
  }));
  // namespace(...) and dict(...): mappings and keyword arguments merged into a new dict.
  auto merged = [](Interpreter& interp, CallArgs& args, bool is_namespace, const char* what) {
    ValueDict d;
    d.is_namespace = is_namespace;
    for (const Value& a : args.args) {
      if (!a.isDict()) runtimeError(std::string(what) + "() positional arguments must be mappings");
      interp.budget().items(a.entries().size(), sizeof(ValueDict::Entry));
      interp.budget().workBytes(a.entries().keyBytes());
      for (const auto& [k, v] : a.entries().items()) d.set(k, v);
    }
    for (const auto& [k, v] : args.kwargs) d.set(k, v);
    return Value::dict(std::move(d));
  };
  globals.set("namespace", Value::callable("namespace", [merged](Interpreter& interp, CallArgs& args) {
    Value ns = merged(interp, args, true, "namespace");
    interp.adoptNamespace(ns);
    return ns;
  }));
  globals.set("dict", Value::callable("dict", [merged](Interpreter& interp, CallArgs& args) {
    return merged(interp, args, false, "dict");
  }));
  globals.set("raise_exception", Value::callable("raise_exception", [](Interpreter& interp, CallArgs& args) -> Value {
    fail(Code::kTemplateRaised,
         args.args.empty() ? std::string("raise_exception() called") : toPythonStr(interp.budget(), args.args[0]));
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
