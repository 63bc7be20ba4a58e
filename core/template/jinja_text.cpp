// String and argument helpers shared by the Jinja built-ins (Python str semantics).
#include "template/jinja_text.h"

#include <utf8proc.h>

#include <algorithm>

#include "template/jinja_budget.h"
#include "template/jinja_ops.h"

namespace tokenfab::jinja {

const Value* param(const CallArgs& a, size_t pos, std::string_view name) {
  if (pos < a.args.size()) return &a.args[pos];
  return name.empty() ? nullptr : a.kwarg(name);
}

Value paramOr(const CallArgs& a, size_t pos, std::string_view name, Value def) {
  const Value* v = param(a, pos, name);
  return v ? *v : std::move(def);
}

const std::string& needString(const Value& v, const char* what) {
  if (!v.isString()) runtimeError(std::string(what) + " expects a string, got " + v.typeName());
  return v.str();
}

int64_t needInt(const Value& v, const char* what) {
  if (!v.isInt() && !v.isBool()) runtimeError(std::string(what) + " expects an integer, got " + v.typeName());
  return v.asInt();
}

std::optional<uint64_t> parseIndex(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(value, 10u, &value) || __builtin_add_overflow(value, static_cast<uint64_t>(c - '0'), &value))
      value = UINT64_MAX;  // larger than any sequence: out of range like Python's huge int
  }
  return value;
}

char32_t upperCp(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))); }
char32_t lowerCp(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }
bool isLetter(char32_t c) {
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
}

// The case mappings stream the text: a decoded copy would take four bytes per character.
std::string mapCase(const std::string& s, char32_t (*fn)(char32_t)) {
  std::string out;
  out.reserve(s.size());
  forEachCodePoint(s, [&](char32_t c, size_t, size_t) { appendUtf8(out, fn(c)); });
  return out;
}

// Python str.title(): a letter after a non-letter starts a word.
std::string pythonTitle(const std::string& s) {
  std::string out;
  bool prev_letter = false;
  forEachCodePoint(s, [&](char32_t c, size_t, size_t) {
    bool letter = isLetter(c);
    appendUtf8(out, letter ? (prev_letter ? lowerCp(c) : upperCp(c)) : c);
    prev_letter = letter;
  });
  return out;
}

// Jinja's |title: words are split at runs of whitespace, '-', '(', '{', '[', '<'.
std::string jinjaTitle(const std::string& s) {
  std::string out;
  bool word_start = true;
  forEachCodePoint(s, [&](char32_t c, size_t, size_t) {
    bool sep = isPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    appendUtf8(out, sep ? c : word_start ? upperCp(c) : lowerCp(c));
    word_start = sep;
  });
  return out;
}

std::string capitalize(const std::string& s) {
  std::string out;
  bool first = true;
  forEachCodePoint(s, [&](char32_t c, size_t, size_t) {
    appendUtf8(out, first ? upperCp(c) : lowerCp(c));
    first = false;
  });
  return out;
}

// Python str.strip([chars]) family; which: 1 = left, 2 = right, 3 = both. One pass finds the
// bytes to keep, a second re-encodes them (as decodeUtf8 would read them).
std::string strip(Budget& budget, const std::string& s, const Value& chars, int which) {
  budget.workBytes(s.size() + chars.str().size());
  // A few characters are searched in turn; more are marked in a bitmap of every code point, so
  // a long `chars` costs one pass, not a search per character.
  std::vector<char32_t> few;
  std::vector<bool> many;
  const bool use_set = chars.isString();
  if (use_set) {
    forEachCodePoint(chars.str(), [&](char32_t c, size_t, size_t) {
      if (many.empty() && few.size() < 16) {
        few.push_back(c);
        return;
      }
      if (many.empty()) {
        many.assign(0x200000, false);  // every value a 4-byte UTF-8 sequence can decode to
        for (char32_t f : few) many[f] = true;
      }
      many[c] = true;
    });
  }
  auto strippable = [&](char32_t c) {
    if (!use_set) return isPythonSpace(c);
    if (!many.empty()) return c < many.size() && many[c];
    return std::find(few.begin(), few.end(), c) != few.end();
  };
  size_t begin = s.size(), end = 0;  // of the kept characters
  bool leading = true;
  forEachCodePoint(s, [&](char32_t c, size_t first, size_t last) {
    const bool kept = !strippable(c);
    if (leading && (kept || !(which & 1))) {
      begin = first;
      leading = false;
    }
    if (!leading && (kept || !(which & 2))) end = last;
  });
  std::string out;
  if (begin >= end) return out;
  forEachCodePoint(std::string_view(s).substr(begin, end - begin),
                   [&](char32_t c, size_t, size_t) { appendUtf8(out, c); });
  return out;
}

std::string replace(Budget& budget, const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  budget.workBytes(s.size() + from.size());
  std::string out;
  // Each piece is checked before it is appended: `to` may be long and the matches many.
  auto put = [&](std::string_view piece) {
    budget.checkValueSize(out.size() + piece.size());
    budget.workBytes(piece.size());
    out.append(piece);
  };
  if (from.empty()) {  // Python inserts `to` between every character
    std::vector<char32_t> cps = decodeUtf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      budget.steps();
      if (count < 0 || done < count) {
        put(to);
        ++done;
      }
      if (i < cps.size()) {
        std::string c;
        appendUtf8(c, cps[i]);
        put(c);
      }
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = findText(s, from, pos);
    if (hit == std::string::npos) break;
    budget.steps();
    put(std::string_view(s).substr(pos, hit - pos));
    put(to);
    pos = hit + from.size();
    ++done;
  }
  put(std::string_view(s).substr(pos));
  return out;
}

Value split(Budget& budget, const std::string& s, const Value& sep, int64_t maxsplit) {
  budget.workBytes(2 * s.size());
  ValueList out;
  // Every piece is a new value: charged as it is made (at most one per byte of `s`).
  auto piece = [&](std::string text) {
    budget.items(1, sizeof(Value));
    out.push_back(Value::string(std::move(text)));
  };
  if (!sep.isString()) {  // split on runs of whitespace, dropping empty pieces
    std::vector<char32_t> cps = decodeUtf8(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && isPythonSpace(cps[i])) ++i;
      if (i >= cps.size()) break;
      size_t j = i;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
        size_t e = cps.size();
        while (e > i && isPythonSpace(cps[e - 1])) --e;
        piece(encodeUtf8(cps, i, e));
        break;
      }
      while (j < cps.size() && !isPythonSpace(cps[j])) ++j;
      piece(encodeUtf8(cps, i, j));
      i = j;
    }
    return Value::list(std::move(out));
  }
  const std::string& d = sep.str();
  if (d.empty()) runtimeError("empty separator");
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    size_t hit = findText(s, d, pos);
    if (hit == std::string::npos) break;
    piece(s.substr(pos, hit - pos));
    pos = hit + d.size();
  }
  piece(s.substr(pos));
  return Value::list(std::move(out));
}

bool startsOrEnds(const std::string& s, const Value& affix, bool starts) {
  auto one = [&](const Value& a) {
    const std::string& x = needString(a, starts ? "startswith" : "endswith");
    if (x.size() > s.size()) return false;
    return starts ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.isList()) {
    for (const Value& a : affix.items())
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

std::string indent(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::vector<std::string> lines;
  size_t pos = 0;
  std::string text = s + "\n";  // as Jinja does, so a trailing newline keeps its empty line
  while (pos < text.size()) {
    size_t nl = text.find_first_of("\r\n", pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (text[nl] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    bool do_pad = i == 0 ? first : (blank || !lines[i].empty());
    if (do_pad) out += pad;
    out += lines[i];
  }
  return out;
}

}  // namespace tokenfab::jinja
