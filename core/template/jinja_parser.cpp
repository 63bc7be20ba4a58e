// Recursive-descent parser for the Jinja2 subset, following Jinja2's operator precedence:
// cond-expr < or < and < not < comparison < + - < ~ < * / // % < ** < unary < postfix / filter.
#include <new>
#include <set>
#include <stdexcept>
#include <utility>

#include "template/jinja_interp.h"
#include "template/jinja_lexer.h"
#include "template/jinja_template.h"

namespace tokenfab::jinja {

namespace {

// Placeholder subject of a filter chain applied to a block body ({% filter %}, {% set x | f %}).
constexpr const char* kBodyName = "\x01body";

class Parser {
 public:
  Parser(std::vector<Token> tokens, const Limits& limits) : m_tokens(std::move(tokens)), m_limits(limits) {}

  Body parseAll() {
    Body body = parseBody({});
    if (peek().kind != TokenKind::kEnd) error(peek().offset, "unexpected '" + blockName() + "' tag");
    return body;
  }

 private:
  // Nesting in the source becomes recursion in the parser, the evaluator and the tree's
  // destructor; each level is counted against limits.max_nesting.
  void deeper(size_t offset) {
    if (++m_depth > m_limits.max_nesting)
      throw JinjaError{Code::kTemplateLimit,
                       "template nested deeper than " + std::to_string(m_limits.max_nesting) + " levels", offset};
  }
  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, size_t offset) : p(parser) { p.deeper(offset); }
    ~DepthGuard() { --p.m_depth; }
  };
  // A chain such as a.b.c, 1 + 2 + 3 or x | f | g is parsed by a loop, but every link makes the
  // tree one level deeper: each link counts like a parenthesis would.
  struct ChainDepth {
    Parser& p;
    uint32_t links = 0;
    explicit ChainDepth(Parser& parser) : p(parser) {}
    void link(size_t offset) {
      ++links;
      p.deeper(offset);
    }
    ~ChainDepth() { p.m_depth -= links; }
  };

  [[noreturn]] void error(size_t offset, const std::string& message) {
    throw JinjaError{Code::kTemplateSyntax, message, offset};
  }

  const Token& peek(size_t ahead = 0) const {
    size_t i = m_pos + ahead;
    return i < m_tokens.size() ? m_tokens[i] : m_tokens.back();
  }
  const Token& next() {
    const Token& t = peek();
    if (m_pos < m_tokens.size() - 1) ++m_pos;
    return t;
  }
  bool isOp(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kOp && peek(ahead).text == op;
  }
  bool isName(std::string_view name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kName && peek(ahead).text == name;
  }
  bool acceptOp(std::string_view op) {
    if (!isOp(op)) return false;
    next();
    return true;
  }
  bool acceptName(std::string_view name) {
    if (!isName(name)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd: return "end of template";
      case TokenKind::kVarEnd: return "'}}'";
      case TokenKind::kBlockEnd: return "'%}'";
      case TokenKind::kText: return "template text";
      case TokenKind::kString: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  void expectOp(std::string_view op) {
    if (!acceptOp(op)) error(peek().offset, "expected '" + std::string(op) + "', got " + describe(peek()));
  }
  std::string expectName() {
    if (peek().kind != TokenKind::kName) error(peek().offset, "expected a name, got " + describe(peek()));
    return next().text;
  }
  void expectBlockEnd() {
    if (peek().kind != TokenKind::kBlockEnd) error(peek().offset, "expected '%}', got " + describe(peek()));
    next();
  }
  std::string blockName() const {
    return peek().kind == TokenKind::kBlockBegin && peek(1).kind == TokenKind::kName ? peek(1).text : "";
  }

  // ---- statements -------------------------------------------------------------------------

  // Parses until a block tag whose name is in `terminators` (left unconsumed) or the end.
  Body parseBody(const std::set<std::string>& terminators) {
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::kEnd) {
        if (!terminators.empty())
          error(t.offset, "unexpected end of template: missing '{% " + *terminators.rbegin() + " %}'");
        return body;
      }
      if (t.kind == TokenKind::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->offset = t.offset;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->offset = t.offset;
        s->expr = parseTuple();
        if (peek().kind != TokenKind::kVarEnd) error(peek().offset, "expected '}}', got " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kBlockBegin) {
        std::string name = blockName();
        if (name.empty()) error(peek(1).offset, "expected a tag name after '{%'");
        if (terminators.count(name)) return body;
        DepthGuard guard(*this, t.offset);
        body.push_back(parseStatement());
      } else {
        error(t.offset, "unexpected " + describe(t));
      }
    }
  }

  std::unique_ptr<Stmt> parseStatement() {
    size_t offset = next().offset;  // {%
    const Token& name_token = next();
    const std::string& name = name_token.text;
    auto s = std::make_unique<Stmt>();
    s->offset = offset;
    if (name == "if") {
      s->kind = Stmt::Kind::kIf;
      ExprPtr cond = parseTuple();
      expectBlockEnd();
      while (true) {
        Body branch = parseBody({"elif", "else", "endif"});
        s->branches.emplace_back(std::move(cond), std::move(branch));
        std::string tag = blockName();
        next();
        next();
        if (tag == "elif") {
          cond = parseTuple();
          expectBlockEnd();
          continue;
        }
        if (tag == "else") {
          expectBlockEnd();
          s->else_body = parseBody({"endif"});
          next();
          next();
        }
        expectBlockEnd();
        break;
      }
    } else if (name == "for") {
      s->kind = Stmt::Kind::kFor;
      bool paren = acceptOp("(");
      do {
        s->targets.push_back(expectName());
      } while (acceptOp(","));
      if (paren) expectOp(")");
      if (!acceptName("in")) error(peek().offset, "expected 'in' in for loop, got " + describe(peek()));
      s->expr = parseTuple(/*with_condexpr=*/false);
      if (acceptName("if")) s->cond = parseExpression();
      acceptName("recursive");
      expectBlockEnd();
      ++m_loop_depth;
      s->body = parseBody({"else", "endfor"});
      --m_loop_depth;
      if (blockName() == "else") {
        next();
        next();
        expectBlockEnd();
        s->else_body = parseBody({"endfor"});
      }
      next();
      next();
      expectBlockEnd();
    } else if (name == "set") {
      std::string first = expectName();
      if (acceptOp(".")) {
        s->attr_target = true;
        s->text = first;
        s->targets.push_back(expectName());
      } else {
        s->targets.push_back(first);
        while (acceptOp(",")) s->targets.push_back(expectName());
      }
      if (acceptOp("=")) {
        s->kind = Stmt::Kind::kSet;
        s->expr = parseTuple();
        expectBlockEnd();
      } else {
        if (s->attr_target || s->targets.size() != 1) error(peek().offset, "expected '=' in set");
        s->kind = Stmt::Kind::kSetBlock;
        if (isOp("|")) s->expr = parseFilterChain(bodyPlaceholder(peek().offset));
        expectBlockEnd();
        s->body = parseBody({"endset"});
        next();
        next();
        expectBlockEnd();
      }
    } else if (name == "macro") {
      s->kind = Stmt::Kind::kMacro;
      s->text = expectName();
      expectOp("(");
      if (!isOp(")")) {
        do {
          std::string param = expectName();
          ExprPtr def;
          if (acceptOp("=")) def = parseExpression();
          s->params.emplace_back(std::move(param), std::move(def));
        } while (acceptOp(","));
      }
      expectOp(")");
      expectBlockEnd();
      int outer_loop_depth = std::exchange(m_loop_depth, 0);  // a loop does not reach into a macro
      s->body = parseBody({"endmacro"});
      m_loop_depth = outer_loop_depth;
      next();
      next();
      expectBlockEnd();
    } else if (name == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      // "{% filter name(args) | other %}": the chain is parsed as if "body | name(args) | other"
      m_pos -= 1;
      m_tokens[m_pos].kind = TokenKind::kOp;
      m_tokens[m_pos].text = "|";
      s->expr = parseFilterChain(bodyPlaceholder(offset));
      expectBlockEnd();
      s->body = parseBody({"endfilter"});
      next();
      next();
      expectBlockEnd();
    } else if (name == "generation") {
      // HF's assistant-mask marker: renders its body unchanged.
      s->kind = Stmt::Kind::kIf;
      expectBlockEnd();
      auto always = std::make_unique<Expr>();
      always->value = Value::boolean(true);
      s->branches.emplace_back(std::move(always), parseBody({"endgeneration"}));
      next();
      next();
      expectBlockEnd();
    } else if (name == "break" || name == "continue") {
      if (m_loop_depth == 0) error(name_token.offset, "'" + name + "' outside of a loop");
      s->kind = name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      expectBlockEnd();
    } else if (name == "do") {
      s->kind = Stmt::Kind::kDo;
      s->expr = parseTuple();
      expectBlockEnd();
    } else {
      error(name_token.offset, "unknown tag '" + name + "'");
    }
    return s;
  }

  // ---- expressions ------------------------------------------------------------------------

  ExprPtr make(Expr::Kind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }

  ExprPtr bodyPlaceholder(size_t offset) {
    ExprPtr e = make(Expr::Kind::kName, offset);
    e->name = kBodyName;
    return e;
  }

  // "a, b" without brackets is a tuple (a list here).
  ExprPtr parseTuple(bool with_condexpr = true) {
    size_t offset = peek().offset;
    ExprPtr first = with_condexpr ? parseExpression() : parseOr();
    if (!isOp(",")) return first;
    ExprPtr list = make(Expr::Kind::kList, offset);
    list->args.push_back(std::move(first));
    while (acceptOp(",")) {
      if (peek().kind == TokenKind::kVarEnd || peek().kind == TokenKind::kBlockEnd || isName("if")) break;
      list->args.push_back(with_condexpr ? parseExpression() : parseOr());
    }
    return list;
  }

  ExprPtr parseExpression() {
    DepthGuard guard(*this, peek().offset);
    ExprPtr e = parseOr();
    ChainDepth chain(*this);
    while (isName("if")) {
      size_t offset = next().offset;
      chain.link(offset);
      ExprPtr c = make(Expr::Kind::kCond, offset);
      c->args.push_back(std::move(e));
      c->args.push_back(parseOr());
      c->args.push_back(acceptName("else") ? parseExpression() : nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(Expr::Kind kind, std::string op, ExprPtr lhs, ExprPtr rhs, size_t offset) {
    ExprPtr e = make(kind, offset);
    e->name = std::move(op);
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return e;
  }

  ExprPtr parseOr() {
    ExprPtr e = parseAnd();
    ChainDepth chain(*this);
    while (isName("or")) {
      size_t offset = next().offset;
      chain.link(offset);
      e = binary(Expr::Kind::kOr, "or", std::move(e), parseAnd(), offset);
    }
    return e;
  }

  ExprPtr parseAnd() {
    ExprPtr e = parseNot();
    ChainDepth chain(*this);
    while (isName("and")) {
      size_t offset = next().offset;
      chain.link(offset);
      e = binary(Expr::Kind::kAnd, "and", std::move(e), parseNot(), offset);
    }
    return e;
  }

  ExprPtr parseNot() {
    if (isName("not")) {
      DepthGuard guard(*this, peek().offset);
      size_t offset = next().offset;
      ExprPtr e = make(Expr::Kind::kUnary, offset);
      e->name = "not";
      e->args.push_back(parseNot());
      return e;
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    ExprPtr e = parseMath1();
    ChainDepth chain(*this);
    while (true) {
      size_t offset = peek().offset;
      std::string op;
      if (peek().kind == TokenKind::kOp &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (isName("in")) {
        next();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        return e;
      }
      chain.link(offset);
      e = binary(Expr::Kind::kBinary, op, std::move(e), parseMath1(), offset);
    }
  }

  ExprPtr parseMath1() {
    ExprPtr e = parseConcat();
    ChainDepth chain(*this);
    while (isOp("+") || isOp("-")) {
      const Token& t = next();
      chain.link(t.offset);
      e = binary(Expr::Kind::kBinary, t.text, std::move(e), parseConcat(), t.offset);
    }
    return e;
  }

  ExprPtr parseConcat() {
    ExprPtr e = parseMath2();
    ChainDepth chain(*this);
    while (isOp("~")) {
      const Token& t = next();
      chain.link(t.offset);
      e = binary(Expr::Kind::kBinary, "~", std::move(e), parseMath2(), t.offset);
    }
    return e;
  }

  ExprPtr parseMath2() {
    ExprPtr e = parsePow();
    ChainDepth chain(*this);
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      const Token& t = next();
      chain.link(t.offset);
      e = binary(Expr::Kind::kBinary, t.text, std::move(e), parsePow(), t.offset);
    }
    return e;
  }

  ExprPtr parsePow() {
    ExprPtr e = parseUnary(true);
    ChainDepth chain(*this);
    while (isOp("**")) {
      const Token& t = next();
      chain.link(t.offset);
      e = binary(Expr::Kind::kBinary, "**", std::move(e), parseUnary(true), t.offset);
    }
    return e;
  }

  ExprPtr parseUnary(bool with_filter) {
    DepthGuard guard(*this, peek().offset);
    ExprPtr e;
    if (isOp("-") || isOp("+")) {
      const Token& t = next();
      e = make(Expr::Kind::kUnary, t.offset);
      e->name = t.text;
      e->args.push_back(parseUnary(false));
    } else {
      e = parsePrimary();
    }
    e = parsePostfix(std::move(e));
    if (with_filter) e = parseFilterChain(std::move(e));
    return e;
  }

  ExprPtr parsePrimary() {
    const Token& t = peek();
    size_t offset = t.offset;
    switch (t.kind) {
      case TokenKind::kName: {
        next();
        ExprPtr e = make(Expr::Kind::kLiteral, offset);
        if (t.text == "true" || t.text == "True") e->value = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") e->value = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") e->value = Value::none();
        else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        return e;
      }
      case TokenKind::kString: {
        std::string s = next().text;
        while (peek().kind == TokenKind::kString) s += next().text;  // adjacent literals join
        ExprPtr e = make(Expr::Kind::kLiteral, offset);
        e->value = Value::string(std::move(s));
        return e;
      }
      case TokenKind::kInt: {
        ExprPtr e = make(Expr::Kind::kLiteral, offset);
        e->value = Value::integer(next().int_value);
        return e;
      }
      case TokenKind::kFloat: {
        ExprPtr e = make(Expr::Kind::kLiteral, offset);
        e->value = Value::number(next().float_value);
        return e;
      }
      case TokenKind::kOp:
        if (t.text == "(") {
          next();
          if (acceptOp(")")) return make(Expr::Kind::kList, offset);  // empty tuple
          ExprPtr e = parseExpression();
          if (isOp(",")) {
            ExprPtr list = make(Expr::Kind::kList, offset);
            list->args.push_back(std::move(e));
            while (acceptOp(",")) {
              if (isOp(")")) break;
              list->args.push_back(parseExpression());
            }
            e = std::move(list);
          }
          expectOp(")");
          return e;
        }
        if (t.text == "[") {
          next();
          ExprPtr list = make(Expr::Kind::kList, offset);
          while (!isOp("]")) {
            list->args.push_back(parseExpression());
            if (!acceptOp(",")) break;
          }
          expectOp("]");
          return list;
        }
        if (t.text == "{") {
          next();
          ExprPtr dict = make(Expr::Kind::kDict, offset);
          while (!isOp("}")) {
            dict->args.push_back(parseExpression());
            expectOp(":");
            dict->args.push_back(parseExpression());
            if (!acceptOp(",")) break;
          }
          expectOp("}");
          return dict;
        }
        break;
      default:
        break;
    }
    error(offset, "unexpected " + describe(t));
  }

  ExprPtr parsePostfix(ExprPtr e) {
    ChainDepth chain(*this);
    while (true) {
      size_t offset = peek().offset;
      if (isOp(".") || isOp("[") || isOp("(")) chain.link(offset);
      if (acceptOp(".")) {
        ExprPtr a = make(Expr::Kind::kAttr, offset);
        if (peek().kind == TokenKind::kInt) {
          a->kind = Expr::Kind::kIndex;
          a->args.push_back(std::move(e));
          ExprPtr idx = make(Expr::Kind::kLiteral, offset);
          idx->value = Value::integer(next().int_value);
          a->args.push_back(std::move(idx));
        } else {
          a->name = expectName();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (acceptOp("[")) {
        e = parseSubscript(std::move(e), offset);
      } else if (isOp("(")) {
        e = parseCall(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr subject, size_t offset) {
    ExprPtr parts[3];
    bool is_slice = false;
    for (int i = 0; i < 3; ++i) {
      if (!isOp(":") && !isOp("]")) parts[i] = parseExpression();
      if (i < 2 && acceptOp(":")) {
        is_slice = true;
        continue;
      }
      break;
    }
    expectOp("]");
    ExprPtr e = make(is_slice ? Expr::Kind::kSlice : Expr::Kind::kIndex, offset);
    e->args.push_back(std::move(subject));
    if (!is_slice) {
      if (!parts[0]) error(offset, "empty subscript");
      e->args.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) e->args.push_back(std::move(p));
    }
    return e;
  }

  // Parses "(args, name=value)" into e's args[1..] / kwargs.
  void parseArgs(Expr& e) {
    expectOp("(");
    while (!isOp(")")) {
      if (peek().kind == TokenKind::kName && isOp("=", 1)) {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parseExpression());
      } else {
        if (!e.kwargs.empty()) error(peek().offset, "positional argument after keyword argument");
        e.args.push_back(parseExpression());
      }
      if (!acceptOp(",")) break;
    }
    expectOp(")");
  }

  ExprPtr parseCall(ExprPtr callee) {
    ExprPtr e = make(Expr::Kind::kCall, peek().offset);
    e->args.push_back(std::move(callee));
    parseArgs(*e);
    return e;
  }

  ExprPtr parseFilterChain(ExprPtr e) {
    ChainDepth chain(*this);
    while (true) {
      size_t offset = peek().offset;
      if (isOp("|") || isName("is") || isOp("(")) chain.link(offset);
      if (acceptOp("|")) {
        ExprPtr f = make(Expr::Kind::kFilter, offset);
        f->name = expectName();
        if (!hasFilter(f->name)) error(offset, "no filter named '" + f->name + "'");
        f->args.push_back(std::move(e));
        if (isOp("(")) parseArgs(*f);
        e = std::move(f);
      } else if (isName("is")) {
        next();
        ExprPtr t = make(Expr::Kind::kTest, offset);
        t->negated = acceptName("not");
        if (isOp("==") || isOp("!=") || isOp("<") || isOp(">") || isOp("<=") || isOp(">=")) {
          t->name = next().text;
        } else {
          t->name = expectName();
        }
        if (!hasTest(t->name)) error(offset, "no test named '" + t->name + "'");
        t->args.push_back(std::move(e));
        if (isOp("(")) {
          parseArgs(*t);
        } else if (startsTestArgument()) {
          ExprPtr arg = parsePostfix(parsePrimary());
          t->args.push_back(std::move(arg));
        }
        e = std::move(t);
      } else if (isOp("(")) {
        e = parseCall(std::move(e));
      } else {
        return e;
      }
    }
  }

  bool startsTestArgument() const {
    const Token& t = peek();
    if (t.kind == TokenKind::kString || t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat) return true;
    if (t.kind == TokenKind::kName)
      return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "if" && t.text != "is" &&
             t.text != "in" && t.text != "not";
    return t.kind == TokenKind::kOp && (t.text == "[" || t.text == "{");
  }

  std::vector<Token> m_tokens;
  Limits m_limits;
  size_t m_pos = 0;
  uint32_t m_depth = 0;
  int m_loop_depth = 0;  // for-loop bodies enclosing the current position
};

}  // namespace

Result<std::shared_ptr<const Template>> parseTemplate(std::string_view source, const Limits& limits,
                                                      const LexOptions& lex_options) {
  std::string normalized = normalizeSource(source);
  TF_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexTemplate(normalized, lex_options));
  try {
    auto tmpl = std::make_shared<Template>();
    tmpl->source = normalized;
    tmpl->body = Parser(std::move(tokens), limits).parseAll();
    return std::shared_ptr<const Template>(std::move(tmpl));
  } catch (const JinjaError& e) {
    return Status(e.code, describeOffset(normalized, e.offset) + ": " + e.message, e.offset);
  } catch (const std::bad_alloc&) {
    return Status(Code::kTemplateLimit, "out of memory while parsing the template");
  } catch (const std::exception& e) {
    return Status(Code::kTemplateSyntax, std::string("internal error while parsing: ") + e.what());
  }
}

}  // namespace tokenfab::jinja
