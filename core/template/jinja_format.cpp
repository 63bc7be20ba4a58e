// Python's str.format for the Jinja subset. A format string comes from the template, so its
// field numbers and widths are hostile numbers: they are parsed with overflow checks, and a
// width is checked against the budget before any padding is made.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "template/jinja_budget.h"
#include "template/jinja_text.h"

namespace tokenfab::jinja {

namespace {

// [[fill]align][sign][0][width][.precision][type]
struct Spec {
  std::string fill = " ";
  char align = '\0';  // '<', '>', '^', '='; '\0': the type's default
  char sign = '-';
  bool zero = false;
  uint64_t width = 0;
  std::optional<uint64_t> precision;
  char type = '\0';
};

const std::string kZero = "0";

bool isAlign(char c) { return c == '<' || c == '>' || c == '^' || c == '='; }

// Digits of a width or precision; Python refuses more than fit in its index type.
uint64_t specNumber(std::string_view spec, size_t& i) {
  size_t start = i;
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') ++i;
  std::optional<uint64_t> n = parseIndex(spec.substr(start, i - start));
  if (!n || *n > static_cast<uint64_t>(INT64_MAX)) runtimeError("Too many decimal digits in format string");
  return *n;
}

Spec parseSpec(const std::string& text) {
  Spec spec;
  std::string_view s = text;
  size_t i = 0;
  // The fill is one character (maybe multi-byte) when an align mark follows it.
  const std::vector<char32_t> cps = decodeUtf8(s.substr(0, std::min<size_t>(s.size(), 5)));
  std::string first;
  if (!cps.empty()) appendUtf8(first, cps[0]);
  if (!first.empty() && first.size() < s.size() && isAlign(s[first.size()])) {
    spec.fill = first;
    spec.align = s[first.size()];
    i = first.size() + 1;
  } else if (!s.empty() && isAlign(s[0])) {
    spec.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == '0') {
    spec.zero = true;
    ++i;
  }
  if (i < s.size() && s[i] >= '0' && s[i] <= '9') spec.width = specNumber(s, i);
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') runtimeError("Format specifier missing precision");
    spec.precision = specNumber(s, i);
  }
  if (i < s.size()) spec.type = s[i++];
  if (i < s.size() || (spec.type && std::string_view("sdfF").find(spec.type) == std::string_view::npos))
    runtimeError("format spec '" + text + "' is not supported (fill, align, sign, 0, width, precision; s d f F)");
  return spec;
}

// `body` laid out in `spec.width` code points; `sign_part` stays left of '=' padding.
std::string pad(Budget& budget, const Spec& spec, const std::string& sign_part, const std::string& body,
                char default_align) {
  char align = spec.align ? spec.align : default_align;
  const bool zero_fill = spec.zero && !spec.align;  // "{:05}": zeros, after the sign for numbers
  if (zero_fill && default_align == '>') align = '=';
  const std::string& fill = zero_fill ? kZero : spec.fill;
  const uint64_t length = countCodePoints(sign_part) + countCodePoints(body);
  const uint64_t missing = spec.width > length ? spec.width - length : 0;
  budget.checkValueSize(sign_part.size() + body.size() + saturatingMul(missing, fill.size()));
  budget.workBytes(saturatingMul(missing, fill.size()));
  const uint64_t before = align == '<' || align == '=' ? 0 : align == '>' ? missing : missing / 2;
  const uint64_t between = align == '=' ? missing : 0;
  // Appended piece by piece (GCC 12 warns falsely about string + string&& here).
  std::string out;
  for (uint64_t k = 0; k < before; ++k) out += fill;
  out += sign_part;
  for (uint64_t k = 0; k < between; ++k) out += fill;
  out += body;
  for (uint64_t k = before + between; k < missing; ++k) out += fill;
  return out;
}

std::string formatOne(Budget& budget, const Value& v, const std::string& spec_text) {
  if (spec_text.empty()) return toPythonStr(budget, v);
  const Spec spec = parseSpec(spec_text);
  if (v.isString()) {
    if (spec.type && spec.type != 's') runtimeError(std::string("Unknown format code '") + spec.type + "' for object of type 'str'");
    if (spec.sign != '-') runtimeError("Sign not allowed in string format specifier");
    if (spec.align == '=') runtimeError("'=' alignment not allowed in string format specifier");
    std::string body = v.str();
    if (spec.precision) {
      const std::vector<char32_t> cps = decodeUtf8(body);
      if (*spec.precision < cps.size()) body = encodeUtf8(cps, 0, static_cast<size_t>(*spec.precision));
    }
    return pad(budget, spec, "", body, '<');
  }
  if (!v.isNumber()) runtimeError("unsupported format string passed to " + v.typeName() + ".__format__");
  const bool as_float = v.isFloat() || spec.type == 'f' || spec.type == 'F';
  if (spec.type == 's') runtimeError("Unknown format code 's' for object of type '" + v.typeName() + "'");
  if (v.isFloat() && spec.type == 'd') runtimeError("Unknown format code 'd' for object of type 'float'");
  std::string body;
  bool negative;
  if (as_float) {
    const double d = v.asDouble();
    negative = std::signbit(d) && !std::isnan(d);
    if (!spec.type) {
      if (spec.precision) runtimeError("format precision without a type is not supported for floats");
      body = formatFloat(std::fabs(d));
    } else {
      const uint64_t precision = spec.precision.value_or(6);
      budget.checkValueSize(precision + 320);  // digits before the point: at most 309
      std::string buf(static_cast<size_t>(precision) + 320, '\0');
      const int n = std::snprintf(buf.data(), buf.size(), spec.type == 'F' ? "%.*F" : "%.*f",
                                  static_cast<int>(std::min<uint64_t>(precision, INT32_MAX)), std::fabs(d));
      buf.resize(static_cast<size_t>(std::max(n, 0)));
      body = std::move(buf);
    }
  } else {
    if (spec.precision) runtimeError("Precision not allowed in integer format specifier");
    const int64_t i = v.asInt();
    negative = i < 0;
    body = std::to_string(i);
    if (negative) body.erase(0, 1);
  }
  const std::string sign_part = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
  return pad(budget, spec, sign_part, body, '>');
}

}  // namespace

std::string pythonFormat(Budget& budget, const std::string& fmt, const CallArgs& args) {
  budget.workBytes(fmt.size());
  std::string out;
  auto put = [&](const std::string& piece) {
    budget.checkValueSize(out.size() + piece.size());
    budget.workBytes(piece.size());
    out += piece;
  };
  size_t auto_index = 0;
  bool numbered_auto = false, numbered_manual = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      put(std::string(1, c));
      ++i;
      continue;
    }
    if (c == '}') runtimeError("Single '}' encountered in format string");
    if (c != '{') {
      put(std::string(1, c));
      continue;
    }
    budget.steps();
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) runtimeError("Single '{' encountered in format string");
    const std::string field = fmt.substr(i + 1, close - i - 1);
    if (field.find('{') != std::string::npos) runtimeError("nested replacement fields are not supported");
    const size_t colon = field.find(':');
    std::string name = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    char conversion = '\0';
    if (const size_t bang = name.find('!'); bang != std::string::npos) {
      if (bang + 2 != name.size() || (name[bang + 1] != 's' && name[bang + 1] != 'r'))
        runtimeError("format conversion must be !s or !r");
      conversion = name[bang + 1];
      name.resize(bang);
    }
    const Value* v = nullptr;
    if (name.empty()) {
      if (numbered_manual) runtimeError("cannot switch from manual field specification to automatic field numbering");
      numbered_auto = true;
      v = auto_index < args.args.size() ? &args.args[auto_index] : nullptr;
      if (!v) runtimeError("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      ++auto_index;
    } else if (std::optional<uint64_t> k = parseIndex(name)) {
      if (numbered_auto) runtimeError("cannot switch from automatic field numbering to manual field specification");
      numbered_manual = true;
      if (*k > static_cast<uint64_t>(INT64_MAX)) runtimeError("Too many decimal digits in format string");
      v = *k < args.args.size() ? &args.args[*k] : nullptr;
      if (!v) runtimeError("Replacement index " + name + " out of range for positional args tuple");
    } else {
      if (name.find_first_of(".[") != std::string::npos) runtimeError("format field '" + name + "': attribute and index lookups are not supported");
      v = args.kwarg(name);
      if (!v) runtimeError("format: missing argument for field '{" + name + "}'");
    }
    Value shown = *v;
    if (conversion == 'r') shown = Value::string(toPythonRepr(budget, *v));
    else if (conversion == 's') shown = Value::string(toPythonStr(budget, *v));
    put(formatOne(budget, shown, spec));
    i = close;
  }
  return out;
}

}  // namespace tokenfab::jinja
