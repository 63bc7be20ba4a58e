// Jinja lexer in the Hugging Face configuration (trim_blocks, lstrip_blocks): splits a template
// into text and tag tokens, applies whitespace control, and tokenizes the expressions inside
// `{{ }}` and `{% %}`. Comments are dropped here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::jinja {

enum class TokenKind {
  kText,        // literal template text
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,          // operators and punctuation: + - * / // % ** ~ | . , : ( ) [ ] { } = == != < > <= >=
  kEnd,         // end of the template
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // text, name, decoded string literal, or operator
  int64_t int_value = 0;
  double float_value = 0.0;
  size_t offset = 0;  // byte offset in the source
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  // llama.cpp's renderer (minja) also strips a line's leading blanks before "{{"; Jinja2 does not.
  bool lstrip_variables = false;
};

// Jinja2's preparation of a source: "\r\n" and "\r" become "\n", and one trailing newline is
// dropped (keep_trailing_newline=False). lexTemplate expects normalized text.
std::string normalizeSource(std::string_view source);

Result<std::vector<Token>> lexTemplate(std::string_view source, const LexOptions& options = {});

// "line 3, column 7" for a byte offset (1-based, columns counted in bytes).
std::string describeOffset(std::string_view source, size_t offset);

}  // namespace tokenfab::jinja
