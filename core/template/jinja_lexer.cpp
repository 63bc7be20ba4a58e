#include "template/jinja_lexer.h"

#include <cctype>
#include <charconv>
#include <new>

#include "template/jinja_value.h"

namespace tokenfab::jinja {

namespace {

constexpr size_t kMaxNameBytes = 256;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& options) : m_src(src), m_options(options) {}

  std::vector<Token> run() {
    bool line_starting = true;  // the previous token ended with "\n" (or this is the start)
    while (m_pos < m_src.size()) {
      size_t tag = findTagStart(m_pos);
      std::string text(m_src.substr(m_pos, tag - m_pos));
      if (tag == m_src.size()) {
        emitText(std::move(text), m_pos);
        break;
      }
      char type = m_src[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < m_src.size() ? m_src[tag + 2] : '\0';
      if (sign == '-') {
        size_t end = text.size();
        while (end > 0 && isSpace(text[end - 1])) --end;
        text.resize(end);
      } else if (sign != '+' && m_options.lstrip_blocks && (type != '{' || m_options.lstrip_variables)) {
        size_t line_begin = text.rfind('\n');
        line_begin = line_begin == std::string::npos ? 0 : line_begin + 1;
        if (line_begin > 0 || line_starting) {
          bool blank = true;
          for (size_t i = line_begin; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t') blank = false;
          if (blank) text.resize(line_begin);
        }
      }
      emitText(std::move(text), m_pos);
      m_pos = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (type == '#') {
        lexComment(tag);
      } else if (type == '%' && lexRaw(tag)) {
        // {% raw %}...{% endraw %} became one text token
      } else {
        lexTag(type == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin, tag);
      }
      line_starting = m_pos > 0 && m_src[m_pos - 1] == '\n';
    }
    m_tokens.push_back(Token{TokenKind::kEnd, "", 0, 0.0, m_src.size()});
    return std::move(m_tokens);
  }

 private:
  [[noreturn]] void error(size_t offset, const std::string& message) {
    throw JinjaError{Code::kTemplateSyntax, message, offset};
  }

  size_t findTagStart(size_t from) const {
    for (size_t i = from; i + 1 < m_src.size(); ++i) {
      if (m_src[i] == '{' && (m_src[i + 1] == '{' || m_src[i + 1] == '%' || m_src[i + 1] == '#'))
        return i;
    }
    return m_src.size();
  }

  void emitText(std::string text, size_t offset) {
    if (!text.empty()) m_tokens.push_back(Token{TokenKind::kText, std::move(text), 0, 0.0, offset});
  }

  // After a closing delimiter: "-" eats all following whitespace; trim_blocks eats one newline
  // after a block or comment ("+" keeps it).
  void afterClose(char sign, bool is_block) {
    if (sign == '-') {
      while (m_pos < m_src.size() && isSpace(m_src[m_pos])) ++m_pos;
    } else if (sign != '+' && is_block && m_options.trim_blocks && m_pos < m_src.size() &&
               m_src[m_pos] == '\n') {
      ++m_pos;
    }
  }

  void lexComment(size_t start) {
    size_t end = m_src.find("#}", m_pos);
    if (end == std::string_view::npos) error(start, "unterminated comment");
    char sign = (end > m_pos && (m_src[end - 1] == '-' || m_src[end - 1] == '+')) ? m_src[end - 1] : '\0';
    m_pos = end + 2;
    afterClose(sign, true);
  }

  // At the inside of "{%": if the tag is "raw", emits its body verbatim as text and returns true.
  bool lexRaw(size_t start) {
    size_t p = m_pos;
    while (p < m_src.size() && isSpace(m_src[p])) ++p;
    if (m_src.substr(p, 3) != "raw" || (p + 3 < m_src.size() && isNameChar(m_src[p + 3]))) return false;
    p += 3;
    while (p < m_src.size() && isSpace(m_src[p])) ++p;
    char open_sign = (p < m_src.size() && (m_src[p] == '-' || m_src[p] == '+')) ? m_src[p] : '\0';
    if (open_sign) ++p;
    if (m_src.substr(p, 2) != "%}") return false;
    size_t body_begin = p + 2;
    if (open_sign == '-')
      while (body_begin < m_src.size() && isSpace(m_src[body_begin])) ++body_begin;
    // find "{%[-+]? endraw [-+]?%}"
    size_t search = body_begin;
    while (true) {
      size_t tag = m_src.find("{%", search);
      if (tag == std::string_view::npos) error(start, "unexpected end of template: missing '{% endraw %}'");
      size_t q = tag + 2;
      char close_sign = (q < m_src.size() && (m_src[q] == '-' || m_src[q] == '+')) ? m_src[q] : '\0';
      if (close_sign) ++q;
      while (q < m_src.size() && isSpace(m_src[q])) ++q;
      if (m_src.substr(q, 6) != "endraw") {
        search = tag + 2;
        continue;
      }
      q += 6;
      while (q < m_src.size() && isSpace(m_src[q])) ++q;
      char end_sign = (q < m_src.size() && (m_src[q] == '-' || m_src[q] == '+')) ? m_src[q] : '\0';
      if (end_sign) ++q;
      if (m_src.substr(q, 2) != "%}") {
        search = tag + 2;
        continue;
      }
      std::string body(m_src.substr(body_begin, tag - body_begin));
      if (close_sign == '-') {
        while (!body.empty() && isSpace(body.back())) body.pop_back();
      } else if (close_sign != '+' && m_options.lstrip_blocks) {
        size_t line_begin = body.rfind('\n');
        line_begin = line_begin == std::string::npos ? 0 : line_begin + 1;
        if (line_begin > 0 && body.find_first_not_of(" \t", line_begin) == std::string::npos) body.resize(line_begin);
      }
      emitText(std::move(body), body_begin);
      m_pos = q + 2;
      afterClose(end_sign, true);
      return true;
    }
  }

  void lexTag(TokenKind begin, size_t start) {
    m_tokens.push_back(Token{begin, "", 0, 0.0, start});
    bool is_block = begin == TokenKind::kBlockBegin;
    const char close = is_block ? '%' : '}';
    int depth = 0;  // brackets open inside the tag: "}}" closes the tag only at depth 0
    while (true) {
      while (m_pos < m_src.size() && isSpace(m_src[m_pos])) ++m_pos;
      if (m_pos >= m_src.size())
        error(start, is_block ? "unexpected end of template: missing '%}'" : "unexpected end of template: missing '}}'");
      char c = m_src[m_pos];
      // closing delimiter, possibly with a whitespace-control sign
      if (depth == 0) {
        char sign = '\0';
        size_t p = m_pos;
        if ((c == '-' || c == '+') && p + 2 < m_src.size() + 0 && m_src[p + 1] == close &&
            p + 2 < m_src.size() && m_src[p + 2] == '}') {
          sign = c;
          ++p;
        }
        if (p + 1 < m_src.size() && m_src[p] == close && m_src[p + 1] == '}') {
          m_tokens.push_back(Token{is_block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", 0, 0.0, m_pos});
          m_pos = p + 2;
          afterClose(sign, is_block);
          return;
        }
      }
      size_t tok_start = m_pos;
      if (isNameStart(c)) {
        while (m_pos < m_src.size() && isNameChar(m_src[m_pos])) ++m_pos;
        // Names are hashed or compared at every lookup: a megabyte-long one would make each
        // step cost a megabyte. No real template comes near this.
        if (m_pos - tok_start > kMaxNameBytes)
          error(tok_start, "name longer than " + std::to_string(kMaxNameBytes) + " bytes");
        m_tokens.push_back(Token{TokenKind::kName, std::string(m_src.substr(tok_start, m_pos - tok_start)), 0, 0.0, tok_start});
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lexNumber();
      } else if (c == '\'' || c == '"') {
        lexString(c);
      } else {
        static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                           "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "=", "<", ">"};
        bool matched = false;
        for (const char* op : kOps) {
          std::string_view o(op);
          if (m_src.substr(m_pos, o.size()) == o) {
            if (o == "(" || o == "[" || o == "{") ++depth;
            if (o == ")" || o == "]" || o == "}") {
              if (depth == 0) error(m_pos, "unexpected '" + std::string(o) + "'");
              --depth;
            }
            m_tokens.push_back(Token{TokenKind::kOp, std::string(o), 0, 0.0, m_pos});
            m_pos += o.size();
            matched = true;
            break;
          }
        }
        if (!matched) error(m_pos, std::string("unexpected character '") + c + "'");
      }
    }
  }

  void lexNumber() {
    size_t start = m_pos;
    std::string digits;
    bool is_float = false;
    auto take_digits = [&] {
      while (m_pos < m_src.size() && (std::isdigit(static_cast<unsigned char>(m_src[m_pos])) || m_src[m_pos] == '_')) {
        if (m_src[m_pos] != '_') digits += m_src[m_pos];
        ++m_pos;
      }
    };
    take_digits();
    if (m_pos + 1 < m_src.size() && m_src[m_pos] == '.' && std::isdigit(static_cast<unsigned char>(m_src[m_pos + 1]))) {
      is_float = true;
      digits += '.';
      ++m_pos;
      take_digits();
    }
    if (m_pos < m_src.size() && (m_src[m_pos] == 'e' || m_src[m_pos] == 'E')) {
      size_t p = m_pos + 1;
      if (p < m_src.size() && (m_src[p] == '+' || m_src[p] == '-')) ++p;
      if (p < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[p]))) {
        is_float = true;
        digits += 'e';
        digits.append(m_src.substr(m_pos + 1, p - m_pos - 1));
        m_pos = p;
        take_digits();
      }
    }
    Token t{is_float ? TokenKind::kFloat : TokenKind::kInt, digits, 0, 0.0, start};
    // from_chars: no exceptions, and no locale (a GUI's LC_NUMERIC must not change "1.5").
    const char* end = digits.data() + digits.size();
    auto parsed = is_float ? std::from_chars(digits.data(), end, t.float_value)
                           : std::from_chars(digits.data(), end, t.int_value);
    if (parsed.ec != std::errc() || parsed.ptr != end)
      error(start, "number literal out of range: " + digits +
                       (is_float ? "" : " (integers are 64-bit here; Python's are unbounded)"));
    m_tokens.push_back(std::move(t));
  }

  int hexValue(size_t at, size_t count) {
    if (at + count > m_src.size()) error(at, "truncated escape sequence");
    int v = 0;
    for (size_t i = 0; i < count; ++i) {
      char h = m_src[at + i];
      if (!std::isxdigit(static_cast<unsigned char>(h))) error(at, "invalid escape sequence");
      v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
    }
    return v;
  }

  void lexString(char quote) {
    size_t start = m_pos++;
    std::string out;
    while (true) {
      if (m_pos >= m_src.size()) error(start, "unterminated string literal");
      char c = m_src[m_pos];
      if (c == quote) {
        ++m_pos;
        break;
      }
      if (c != '\\') {
        out += c;
        ++m_pos;
        continue;
      }
      if (m_pos + 1 >= m_src.size()) error(start, "unterminated string literal");
      char e = m_src[m_pos + 1];
      m_pos += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;  // line continuation
        case 'x': appendUtf8(out, static_cast<char32_t>(hexValue(m_pos, 2))); m_pos += 2; break;
        case 'u': appendUtf8(out, static_cast<char32_t>(hexValue(m_pos, 4))); m_pos += 4; break;
        case 'U': {
          int v = hexValue(m_pos, 8);
          if (v > 0x10ffff || v < 0) error(m_pos, "invalid \\U escape");
          appendUtf8(out, static_cast<char32_t>(v));
          m_pos += 8;
          break;
        }
        default:  // Python keeps unknown escapes verbatim
          out += '\\';
          out += e;
      }
    }
    m_tokens.push_back(Token{TokenKind::kString, std::move(out), 0, 0.0, start});
  }

  std::string_view m_src;
  LexOptions m_options;
  size_t m_pos = 0;
  std::vector<Token> m_tokens;
};

}  // namespace

std::string describeOffset(std::string_view source, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string normalizeSource(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<std::vector<Token>> lexTemplate(std::string_view source, const LexOptions& options) {
  try {
    return Lexer(source, options).run();
  } catch (const JinjaError& e) {
    return Status(e.code, describeOffset(source, e.offset) + ": " + e.message, e.offset);
  } catch (const std::bad_alloc&) {
    return Status(Code::kTemplateLimit, "out of memory while reading the template");
  }
}

}  // namespace tokenfab::jinja
