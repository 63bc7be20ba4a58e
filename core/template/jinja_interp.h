// Tree-walking interpreter for parsed templates. Internal to the tokenizer module.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "template/jinja_budget.h"
#include "template/jinja_template.h"

namespace tokenfab::jinja {

class Interpreter {
 public:
  explicit Interpreter(const RenderContext& context);
  // Empties every namespace the render created: a namespace can hold itself (or a long chain of
  // others), and emptying them one by one frees such structures without recursion.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  std::string render(const Template& tmpl);

  // Used by the built-ins.
  Value callValue(const Value& callee, CallArgs& args);
  Budget& budget() { return m_budget; }
  std::chrono::system_clock::time_point now() const { return m_now; }
  size_t currentOffset() const { return m_current_offset; }
  Value getAttr(const Value& object, const std::string& name);
  // A namespace() object made by this render, kept until the render ends (see the destructor).
  void adoptNamespace(const Value& ns) { m_namespaces.push_back(ns); }

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
  Budget m_budget;
  std::chrono::system_clock::time_point m_now;
  std::vector<Value> m_namespaces;
  const Template* m_template = nullptr;
  size_t m_current_offset = 0;  // of the statement/expression being evaluated, for errors

  friend Value invokeMacro(Interpreter& interp, const Stmt& macro, CallArgs& args);
};

// Filters, tests, methods and global functions (jinja_builtins.cpp, jinja_methods.cpp).
Value applyFilter(Interpreter& interp, const std::string& name, const Value& subject, CallArgs& args);
bool applyTest(Interpreter& interp, const std::string& name, const Value& subject, CallArgs& args);
bool hasTest(const std::string& name);
bool hasFilter(const std::string& name);
// A method of a str / dict value (`s.strip()`, `d.items()`).
bool hasMethod(const Value& object, const std::string& name);
Value callMethod(Interpreter& interp, const Value& object, const std::string& name, CallArgs& args);
void addGlobals(ValueDict& globals);

}  // namespace tokenfab::jinja
