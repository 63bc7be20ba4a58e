// String and argument helpers shared by the Jinja built-ins (Python str semantics).
#include "tokenizer/jinja_text.h"

#include <utf8proc.h>

#include <algorithm>

#include "tokenizer/jinja_interp.h"

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

char32_t upperCp(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))); }
char32_t lowerCp(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }
bool isLetter(char32_t c) {
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
}

std::string mapCase(const std::string& s, char32_t (*fn)(char32_t)) {
  std::string out;
  for (char32_t c : decodeUtf8(s)) appendUtf8(out, fn(c));
  return out;
}

// Python str.title(): a letter after a non-letter starts a word.
std::string pythonTitle(const std::string& s) {
  std::string out;
  bool prev_letter = false;
  for (char32_t c : decodeUtf8(s)) {
    bool letter = isLetter(c);
    appendUtf8(out, letter ? (prev_letter ? lowerCp(c) : upperCp(c)) : c);
    prev_letter = letter;
  }
  return out;
}

// Jinja's |title: words are split at runs of whitespace, '-', '(', '{', '[', '<'.
std::string jinjaTitle(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (char32_t c : decodeUtf8(s)) {
    bool sep = isPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      appendUtf8(out, c);
      word_start = true;
    } else {
      appendUtf8(out, word_start ? upperCp(c) : lowerCp(c));
      word_start = false;
    }
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::vector<char32_t> cps = decodeUtf8(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) appendUtf8(out, i == 0 ? upperCp(cps[i]) : lowerCp(cps[i]));
  return out;
}

// Python str.strip([chars]) family; which: 1 = left, 2 = right, 3 = both.
std::string strip(const std::string& s, const Value& chars, int which) {
  std::vector<char32_t> cps = decodeUtf8(s);
  std::vector<char32_t> set;
  bool use_set = chars.isString();
  if (use_set) set = decodeUtf8(chars.str());
  auto strippable = [&](char32_t c) {
    return use_set ? std::find(set.begin(), set.end(), c) != set.end() : isPythonSpace(c);
  };
  size_t b = 0, e = cps.size();
  if (which & 1)
    while (b < e && strippable(cps[b])) ++b;
  if (which & 2)
    while (e > b && strippable(cps[e - 1])) --e;
  return encodeUtf8(cps, b, e);
}

std::string replace(Interpreter& interp, const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every character
    std::vector<char32_t> cps = decodeUtf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) appendUtf8(out, cps[i]);
      interp.checkStringSize(out.size());
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    interp.checkStringSize(out.size());
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Value split(const std::string& s, const Value& sep, int64_t maxsplit) {
  ValueList out;
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
        out.push_back(Value::string(encodeUtf8(cps, i, e)));
        break;
      }
      while (j < cps.size() && !isPythonSpace(cps[j])) ++j;
      out.push_back(Value::string(encodeUtf8(cps, i, j)));
      i = j;
    }
    return Value::list(std::move(out));
  }
  const std::string& d = sep.str();
  if (d.empty()) runtimeError("empty separator");
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    out.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + d.size();
  }
  out.push_back(Value::string(s.substr(pos)));
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

// Python str.format with "{}", "{0}", "{name}" and "{{" / "}}" (no format specs).
std::string pythonFormat(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos) runtimeError("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < args.args.size() ? &args.args[auto_index] : nullptr;
        ++auto_index;
      } else if (std::all_of(field.begin(), field.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        size_t k = std::stoul(field);
        v = k < args.args.size() ? &args.args[k] : nullptr;
      } else {
        v = args.kwarg(field);
      }
      if (!v) runtimeError("format: missing argument for field '{" + field + "}'");
      out += toPythonStr(*v);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

// `attribute` may be dotted ("function.name") or an integer index, as in Jinja's make_attrgetter.
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
