// Printing values: Python's str() / repr() and json.dumps(). A printed value can be far larger
// than the values it comes from (one long string listed many times, a huge indent), so the text
// is charged to the budget as it grows and printing stops at the limit.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "template/jinja_budget.h"
#include "template/jinja_value.h"

namespace tokenfab::jinja {

std::string formatFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Shortest round-trip digits, then laid out the way Python's float.__repr__ does.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = !sci.empty() && sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent + 1)) + "." +
             digits.substr(static_cast<size_t>(exponent + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {  // piece by piece: GCC 12 warns falsely about "." + std::string&&
    out += '.';
    out.append(digits, 1);
  }
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

std::string htmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// Text that grows under the budget: each piece is charged and the total checked against the
// size of one value before it is appended.
class Printer {
 public:
  explicit Printer(Budget& budget) : m_budget(budget) {}
  void put(std::string_view s) {
    grow(s.size());
    m_out.append(s);
  }
  void put(char c) { put(std::string_view(&c, 1)); }
  void spaces(uint64_t n) {
    grow(n);
    m_out.append(static_cast<size_t>(n), ' ');
  }
  std::string take() { return std::move(m_out); }
  Budget& budget() { return m_budget; }

 private:
  void grow(uint64_t n) {
    m_budget.checkValueSize(m_out.size() + std::min<uint64_t>(n, UINT64_MAX - m_out.size()));
    m_budget.workBytes(n);
  }
  Budget& m_budget;
  std::string m_out;
};

// Containers being printed, innermost last: a namespace can hold itself, and Python prints
// such a repeat as "{...}" / "[...]" instead of recursing.
class Ancestors {
 public:
  bool contains(const void* p) const { return std::find(m_open.begin(), m_open.end(), p) != m_open.end(); }
  void push(const void* p) {
    if (m_open.size() >= kMaxValueDepth)
      fail(Code::kTemplateLimit, "value nested too deeply to print (more than " + std::to_string(kMaxValueDepth) + ")");
    m_open.push_back(p);
  }
  void pop() { m_open.pop_back(); }

 private:
  std::vector<const void*> m_open;
};

// Escaped text goes to the printer in pieces of a few KiB, so a long string is checked against
// the size limit while it grows (escaping can make it six times longer).
class Chunked {
 public:
  explicit Chunked(Printer& out) : m_out(out) {}  // call flush() at the end (it may throw)
  void add(char c) {
    m_chunk += c;
    if (m_chunk.size() >= 4096) flush();
  }
  void add(std::string_view s) {
    m_chunk += s;
    if (m_chunk.size() >= 4096) flush();
  }
  void hex(const char* prefix, unsigned value, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    add(prefix);
    for (int k = digits - 1; k >= 0; --k) add(kHex[(value >> (4 * k)) & 0xf]);
  }
  void flush() {
    m_out.put(m_chunk);
    m_chunk.clear();
  }

 private:
  Printer& m_out;
  std::string m_chunk;
};

void reprString(Printer& printer, const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  Chunked out(printer);
  out.add(quote);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out.add('\\');
      out.add(static_cast<char>(c));
    } else if (c == '\n') {
      out.add("\\n");
    } else if (c == '\r') {
      out.add("\\r");
    } else if (c == '\t') {
      out.add("\\t");
    } else if (c < 0x20 || c == 0x7f) {
      out.hex("\\x", c, 2);
    } else {
      out.add(static_cast<char>(c));
    }
  }
  out.add(quote);
  out.flush();
}

void reprInto(Printer& out, const Value& v, Ancestors& open) {
  out.budget().steps();
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      out.put("Undefined");
      return;
    case Value::Kind::kString:
      if (v.isMarkup()) out.put("Markup(");
      reprString(out, v.str());
      if (v.isMarkup()) out.put(")");
      return;
    case Value::Kind::kList: {
      if (open.contains(&v.items())) {
        out.put("[...]");
        return;
      }
      open.push(&v.items());
      out.put('[');
      bool first = true;
      for (const Value& e : v.items()) {
        if (!first) out.put(", ");
        first = false;
        reprInto(out, e, open);
      }
      out.put(']');
      open.pop();
      return;
    }
    case Value::Kind::kDict: {
      const ValueDict& d = v.entries();
      if (d.is_namespace) out.put("<Namespace ");
      if (open.contains(&d)) {
        out.put("{...}");
      } else {
        open.push(&d);
        out.put('{');
        bool first = true;
        for (const auto& [k, e] : d.items()) {
          if (!first) out.put(", ");
          first = false;
          reprString(out, k);
          out.put(": ");
          reprInto(out, e, open);
        }
        out.put('}');
        open.pop();
      }
      if (d.is_namespace) out.put('>');
      return;
    }
    default:
      out.put(toPythonStr(out.budget(), v));
  }
}

void jsonString(Printer& printer, const std::string& s, bool ensure_ascii) {
  Chunked out(printer);
  out.add('"');
  auto escape = [&](char32_t cp) {
    if (cp >= 0x10000) {  // UTF-16 surrogate pair, as Python writes it
      out.hex("\\u", 0xd800 + ((cp - 0x10000) >> 10), 4);
      out.hex("\\u", 0xdc00 + ((cp - 0x10000) & 0x3ff), 4);
    } else {
      out.hex("\\u", cp, 4);
    }
  };
  forEachCodePoint(s, [&](char32_t cp, size_t first, size_t last) {
    switch (cp) {
      case '"': out.add("\\\""); return;
      case '\\': out.add("\\\\"); return;
      case '\n': out.add("\\n"); return;
      case '\r': out.add("\\r"); return;
      case '\t': out.add("\\t"); return;
      case '\b': out.add("\\b"); return;
      case '\f': out.add("\\f"); return;
      default: break;
    }
    if (cp < 0x20 || (cp >= 0x80 && ensure_ascii)) escape(cp);  // invalid bytes: U+FFFD each
    else out.add(std::string_view(s).substr(first, last - first));
  });
  out.add('"');
  out.flush();
}

void jsonInto(Printer& out, const Value& v, const JsonStyle& style, uint32_t depth) {
  out.budget().steps();
  if (depth > kMaxValueDepth)
    fail(Code::kTemplateLimit, "value nested too deeply for tojson (more than " + std::to_string(kMaxValueDepth) + ")");
  const int64_t indent = style.indent;
  auto newline = [&](uint32_t level) {
    out.put('\n');
    out.spaces(saturatingMul(static_cast<uint64_t>(indent), level));
  };
  const std::string item_sep = style.item_separator ? *style.item_separator : indent >= 0 ? "," : ", ";
  switch (v.kind()) {
    case Value::Kind::kNone:
      out.put("null");
      return;
    case Value::Kind::kBool:
      out.put(v.asBool() ? "true" : "false");
      return;
    case Value::Kind::kInt:
      out.put(std::to_string(v.asInt()));
      return;
    case Value::Kind::kFloat: {
      double d = v.asDouble();
      if (std::isnan(d)) out.put("NaN");
      else if (std::isinf(d)) out.put(d > 0 ? "Infinity" : "-Infinity");
      else out.put(formatFloat(d));
      return;
    }
    case Value::Kind::kString:
      jsonString(out, v.str(), style.ensure_ascii);
      return;
    case Value::Kind::kList: {
      const ValueList& items = v.items();
      if (items.empty()) {
        out.put("[]");
        return;
      }
      out.put('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out.put(item_sep);
        if (indent >= 0) newline(depth + 1);
        jsonInto(out, items[i], style, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out.put(']');
      return;
    }
    case Value::Kind::kDict: {
      // json.dumps knows nothing of Jinja2's Namespace (and a namespace may hold itself).
      if (v.entries().is_namespace) break;
      std::vector<const ValueDict::Entry*> entries;
      for (const auto& e : v.entries().items()) entries.push_back(&e);
      out.budget().steps(entries.size());
      if (style.sort_keys) {
        Budget& budget = out.budget();
        std::stable_sort(entries.begin(), entries.end(), [&budget](auto* a, auto* b) {
          budget.steps();
          budget.workBytes(std::min(a->first.size(), b->first.size()));  // what comparing them reads
          return a->first < b->first;
        });
      }
      if (entries.empty()) {
        out.put("{}");
        return;
      }
      out.put('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out.put(item_sep);
        if (indent >= 0) newline(depth + 1);
        jsonString(out, entries[i]->first, style.ensure_ascii);
        out.put(style.key_separator);
        jsonInto(out, entries[i]->second, style, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out.put('}');
      return;
    }
    case Value::Kind::kUndefined:
    case Value::Kind::kCallable:
      break;
  }
  runtimeError("Object of type " + v.typeName() + " is not JSON serializable");
}

}  // namespace

std::string toPythonStr(Budget& budget, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.asBool() ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.asInt());
    case Value::Kind::kFloat: return formatFloat(v.asDouble());
    case Value::Kind::kString: return v.str();
    case Value::Kind::kCallable: return "<function " + v.fn().name + ">";
    case Value::Kind::kList:
    case Value::Kind::kDict:
      return toPythonRepr(budget, v);
  }
  return "";
}

std::string toPythonRepr(Budget& budget, const Value& v) {
  Printer out(budget);
  Ancestors open;
  reprInto(out, v, open);
  return out.take();
}

std::string toJson(Budget& budget, const Value& v, const JsonStyle& style) {
  Printer out(budget);
  jsonInto(out, v, style, 0);
  return out.take();
}

}  // namespace tokenfab::jinja
