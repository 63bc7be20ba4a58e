#include "template/jinja_interp.h"

#include <algorithm>
#include <new>
#include <stdexcept>

#include "template/jinja_lexer.h"
#include "template/jinja_ops.h"

namespace tokenfab::jinja {

namespace {

constexpr const char* kBodyName = "\x01body";  // see jinja_parser.cpp

void requireDefined(const Value& v) {
  if (v.isUndefined()) runtimeError("'" + v.str() + "' is undefined");
}

}  // namespace

Interpreter::Interpreter(const RenderContext& context) : m_budget(context.limits), m_now(context.now) {
  auto globals = std::make_shared<ValueDict>();
  addGlobals(*globals);
  for (const auto& [k, v] : context.variables.items()) globals->set(k, v);
  m_scopes.push_back(std::move(globals));
}

Interpreter::~Interpreter() {
  m_scopes.clear();
  // Every namespace is still held here, so emptying one never frees another from inside it.
  for (Value& ns : m_namespaces) ns.entries().clear();
}

std::string Interpreter::render(const Template& tmpl) {
  m_template = &tmpl;
  std::string out;
  if (execBody(tmpl.body, out) != Flow::kNormal) runtimeError("'break' or 'continue' outside of a loop");
  m_budget.setOutputBytes(out.size());
  return out;
}

void Interpreter::append(std::string& out, const std::string& text) {
  m_budget.checkValueSize(out.size() + text.size());
  m_budget.workBytes(text.size());
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
  m_budget.steps();
  auto nested = m_budget.enterEval();
  m_current_offset = s.offset;
  switch (s.kind) {
    case Stmt::Kind::kText:
      append(out, s.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput:
      append(out, toPythonStr(m_budget, eval(*s.expr)));
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
      else append(out, toPythonStr(m_budget, v));
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
  if (!iterable.isList()) expanded = iterate(m_budget, iterable);
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
      m_budget.loopIteration();
      bind(item);
      if (!eval(*s.cond).truthy()) continue;
    }
    items.push_back(&item);
  }
  const auto n = static_cast<int64_t>(items.size());
  // One `loop` object per loop, updated in place each iteration.
  auto index = std::make_shared<int64_t>(0);
  enum Field { kIndex, kIndex0, kRevindex, kRevindex0, kFirst, kLast, kLength, kDepth, kDepth0, kPrev, kNext, kCycle };
  ValueDict loop_fields;
  for (const char* key : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth",
                          "depth0", "previtem", "nextitem", "cycle"})
    loop_fields.set(key, Value());
  loop_fields.valueAt(kLength) = Value::integer(n);
  loop_fields.valueAt(kDepth) = Value::integer(1);
  loop_fields.valueAt(kDepth0) = Value::integer(0);
  loop_fields.valueAt(kCycle) = Value::callable("loop.cycle", [index](Interpreter&, CallArgs& args) {
    if (args.args.empty()) runtimeError("no items for cycling given");
    return args.args[static_cast<size_t>(*index) % args.args.size()];
  });
  Value loop = Value::dict(std::move(loop_fields));
  ValueDict& f = loop.entries();
  scope->set("loop", loop);
  for (int64_t i = 0; i < n; ++i) {
    m_budget.loopIteration();
    bind(*items[static_cast<size_t>(i)]);
    *index = i;
    f.valueAt(kIndex) = Value::integer(i + 1);
    f.valueAt(kIndex0) = Value::integer(i);
    f.valueAt(kRevindex) = Value::integer(n - i);
    f.valueAt(kRevindex0) = Value::integer(n - i - 1);
    f.valueAt(kFirst) = Value::boolean(i == 0);
    f.valueAt(kLast) = Value::boolean(i == n - 1);
    f.valueAt(kPrev) = i > 0 ? *items[static_cast<size_t>(i - 1)] : Value::undefined("previtem");
    f.valueAt(kNext) = i + 1 < n ? *items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem");
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
  auto call = interp.m_budget.enterCall();
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
    ~Restore() { i.m_scopes = std::move(s); }
  } restore{interp, saved};
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
  m_budget.workBytes(name.size());  // hashed or compared (|attr(name) takes any string)
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
  if (key.isString()) m_budget.workBytes(key.str().size());  // hashed or compared
  if (object.isDict()) {
    if (key.isString()) {
      if (const Value* v = object.entries().find(key.str())) return *v;
    }
    return Value::undefined(toPythonStr(m_budget, key));
  }
  if ((object.isList() || object.isString()) && (key.isInt() || key.isBool())) {
    int64_t i = key.asInt();
    if (object.isList()) {
      auto n = static_cast<int64_t>(object.items().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("[" + std::to_string(key.asInt()) + "]");
      return object.items()[static_cast<size_t>(i)];
    }
    m_budget.workBytes(object.str().size());
    std::vector<char32_t> cps = decodeUtf8(object.str());
    auto n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("[" + std::to_string(key.asInt()) + "]");
    return Value::string(encodeUtf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
  }
  if (key.isString()) return getAttr(object, key.str());
  return Value::undefined(toPythonStr(m_budget, key));
}

Value Interpreter::eval(const Expr& e) {
  m_budget.steps();
  auto nested = m_budget.enterEval();
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
        const std::string text = key.isString() ? key.str() : toPythonStr(m_budget, key);
        m_budget.workBytes(text.size());  // copied and hashed
        d.set(text, eval(*e.args[k + 1]));
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
      m_current_offset = e.offset;
      return sliceValue(m_budget, subject, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall:
      return evalCall(e);
    case Expr::Kind::kFilter:
      return evalFilter(e);
    case Expr::Kind::kTest:
      return Value::boolean(evalTest(e));
    case Expr::Kind::kUnary: {
      Value v = eval(*e.args[0]);
      m_current_offset = e.offset;
      if (e.name == "not") return Value::boolean(!v.truthy());
      if (e.name == "-") return negate(v);
      requireDefined(v);
      if (!v.isNumber()) runtimeError("bad operand type for unary +: '" + v.typeName() + "'");
      return v.isBool() ? Value::integer(v.asInt()) : v;
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
  m_current_offset = e.offset;
  if (op == "==") return Value::boolean(valuesEqual(m_budget, a, b));
  if (op == "!=") return Value::boolean(!valuesEqual(m_budget, a, b));
  if (op == "<") return Value::boolean(valueLess(m_budget, a, b));
  if (op == ">") return Value::boolean(valueLess(m_budget, b, a));
  if (op == "<=") return Value::boolean(!valueLess(m_budget, b, a));
  if (op == ">=") return Value::boolean(!valueLess(m_budget, a, b));
  if (op == "in") return Value::boolean(contains(m_budget, b, a));
  if (op == "not in") return Value::boolean(!contains(m_budget, b, a));
  if (op == "~") return concatenateText(m_budget, a, b);
  if (op == "+") return concatenate(m_budget, a, b);
  if (op == "*" && (a.isString() || a.isList() || b.isString() || b.isList())) return repeat(m_budget, a, b);
  return arithmetic(op, a, b);
}

Value Interpreter::evalCall(const Expr& e) {
  const Expr& callee = *e.args[0];
  CallArgs args;
  auto eval_args = [&] {
    for (size_t k = 1; k < e.args.size(); ++k) args.args.push_back(eval(*e.args[k]));
    for (const auto& [name, expr] : e.kwargs) args.kwargs.emplace_back(name, eval(*expr));
    m_current_offset = e.offset;
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

Result<std::string> renderTemplate(const Template& tmpl, const RenderContext& context, Usage* usage) {
  // Whatever goes wrong inside, the caller gets a Status with the position being evaluated.
  size_t offset = 0;
  auto located = [&](Code code, const std::string& message) {
    return Status(code, describeOffset(tmpl.source, offset) + ": " + message, offset);
  };
  try {
    Interpreter interp(context);
    struct Report {  // the usage is reported on every way out
      Interpreter& interp;
      Usage* usage;
      size_t& offset;
      ~Report() {
        if (usage) *usage = interp.budget().usage();
        offset = interp.currentOffset();
      }
    } report{interp, usage, offset};
    try {
      return interp.render(tmpl);
    } catch (const JinjaError& err) {
      if (err.code == Code::kTemplateRaised) return Status(err.code, err.message);
      const size_t at = err.offset != static_cast<size_t>(-1) ? err.offset : interp.currentOffset();
      return Status(err.code, describeOffset(tmpl.source, at) + ": " + err.message, at);
    }
  } catch (const std::bad_alloc&) {
    return located(Code::kTemplateLimit, "out of memory while rendering the template");
  } catch (const std::exception& e) {
    return located(Code::kTemplateRuntime, std::string("internal error while rendering: ") + e.what());
  } catch (...) {
    return located(Code::kTemplateRuntime, "internal error while rendering");
  }
}

}  // namespace tokenfab::jinja
