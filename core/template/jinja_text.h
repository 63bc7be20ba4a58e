// String and argument helpers shared by the Jinja built-ins (Python str semantics).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "template/jinja_value.h"

namespace tokenfab::jinja {

class Budget;

// Positional argument `pos`, else keyword `name`, else nullptr / `def`.
const Value* param(const CallArgs& a, size_t pos, std::string_view name);
Value paramOr(const CallArgs& a, size_t pos, std::string_view name, Value def);
const std::string& needString(const Value& v, const char* what);
int64_t needInt(const Value& v, const char* what);
// A text of ASCII digits as an index (saturating at UINT64_MAX, beyond any sequence's end);
// nullopt when it is not all digits.
std::optional<uint64_t> parseIndex(std::string_view digits);

char32_t upperCp(char32_t c);
char32_t lowerCp(char32_t c);
bool isLetter(char32_t c);
std::string mapCase(const std::string& s, char32_t (*fn)(char32_t));
std::string pythonTitle(const std::string& s);  // str.title()
std::string jinjaTitle(const std::string& s);   // |title
std::string capitalize(const std::string& s);
// str.strip([chars]) family; which: 1 = left, 2 = right, 3 = both.
std::string strip(Budget& budget, const std::string& s, const Value& chars, int which);
std::string replace(Budget& budget, const std::string& s, const std::string& from, const std::string& to,
                    int64_t count);
Value split(Budget& budget, const std::string& s, const Value& sep, int64_t maxsplit);
bool startsOrEnds(const std::string& s, const Value& affix, bool starts);
// Python str.format (jinja_format.cpp): "{}", "{0}", "{name}", "{{" / "}}", !s / !r, and specs
// of fill, align, sign, zero padding, width and precision for the types s, d, f and F.
std::string pythonFormat(Budget& budget, const std::string& fmt, const CallArgs& args);
std::string indent(const std::string& s, const std::string& pad, bool first, bool blank);

}  // namespace tokenfab::jinja
