// Operators and sequence helpers of the Jinja subset, with Python's semantics on int64 / double.
// Python's ints are unbounded: where Python's result does not fit in 64 bits these fail with
// kTemplateLimit instead of wrapping around. Everything proportional to the size of its operands
// is charged to the budget before the result is built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "template/jinja_value.h"

namespace tokenfab::jinja {

class Budget;

// ---- numbers (jinja_arith.cpp) ----------------------------------------------------------------

// x + y, x - y or x * y (op '+', '-', '*'); kTemplateLimit when it does not fit.
int64_t checkedInt(char op, int64_t x, int64_t y);
// + - * / // % ** on numbers (bools count as ints).
Value arithmetic(const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v);  // unary minus

// Python's int(text, base): whitespace around, a sign, "_" between digits, 0x/0o/0b prefixes.
struct ParsedInt {
  enum class Kind { kOk, kInvalid, kTooLarge } kind = Kind::kInvalid;  // kTooLarge: valid, beyond int64
  int64_t value = 0;
};
ParsedInt parsePythonInt(std::string_view text, int64_t base);
// Python's float(text), without its Unicode digits; nullopt where Python raises ValueError.
std::optional<double> parsePythonFloat(std::string_view text);
// Python's len(range(start, stop, step)); step != 0.
uint64_t rangeLength(int64_t start, int64_t stop, int64_t step);

// ---- sequences (jinja_sequence.cpp) -----------------------------------------------------------

int64_t lengthOf(Budget& budget, const Value& v);
// List items, dict keys or string characters as a list (each item charged).
std::vector<Value> iterate(Budget& budget, const Value& v);
Value sliceValue(Budget& budget, const Value& subject, const Value& start, const Value& stop, const Value& step);
// Python's `item in container`.
bool contains(Budget& budget, const Value& container, const Value& item);
// str * int, list * int (either order).
Value repeat(Budget& budget, const Value& sequence, const Value& count);
// str + str (with Markup's escaping), list + list; and `a ~ b` (both printed).
Value concatenate(Budget& budget, const Value& a, const Value& b);
Value concatenateText(Budget& budget, const Value& a, const Value& b);

// Byte offset of `needle` in `haystack` at or after `from`, or npos; linear in the sizes (a plain
// search can take |haystack| * |needle| steps on crafted text).
size_t findText(std::string_view haystack, std::string_view needle, size_t from = 0);

}  // namespace tokenfab::jinja
