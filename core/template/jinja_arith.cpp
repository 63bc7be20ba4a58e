// Python's number semantics on int64 / double: floor division and modulo round toward negative
// infinity, ** with a negative exponent gives a float, float errors are Python's errors, and an
// int result Python would give beyond 64 bits is an error rather than a wrapped number.
#include <charconv>
#include <cmath>

#include "template/jinja_ops.h"
#include "template/jinja_value.h"

namespace tokenfab::jinja {

namespace {

[[noreturn]] void overflow(const std::string& op) {
  fail(Code::kTemplateLimit, "integer result of '" + op +
                                 "' does not fit in 64 bits (Python's ints are unbounded, the template's are not)");
}

// x ** y for y >= 0 by repeated squaring: at most 63 rounds whatever y is.
int64_t intPow(int64_t base, int64_t exponent) {
  int64_t result = 1;
  while (true) {
    if (exponent & 1) result = checkedInt('*', result, base);
    exponent >>= 1;
    if (exponent == 0) return result;
    // The square is needed by the rest of the exponent, so if it overflows so does the result.
    base = checkedInt('*', base, base);
  }
}

// Python's float ** float (float_pow): its errors instead of C's NaN / infinity.
double floatPow(double x, double y) {
  if (x == 0.0 && y < 0.0) runtimeError("0.0 cannot be raised to a negative power");
  if (x < 0.0 && std::isfinite(x) && std::isfinite(y) && y != std::floor(y))
    runtimeError("a negative number raised to a fractional power is complex (not supported)");
  const double r = std::pow(x, y);
  if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) fail(Code::kTemplateLimit, "float ** overflowed");
  return r;
}

// Python's float_divmod: floor division and a remainder with the divisor's sign.
std::pair<double, double> floatDivmod(double x, double y) {
  if (y == 0.0) runtimeError("float divmod by zero");
  double mod = std::fmod(x, y);
  double div = (x - mod) / y;
  if (mod != 0.0) {
    if ((y < 0) != (mod < 0)) {
      mod += y;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, y);
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, x / y);
  }
  return {floordiv, mod};
}

Value floatArithmetic(const std::string& op, double x, double y) {
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "**") return Value::number(floatPow(x, y));
  if (op == "/") {
    if (y == 0.0) runtimeError("division by zero");
    return Value::number(x / y);
  }
  auto [div, mod] = floatDivmod(x, y);
  return Value::number(op == "//" ? div : mod);
}

// What int() and float() ignore around a number (ASCII whitespace), then its sign: removes
// both from `text` and says whether the number is negative.
bool trimSign(std::string_view& text) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  return negative;
}

}  // namespace

int64_t checkedInt(char op, int64_t x, int64_t y) {
  int64_t r = 0;
  const bool overflowed = op == '+'   ? __builtin_add_overflow(x, y, &r)
                          : op == '-' ? __builtin_sub_overflow(x, y, &r)
                                      : __builtin_mul_overflow(x, y, &r);
  if (overflowed) overflow(std::string(1, op));
  return r;
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (a.isUndefined() || b.isUndefined())
    runtimeError("'" + (a.isUndefined() ? a : b).str() + "' is undefined");
  if (!a.isNumber() || !b.isNumber())
    runtimeError("unsupported operand type(s) for " + op + ": '" + a.typeName() + "' and '" + b.typeName() + "'");
  if (a.isFloat() || b.isFloat() || op == "/") return floatArithmetic(op, a.asDouble(), b.asDouble());
  const int64_t x = a.asInt(), y = b.asInt();
  if (op == "+" || op == "-" || op == "*") return Value::integer(checkedInt(op[0], x, y));
  if (op == "**") {
    if (y < 0) return Value::number(floatPow(static_cast<double>(x), static_cast<double>(y)));
    return Value::integer(intPow(x, y));
  }
  if (y == 0) runtimeError("integer division or modulo by zero");
  if (y == -1) {  // the one case where C's x / y overflows: INT64_MIN / -1
    if (op == "%") return Value::integer(0);
    if (x == INT64_MIN) overflow("//");
    return Value::integer(-x);
  }
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
    q -= 1;
    m += y;
  }
  return Value::integer(op == "//" ? q : m);
}

Value negate(const Value& v) {
  if (v.isUndefined()) runtimeError("'" + v.str() + "' is undefined");
  if (!v.isNumber()) runtimeError("bad operand type for unary -: '" + v.typeName() + "'");
  if (v.isFloat()) return Value::number(-v.asDouble());
  if (v.asInt() == INT64_MIN) overflow("-");
  return Value::integer(-v.asInt());
}

ParsedInt parsePythonInt(std::string_view text, int64_t base) {
  ParsedInt out;
  const bool negative = trimSign(text);
  if (base != 0 && (base < 2 || base > 36)) return out;
  // An optional prefix names the base (base 0) or repeats it (base 2, 8, 16).
  bool prefixed = false;
  if (text.size() >= 2 && text[0] == '0') {
    const char p = static_cast<char>(text[1] | 0x20);
    const int64_t named = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (named != 0 && (base == 0 || base == named)) {
      base = named;
      prefixed = true;
      text.remove_prefix(2);
    }
  }
  const bool base_zero = base == 0;
  if (base == 0) base = 10;
  size_t digits = 0;
  bool underscore_ok = prefixed;  // "0x_1f" is allowed, "_1", "1__0" and "1_" are not
  bool after_underscore = false;
  bool too_large = false;
  bool leading_zero = false;
  unsigned __int128 value = 0;
  for (char c : text) {
    if (c == '_') {
      if (!underscore_ok) return out;
      underscore_ok = false;
      after_underscore = true;
      continue;
    }
    const char lower = static_cast<char>(c | 0x20);
    const int d = c >= '0' && c <= '9' ? c - '0' : lower >= 'a' && lower <= 'z' ? lower - 'a' + 10 : 99;
    if (d >= base) return out;
    if (digits == 0) leading_zero = d == 0;
    ++digits;
    underscore_ok = true;
    after_underscore = false;
    value = value * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    if (value > static_cast<unsigned __int128>(INT64_MAX) + 1) {
      too_large = true;
      value = static_cast<unsigned __int128>(INT64_MAX) + 2;  // stays "too large" from here on
    }
  }
  if (digits == 0 || after_underscore) return out;
  // Base 0 forbids "012" (C's octal would read it differently) unless the number is zero.
  if (base_zero && !prefixed && leading_zero && value != 0) return out;
  // Python 3.11 refuses more than 4300 digits in a base that is not a power of two.
  if ((base & (base - 1)) != 0 && digits > 4300) return out;
  if (too_large || (!negative && value > static_cast<unsigned __int128>(INT64_MAX))) {
    out.kind = ParsedInt::Kind::kTooLarge;
    return out;
  }
  out.kind = ParsedInt::Kind::kOk;
  out.value = negative ? static_cast<int64_t>(-static_cast<__int128>(value)) : static_cast<int64_t>(value);
  return out;
}

std::optional<double> parsePythonFloat(std::string_view text) {
  const bool negative = trimSign(text);
  // "_" only between two digits; from_chars needs the text without them (and without a sign).
  std::string clean;
  clean.reserve(text.size());
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      if (i == 0 || i + 1 >= text.size() || !digit(text[i - 1]) || !digit(text[i + 1])) return std::nullopt;
      continue;
    }
    if (text[i] == '+' || text[i] == '-') {  // only right after an exponent marker
      if (i == 0 || (text[i - 1] | 0x20) != 'e') return std::nullopt;
    }
    clean += text[i];
  }
  if (clean.empty()) return std::nullopt;
  double d = 0.0;
  // from_chars ignores the locale (a GUI's LC_NUMERIC must not change what a template prints).
  auto [end, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), d, std::chars_format::general);
  if (end != clean.data() + clean.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {  // Python: huge -> inf, tiny -> 0.0
    const size_t e = clean.find_first_of("eE");
    const bool tiny = e != std::string::npos && clean.find('-', e) != std::string::npos;
    d = tiny ? 0.0 : HUGE_VAL;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -d : d;
}

uint64_t rangeLength(int64_t start, int64_t stop, int64_t step) {
  const __int128 span = static_cast<__int128>(stop) - start;
  if (step > 0) return span <= 0 ? 0 : static_cast<uint64_t>((span + step - 1) / step);
  return span >= 0 ? 0 : static_cast<uint64_t>((-span + (-static_cast<__int128>(step)) - 1) / -static_cast<__int128>(step));
}

}  // namespace tokenfab::jinja
