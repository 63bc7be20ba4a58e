#include "tokenizer/jinja_interp.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "tokenizer/jinja_lexer.h"

namespace tokenfab::jinja {

namespace {

constexpr const char* kBodyName = "\x01body";  // see jinja_parser.cpp

[[noreturn]] void typeError(const std::string& op, const Value& a, const Value& b) {
  runtimeError("unsupported operand type(s) for " + op + ": '" + a.typeName() + "' and '" + b.typeName() + "'");
}

void requireDefined(const Value& v) {
  if (v.isUndefined()) runtimeError("'" + v.str() + "' is undefined");
}

template <typename Op>
int64_t checkedInt(Op op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op(x, y, &r)) fail(Code::kTemplateLimit, "integer overflow");
  return r;
}
bool addOverflow(int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }
bool subOverflow(int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }
bool mulOverflow(int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  requireDefined(a);
  requireDefined(b);
  if (!a.isNumber() || !b.isNumber()) typeError(op, a, b);
  bool use_float = a.isFloat() || b.isFloat() || op == "/";
  if (use_float) {
    double x = a.asDouble(), y = b.asDouble();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (op == "**") return Value::number(std::pow(x, y));
    if (y == 0.0) runtimeError("division by zero");
    if (op == "/") return Value::number(x / y);
    if (op == "//") return Value::number(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
    return Value::number(r);
  }
  int64_t x = a.asInt(), y = b.asInt();
  if (op == "+") return Value::integer(checkedInt(addOverflow, x, y));
  if (op == "-") return Value::integer(checkedInt(subOverflow, x, y));
  if (op == "*") return Value::integer(checkedInt(mulOverflow, x, y));
  if (op == "**") {
    if (y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
    int64_t result = 1;
    for (int64_t i = 0; i < y; ++i) {
      result = checkedInt(mulOverflow, result, x);
      if (result == 0 || result == 1) break;
    }
    return Value::integer(result);
  }
  if (y == 0) runtimeError("integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) fail(Code::kTemplateLimit, "integer overflow");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
    q -= 1;
    m += y;
  }
  return Value::integer(op == "//" ? q : m);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.isString()) runtimeError("'in <string>' requires string as left operand, not " + item.typeName());
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.items())
        if (valuesEqual(v, item)) return true;
      return false;
    case Value::Kind::kDict:
      return item.isString() && container.entries().find(item.str()) != nullptr;
    default:
      runtimeError("argument of type '" + container.typeName() + "' is not iterable");
  }
}

}  // namespace

int64_t lengthOf(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(decodeUtf8(v.str()).size());
    case Value::Kind::kList: return static_cast<int64_t>(v.items().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.entries().entries.size());
    default: runtimeError("object of type '" + v.typeName() + "' has no len()");
  }
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return out;
    case Value::Kind::kList:
      return v.items();
    case Value::Kind::kDict:
      for (const auto& [k, e] : v.entries().entries) out.push_back(Value::string(k));
      return out;
    case Value::Kind::kString:
      for (char32_t cp : decodeUtf8(v.str())) {
        std::string s;
        appendUtf8(s, cp);
        out.push_back(Value::string(std::move(s)));
      }
      return out;
    default:
      runtimeError("'" + v.typeName() + "' object is not iterable");
  }
}

Value sliceValue(const Value& subject, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.isUndefined() || v.isNone()) return std::nullopt;
    if (!v.isInt() && !v.isBool()) runtimeError(std::string("slice ") + what + " must be an integer");
    return v.asInt();
  };
  std::optional<int64_t> start = as_index(start_v, "start"), stop = as_index(stop_v, "stop");
  int64_t step = as_index(step_v, "step").value_or(1);
  if (step == 0) runtimeError("slice step cannot be zero");
  std::vector<char32_t> cps;
  int64_t n = 0;
  if (subject.isString()) {
    cps = decodeUtf8(subject.str());
    n = static_cast<int64_t>(cps.size());
  } else if (subject.isList()) {
    n = static_cast<int64_t>(subject.items().size());
  } else {
    requireDefined(subject);
    runtimeError("'" + subject.typeName() + "' object is not subscriptable");
  }
  // Python's slice.indices()
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t lo = clamp(start, step > 0 ? 0 : n - 1);
  int64_t hi = clamp(stop, step > 0 ? n : -1);
  std::vector<int64_t> picked;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) picked.push_back(i);
  if (subject.isString()) {
    std::string out;
    for (int64_t i : picked) appendUtf8(out, cps[static_cast<size_t>(i)]);
    return Value::string(std::move(out));
  }
  ValueList out;
  for (int64_t i : picked) out.push_back(subject.items()[static_cast<size_t>(i)]);
  return Value::list(std::move(out));
}

Interpreter::Interpreter(const RenderContext& context)
    : m_limits(context.limits), m_now(context.now) {
  auto globals = std::make_shared<ValueDict>();
  addGlobals(*globals);
  for (const auto& [k, v] : context.variables.entries) globals->set(k, v);
  m_scopes.push_back(std::move(globals));
  m_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_limits.max_render_ms);
}

std::string Interpreter::render(const Template& tmpl) {
  m_template = &tmpl;
  std::string out;
  if (execBody(tmpl.body, out) != Flow::kNormal) runtimeError("'break' or 'continue' outside of a loop");
  return out;
}

void Interpreter::countStep() {
  if (++m_steps > m_limits.max_steps)
    fail(Code::kTemplateLimit, "template evaluation exceeded " + std::to_string(m_limits.max_steps) + " steps");
  if ((m_steps & 1023) == 0 && std::chrono::steady_clock::now() > m_deadline)
    fail(Code::kTemplateLimit, "template rendering exceeded " + std::to_string(m_limits.max_render_ms) + " ms");
}

void Interpreter::checkStringSize(size_t bytes) const {
  if (bytes > m_limits.max_output_bytes)
    fail(Code::kTemplateLimit, "a value of " + std::to_string(bytes) + " bytes exceeds the output limit");
}

void Interpreter::append(std::string& out, const std::string& text) {
  m_output_bytes += text.size();
  if (m_output_bytes > m_limits.max_output_bytes)
    fail(Code::kTemplateLimit, "template output exceeds " + std::to_string(m_limits.max_output_bytes) + " bytes");
  out += text;
}

Value Interpreter::lookup(const std::string& name) const {
  for (auto it = m_scopes.rbegin(); it != m_scopes.rend(); ++it)
    if (const Value* v = (*it)->find(name)) return *v;
  return Value::undefined(name);
}

void Interpreter::assign(const std::string& name, Value value) { m_scopes.back()->set(name, std::move(value)); }

Interpreter::Flow Interpreter::execBody(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, std::string& out) {
  countStep();
  m_current_offset = s.offset;
  switch (s.kind) {
    case Stmt::Kind::kText:
      append(out, s.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput:
      append(out, toPythonStr(eval(*s.expr)));
      return Flow::kNormal;
    case Stmt::Kind::kIf:
      for (const auto& [cond, body] : s.branches)
        if (eval(*cond).truthy()) return execBody(body, out);
      return execBody(s.else_body, out);
    case Stmt::Kind::kFor:
      return execFor(s, out);
    case Stmt::Kind::kSet:
      execSet(s);
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock:
    case Stmt::Kind::kFilterBlock: {
      std::string captured;
      Flow f = execBody(s.body, captured);
      Value v = Value::string(std::move(captured));
      if (s.expr) {
        auto scope = std::make_shared<ValueDict>();
        scope->set(kBodyName, v);
        m_scopes.push_back(scope);
        v = eval(*s.expr);
        m_scopes.pop_back();
      }
      if (s.kind == Stmt::Kind::kSetBlock) assign(s.targets[0], std::move(v));
      else append(out, toPythonStr(v));
      return f;
    }
    case Stmt::Kind::kMacro:
      defineMacro(s);
      return Flow::kNormal;
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kDo:
      eval(*s.expr);
      return Flow::kNormal;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::execFor(const Stmt& s, std::string& out) {
  Value iterable = eval(*s.expr);
  // Lists are iterated in place (templates cannot mutate them); other iterables are expanded.
  std::vector<Value> expanded;
  if (!iterable.isList()) expanded = iterate(iterable);
  const std::vector<Value>& all = iterable.isList() ? iterable.items() : expanded;
  auto scope = std::make_shared<ValueDict>();
  auto bind = [&](const Value& item) {
    if (s.targets.size() == 1) {
      scope->set(s.targets[0], item);
      return;
    }
    if (!item.isList() || item.items().size() != s.targets.size())
      runtimeError("cannot unpack " + item.typeName() + " into " + std::to_string(s.targets.size()) + " loop variables");
    for (size_t k = 0; k < s.targets.size(); ++k) scope->set(s.targets[k], item.items()[k]);
  };
  m_scopes.push_back(scope);
  std::vector<const Value*> items;
  items.reserve(all.size());
  for (const Value& item : all) {
    if (s.cond) {
      countStep();
      bind(item);
      if (!eval(*s.cond).truthy()) continue;
    }
    items.push_back(&item);
  }
  const auto n = static_cast<int64_t>(items.size());
  // One `loop` object per loop, updated in place each iteration.
  auto index = std::make_shared<int64_t>(0);
  ValueDict loop_fields;
  for (const char* key : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth",
                          "depth0", "previtem", "nextitem", "cycle"})
    loop_fields.entries.emplace_back(key, Value());
  Value loop = Value::dict(std::move(loop_fields));
  auto& f = loop.entries().entries;
  f[6].second = Value::integer(n);
  f[7].second = Value::integer(1);
  f[8].second = Value::integer(0);
  f[11].second = Value::callable("loop.cycle", [index](Interpreter&, CallArgs& args) {
    if (args.args.empty()) runtimeError("no items for cycling given");
    return args.args[static_cast<size_t>(*index) % args.args.size()];
  });
  scope->set("loop", loop);
  for (int64_t i = 0; i < n; ++i) {
    countStep();
    if (++m_iterations > m_limits.max_loop_iterations)
      fail(Code::kTemplateLimit, "loop iterations exceeded " + std::to_string(m_limits.max_loop_iterations));
    bind(*items[static_cast<size_t>(i)]);
    *index = i;
    f[0].second = Value::integer(i + 1);
    f[1].second = Value::integer(i);
    f[2].second = Value::integer(n - i);
    f[3].second = Value::integer(n - i - 1);
    f[4].second = Value::boolean(i == 0);
    f[5].second = Value::boolean(i == n - 1);
    f[9].second = i > 0 ? *items[static_cast<size_t>(i - 1)] : Value::undefined("previtem");
    f[10].second = i + 1 < n ? *items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem");
    if (execBody(s.body, out) == Flow::kBreak) break;
  }
  m_scopes.pop_back();
  if (n == 0) return execBody(s.else_body, out);
  return Flow::kNormal;
}

void Interpreter::execSet(const Stmt& s) {
  Value v = eval(*s.expr);
  if (s.attr_target) {
    Value ns = lookup(s.text);
    if (!ns.isDict() || !ns.entries().is_namespace)
      runtimeError("cannot assign attribute on non-namespace object '" + s.text + "'");
    ns.entries().set(s.targets[0], std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    assign(s.targets[0], std::move(v));
    return;
  }
  if (!v.isList() || v.items().size() != s.targets.size())
    runtimeError("cannot unpack " + v.typeName() + " into " + std::to_string(s.targets.size()) + " variables");
  for (size_t k = 0; k < s.targets.size(); ++k) assign(s.targets[k], v.items()[k]);
}

Value invokeMacro(Interpreter& interp, const Stmt& macro, CallArgs& args) {
  if (interp.m_call_depth >= interp.m_limits.max_call_depth)
    fail(Code::kTemplateLimit, "macro calls nested deeper than " + std::to_string(interp.m_limits.max_call_depth));
  if (args.args.size() > macro.params.size())
    runtimeError("macro '" + macro.text + "' takes not more than " + std::to_string(macro.params.size()) + " argument(s)");
  for (const auto& [k, v] : args.kwargs) {
    bool known = false;
    for (const auto& p : macro.params) known = known || p.first == k;
    if (!known) runtimeError("macro '" + macro.text + "' takes no keyword argument '" + k + "'");
  }
  auto frame = std::make_shared<ValueDict>();
  std::vector<Interpreter::Scope> saved = std::move(interp.m_scopes);
  interp.m_scopes = {saved.front(), frame};
  struct Restore {
    Interpreter& i;
    std::vector<Interpreter::Scope>& s;
    ~Restore() {
      i.m_scopes = std::move(s);
      --i.m_call_depth;
    }
  } restore{interp, saved};
  ++interp.m_call_depth;
  for (size_t k = 0; k < macro.params.size(); ++k) {
    const auto& [name, def] = macro.params[k];
    if (k < args.args.size()) frame->set(name, args.args[k]);
    else if (const Value* kw = args.kwarg(name)) frame->set(name, *kw);
    else if (def) frame->set(name, interp.eval(*def));
    else frame->set(name, Value::undefined(name));
  }
  std::string out;
  interp.execBody(macro.body, out);
  return Value::string(std::move(out));
}

void Interpreter::defineMacro(const Stmt& s) {
  const Stmt* macro = &s;
  assign(s.text, Value::callable(s.text, [macro](Interpreter& interp, CallArgs& args) {
           return invokeMacro(interp, *macro, args);
         }));
}

Value Interpreter::callValue(const Value& callee, CallArgs& args) {
  if (!callee.isCallable()) {
    requireDefined(callee);
    runtimeError("'" + callee.typeName() + "' object is not callable");
  }
  return callee.fn().fn(*this, args);
}

Value Interpreter::getAttr(const Value& object, const std::string& name) {
  requireDefined(object);
  if (hasMethod(object, name)) {
    Value self = object;
    return Value::callable(name, [self, name](Interpreter& interp, CallArgs& args) {
      return callMethod(interp, self, name, args);
    });
  }
  if (object.isDict()) {
    if (const Value* v = object.entries().find(name)) return *v;
  }
  return Value::undefined(name);
}

Value Interpreter::getItem(const Value& object, const Value& key) {
  requireDefined(object);
  if (object.isDict()) {
    if (key.isString()) {
      if (const Value* v = object.entries().find(key.str())) return *v;
    }
    return Value::undefined(toPythonStr(key));
  }
  if ((object.isList() || object.isString()) && (key.isInt() || key.isBool())) {
    int64_t i = key.asInt();
    if (object.isList()) {
      auto n = static_cast<int64_t>(object.items().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("[" + std::to_string(key.asInt()) + "]");
      return object.items()[static_cast<size_t>(i)];
    }
    std::vector<char32_t> cps = decodeUtf8(object.str());
    auto n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("[" + std::to_string(key.asInt()) + "]");
    return Value::string(encodeUtf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
  }
  if (key.isString()) return getAttr(object, key.str());
  return Value::undefined(toPythonStr(key));
}

Value Interpreter::eval(const Expr& e) {
  countStep();
  m_current_offset = e.offset;
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList: {
      ValueList items;
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items));
    }
    case Expr::Kind::kDict: {
      ValueDict d;
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        Value key = eval(*e.args[k]);
        d.set(key.isString() ? key.str() : toPythonStr(key), eval(*e.args[k + 1]));
      }
      return Value::dict(std::move(d));
    }
    case Expr::Kind::kAttr:
      return getAttr(eval(*e.args[0]), e.name);
    case Expr::Kind::kIndex: {
      Value object = eval(*e.args[0]);
      return getItem(object, eval(*e.args[1]));
    }
    case Expr::Kind::kSlice: {
      Value subject = eval(*e.args[0]);
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (e.args[static_cast<size_t>(k) + 1]) parts[k] = eval(*e.args[static_cast<size_t>(k) + 1]);
      return sliceValue(subject, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall:
      return evalCall(e);
    case Expr::Kind::kFilter:
      return evalFilter(e);
    case Expr::Kind::kTest:
      return Value::boolean(evalTest(e));
    case Expr::Kind::kUnary: {
      Value v = eval(*e.args[0]);
      if (e.name == "not") return Value::boolean(!v.truthy());
      requireDefined(v);
      if (!v.isNumber()) runtimeError("bad operand type for unary " + e.name + ": '" + v.typeName() + "'");
      if (e.name == "+") return v.isBool() ? Value::integer(v.asInt()) : v;
      if (v.isFloat()) return Value::number(-v.asDouble());
      if (v.asInt() == INT64_MIN) fail(Code::kTemplateLimit, "integer overflow");
      return Value::integer(-v.asInt());
    }
    case Expr::Kind::kBinary:
      return evalBinary(e);
    case Expr::Kind::kAnd: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? eval(*e.args[1]) : a;
    }
    case Expr::Kind::kOr: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? a : eval(*e.args[1]);
    }
    case Expr::Kind::kCond:
      if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value::undefined();
  }
  return Value::undefined();
}

Value Interpreter::evalBinary(const Expr& e) {
  const std::string& op = e.name;
  Value a = eval(*e.args[0]);
  Value b = eval(*e.args[1]);
  if (op == "==") return Value::boolean(valuesEqual(a, b));
  if (op == "!=") return Value::boolean(!valuesEqual(a, b));
  if (op == "<") return Value::boolean(valueLess(a, b));
  if (op == ">") return Value::boolean(valueLess(b, a));
  if (op == "<=") return Value::boolean(!valueLess(b, a));
  if (op == ">=") return Value::boolean(!valueLess(a, b));
  if (op == "in") return Value::boolean(contains(b, a));
  if (op == "not in") return Value::boolean(!contains(b, a));
  if (op == "~") {
    std::string s = toPythonStr(a);
    std::string t = toPythonStr(b);
    checkStringSize(s.size() + t.size());
    return Value::string(s + t);
  }
  if (op == "+") {
    if (a.isString() && b.isString()) {
      checkStringSize(a.str().size() + b.str().size());
      if (a.isMarkup() == b.isMarkup()) return a.isMarkup() ? Value::markup(a.str() + b.str()) : Value::string(a.str() + b.str());
      // Markup + str escapes the plain side (jinja2's Markup.__add__ / __radd__).
      std::string joined = a.isMarkup() ? a.str() + htmlEscape(b.str()) : htmlEscape(a.str()) + b.str();
      checkStringSize(joined.size());
      return Value::markup(std::move(joined));
    }
    if (a.isList() && b.isList()) {
      checkStringSize((a.items().size() + b.items().size()) * sizeof(Value));
      ValueList items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items));
    }
    if (a.isString() || b.isString() || a.isList() || b.isList()) {
      requireDefined(a);
      requireDefined(b);
      typeError(op, a, b);
    }
  }
  if (op == "*" && (a.isString() || a.isList() || b.isString() || b.isList())) {
    const Value& seq = (a.isString() || a.isList()) ? a : b;
    const Value& count = (a.isString() || a.isList()) ? b : a;
    if (!count.isInt() && !count.isBool()) typeError(op, a, b);
    int64_t n = std::max<int64_t>(0, count.asInt());
    size_t unit = seq.isString() ? seq.str().size() : seq.items().size() * sizeof(Value);
    if (unit > 0 && static_cast<uint64_t>(n) > m_limits.max_output_bytes / unit)
      fail(Code::kTemplateLimit, "sequence repetition exceeds the output limit");
    if (seq.isString()) {
      std::string out;
      for (int64_t k = 0; k < n; ++k) out += seq.str();
      return Value::string(std::move(out));
    }
    ValueList items;
    for (int64_t k = 0; k < n; ++k) items.insert(items.end(), seq.items().begin(), seq.items().end());
    return Value::list(std::move(items));
  }
  return arithmetic(op, a, b);
}

Value Interpreter::evalCall(const Expr& e) {
  const Expr& callee = *e.args[0];
  CallArgs args;
  auto eval_args = [&] {
    for (size_t k = 1; k < e.args.size(); ++k) args.args.push_back(eval(*e.args[k]));
    for (const auto& [name, expr] : e.kwargs) args.kwargs.emplace_back(name, eval(*expr));
  };
  if (callee.kind == Expr::Kind::kAttr) {
    Value object = eval(*callee.args[0]);
    if (hasMethod(object, callee.name)) {
      eval_args();
      return callMethod(*this, object, callee.name, args);
    }
    Value fn = getAttr(object, callee.name);
    eval_args();
    if (fn.isUndefined()) runtimeError("'" + object.typeName() + "' object has no attribute '" + callee.name + "'");
    return callValue(fn, args);
  }
  Value fn = eval(callee);
  eval_args();
  return callValue(fn, args);
}

Value Interpreter::evalFilter(const Expr& e) {
  Value subject = eval(*e.args[0]);
  CallArgs args;
  for (size_t k = 1; k < e.args.size(); ++k) args.args.push_back(eval(*e.args[k]));
  for (const auto& [name, expr] : e.kwargs) args.kwargs.emplace_back(name, eval(*expr));
  m_current_offset = e.offset;
  return applyFilter(*this, e.name, subject, args);
}

bool Interpreter::evalTest(const Expr& e) {
  Value subject = eval(*e.args[0]);
  CallArgs args;
  for (size_t k = 1; k < e.args.size(); ++k) args.args.push_back(eval(*e.args[k]));
  for (const auto& [name, expr] : e.kwargs) args.kwargs.emplace_back(name, eval(*expr));
  m_current_offset = e.offset;
  return applyTest(*this, e.name, subject, args) != e.negated;
}

Result<std::string> renderTemplate(const Template& tmpl, const RenderContext& context) {
  Interpreter interp(context);
  try {
    return interp.render(tmpl);
  } catch (const JinjaError& err) {
    if (err.code == Code::kTemplateRaised) return Status(err.code, err.message);
    size_t offset = err.offset != static_cast<size_t>(-1) ? err.offset : interp.currentOffset();
    return Status(err.code, describeOffset(tmpl.source, offset) + ": " + err.message, offset);
  } catch (const std::bad_alloc&) {
    return Status(Code::kTemplateLimit, "out of memory while rendering the template");
  }
}

}  // namespace tokenfab::jinja
