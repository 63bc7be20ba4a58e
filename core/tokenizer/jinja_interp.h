// Tree-walking interpreter for parsed templates. Internal to the tokenizer module.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/jinja_template.h"

namespace tokenfab::jinja {

class Interpreter {
 public:
  explicit Interpreter(const RenderContext& context);

  std::string render(const Template& tmpl);

  // Used by the built-ins.
  Value callValue(const Value& callee, CallArgs& args);
  void countStep();
  void checkStringSize(size_t bytes) const;
  std::chrono::system_clock::time_point now() const { return m_now; }
  const Limits& limits() const { return m_limits; }
  size_t currentOffset() const { return m_current_offset; }
  Value getAttr(const Value& object, const std::string& name);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using Scope = std::shared_ptr<ValueDict>;

  Flow execBody(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  Flow execFor(const Stmt& s, std::string& out);
  void execSet(const Stmt& s);
  void defineMacro(const Stmt& s);
  void append(std::string& out, const std::string& text);

  Value eval(const Expr& e);
  Value evalBinary(const Expr& e);
  Value evalCall(const Expr& e);
  Value evalFilter(const Expr& e);
  bool evalTest(const Expr& e);
  Value getItem(const Value& object, const Value& key);

  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value value);

  std::vector<Scope> m_scopes;  // innermost last; [0] holds globals and top-level sets
  Limits m_limits;
  std::chrono::system_clock::time_point m_now;
  std::chrono::steady_clock::time_point m_deadline;
  uint64_t m_steps = 0;
  uint64_t m_iterations = 0;
  uint64_t m_output_bytes = 0;
  uint32_t m_call_depth = 0;
  const Template* m_template = nullptr;
  size_t m_current_offset = 0;  // of the statement/expression being evaluated, for errors

  friend Value invokeMacro(Interpreter& interp, const Stmt& macro, CallArgs& args);
};

// Filters, tests, methods and global functions (jinja_builtins.cpp).
Value applyFilter(Interpreter& interp, const std::string& name, const Value& subject, CallArgs& args);
bool applyTest(Interpreter& interp, const std::string& name, const Value& subject, CallArgs& args);
bool hasTest(const std::string& name);
bool hasFilter(const std::string& name);
// A method of a str / dict value (`s.strip()`, `d.items()`); nullopt-like Undefined if unknown.
bool hasMethod(const Value& object, const std::string& name);
Value callMethod(Interpreter& interp, const Value& object, const std::string& name, CallArgs& args);
void addGlobals(ValueDict& globals);

// Helpers shared by the interpreter and the built-ins.
Value sliceValue(const Value& subject, const Value& start, const Value& stop, const Value& step);
std::vector<Value> iterate(const Value& v);  // list items, dict keys, string characters
int64_t lengthOf(const Value& v);

}  // namespace tokenfab::jinja
