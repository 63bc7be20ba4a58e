// Syntax tree of a parsed Jinja template. Expressions and statements are plain tagged structs;
// the interpreter (jinja_interp.cpp) walks them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "template/jinja_value.h"

namespace tokenfab::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // args = items
    kDict,     // args = key0, value0, key1, value1...
    kAttr,     // args[0].name
    kIndex,    // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]] (missing parts are null)
    kCall,     // args[0](args[1..], kwargs)
    kFilter,   // args[0] | name(args[1..], kwargs)
    kTest,     // args[0] is [not] name(args[1..])
    kUnary,    // op args[0]: "-", "+", "not"
    kBinary,   // args[0] op args[1]: arithmetic, comparison, "in", "not in", "~"
    kAnd,
    kOr,
    kCond,     // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind = Kind::kLiteral;
  size_t offset = 0;
  Value value;
  std::string name;  // variable, attribute, filter or test name; operator for unary/binary
  bool negated = false;  // "is not"
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // branches (cond, body); else_body
    kFor,          // targets in expr [if cond]: body [else else_body]
    kSet,          // targets = expr, or target_object.attr = expr
    kSetBlock,     // {% set target %}body{% endset %}, optional filter (expr with a null subject)
    kMacro,        // name(params) body
    kFilterBlock,  // {% filter f %}body{% endfilter %}
    kBreak,
    kContinue,
    kDo,           // {% do expr %}
  };
  Kind kind = Kind::kText;
  size_t offset = 0;
  std::string text;                 // kText; macro name; namespace object for "set ns.attr"
  std::vector<std::string> targets; // loop / set targets; attribute name for "set ns.attr"
  bool attr_target = false;         // set ns.attr = ...
  ExprPtr expr;                     // output / iterable / value / filter-block filter chain
  ExprPtr cond;                     // for ... if cond
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters with defaults
};

struct Template {
  std::string source;
  Body body;
};

}  // namespace tokenfab::jinja
