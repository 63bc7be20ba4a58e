#include "tokenizer/pre_regex.h"

#include <limits>
#include <string>

#include "tokenizer/unicode_util.h"

namespace tokenfab::tok {

namespace {

// One set of characters: category bits, ranges, optionally negated.
struct CharSet {
  bool negated = false;
  uint8_t flags = 0;      // matches a character having any of these bits
  uint8_t not_flags = 0;  // matches a character lacking any of these bits (\S inside a class)
  std::vector<std::pair<uint32_t, uint32_t>> ranges;

  bool matches(uint32_t cp, uint8_t f) const {
    bool hit = (f & flags) != 0 || (not_flags != 0 && (f & not_flags) != not_flags);
    for (size_t i = 0; !hit && i < ranges.size(); ++i) hit = cp >= ranges[i].first && cp <= ranges[i].second;
    return hit != negated;
  }
};

constexpr int kInfinite = std::numeric_limits<int>::max();

}  // namespace

struct PreRegex::Node {
  enum class Kind { kClass, kGroup, kLookahead, kNegLookahead, kEnd };
  Kind kind = Kind::kClass;
  std::vector<CharSet> sets;                    // kClass: all must match (an intersection)
  std::vector<std::vector<Node>> alternatives;  // group / lookahead bodies
  int min = 1, max = 1;
};

using Node = PreRegex::Node;
using Seq = std::vector<Node>;

namespace {

class Parser {
 public:
  explicit Parser(std::vector<uint32_t> pattern) : m_p(std::move(pattern)) {}

  Result<Node> parseAll() {
    TF_ASSIGN_OR_RETURN(Node root, parseAlternatives(Node::Kind::kGroup));
    if (m_i != m_p.size()) return error("unbalanced ')'");
    return root;
  }

 private:
  Status error(std::string_view what) const {
    return {Code::kInvalidArgument,
            "pre-tokenizer regex: " + std::string(what) + " at " + std::to_string(m_i)};
  }
  bool atEnd() const { return m_i >= m_p.size(); }
  uint32_t peek(size_t k = 0) const { return m_i + k < m_p.size() ? m_p[m_i + k] : 0; }

  Result<Node> parseAlternatives(Node::Kind kind) {
    Node node;
    node.kind = kind;
    node.alternatives.emplace_back();
    while (!atEnd() && peek() != ')') {
      if (peek() == '|') {
        ++m_i;
        node.alternatives.emplace_back();
        continue;
      }
      TF_ASSIGN_OR_RETURN(Node atom, parseAtom());
      TF_RETURN_IF_ERROR(parseQuantifier(atom));
      node.alternatives.back().push_back(std::move(atom));
    }
    return node;
  }

  Result<Node> parseAtom() {
    const uint32_t c = m_p[m_i++];
    if (c == '(') {
      Node::Kind kind = Node::Kind::kGroup;
      if (peek() == '?') {
        if (peek(1) == ':')
          kind = Node::Kind::kGroup;
        else if (peek(1) == '=')
          kind = Node::Kind::kLookahead;
        else if (peek(1) == '!')
          kind = Node::Kind::kNegLookahead;
        else
          return error("unsupported group syntax");
        m_i += 2;
      }
      TF_ASSIGN_OR_RETURN(Node group, parseAlternatives(kind));
      if (peek() != ')') return error("missing ')'");
      ++m_i;
      return simplify(std::move(group));
    }
    if (c == '[') return parseClass();
    if (c == '$') {
      Node n;
      n.kind = Node::Kind::kEnd;
      return n;
    }
    if (c == '^' || c == ')' || c == '*' || c == '+' || c == '?' || c == '{')
      return error("unexpected character");
    Node n;
    CharSet set;
    if (c == '.') {
      set.negated = true;
      set.ranges = {{'\n', '\n'}, {'\r', '\r'}};
    } else if (c == '\\') {
      TF_RETURN_IF_ERROR(parseEscape(set, false));
    } else {
      set.ranges.push_back({c, c});
    }
    n.sets.push_back(std::move(set));
    return n;
  }

  // After a backslash. Adds to `set`; outside a class `set` is fresh and may become negated.
  Status parseEscape(CharSet& set, bool in_class) {
    if (atEnd()) return error("dangling backslash");
    const uint32_t c = m_p[m_i++];
    switch (c) {
      case 's':
        set.flags |= kFlagWhitespace;
        return Status::ok();
      case 'S':
        if (in_class)
          set.not_flags |= kFlagWhitespace;
        else {
          set.negated = true;
          set.flags |= kFlagWhitespace;
        }
        return Status::ok();
      case 'd':
        set.ranges.push_back({'0', '9'});
        return Status::ok();
      case 'r':
        set.ranges.push_back({'\r', '\r'});
        return Status::ok();
      case 'n':
        set.ranges.push_back({'\n', '\n'});
        return Status::ok();
      case 't':
        set.ranges.push_back({'\t', '\t'});
        return Status::ok();
      case 'f':
        set.ranges.push_back({'\f', '\f'});
        return Status::ok();
      case 'v':
        set.ranges.push_back({'\v', '\v'});
        return Status::ok();
      case 'x': {  // \x{HHHH}
        if (peek() != '{') return error("unsupported \\x escape");
        uint32_t cp = 0;
        size_t k = 1;
        for (; k < 8 && peek(k) != '}'; ++k) {
          const uint32_t h = peek(k);
          const int digit = h >= '0' && h <= '9'   ? static_cast<int>(h - '0')
                            : h >= 'A' && h <= 'F' ? static_cast<int>(h - 'A' + 10)
                            : h >= 'a' && h <= 'f' ? static_cast<int>(h - 'a' + 10)
                                                   : -1;
          if (digit < 0) return error("bad \\x{...}");
          cp = cp * 16 + static_cast<uint32_t>(digit);
        }
        if (peek(k) != '}' || k == 1 || cp > 0x10FFFF) return error("bad \\x{...}");
        m_i += k + 1;
        set.ranges.push_back({cp, cp});
        return Status::ok();
      }
      case 'p': {
        if (peek() != '{' || peek(2) != '}') return error("unsupported \\p{...}");
        const uint32_t cat = peek(1);
        m_i += 3;
        switch (cat) {
          case 'L':
            set.flags |= kFlagLetter;
            break;
          case 'N':
            set.flags |= kFlagNumber;
            break;
          case 'P':
            set.flags |= kFlagPunct;
            break;
          case 'S':
            set.flags |= kFlagSymbol;
            break;
          case 'M':
            set.flags |= kFlagMark;
            break;
          default:
            return error("unsupported category");
        }
        return Status::ok();
      }
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          return error("unsupported escape");
        }
        set.ranges.push_back({c, c});
        return Status::ok();
    }
  }

  Result<Node> parseClass() {
    CharSet set;
    if (peek() == '^') {
      set.negated = true;
      ++m_i;
    }
    while (true) {
      if (atEnd()) return error("missing ']'");
      uint32_t c = m_p[m_i++];
      if (c == ']') break;
      if (c == '\\') {
        const uint32_t e = peek();
        if (e == 's' || e == 'S' || e == 'd' || e == 'p') {
          TF_RETURN_IF_ERROR(parseEscape(set, true));
          continue;
        }
        CharSet single;
        TF_RETURN_IF_ERROR(parseEscape(single, true));
        c = single.ranges.at(0).first;
      }
      uint32_t hi = c;
      if (peek() == '-' && peek(1) != ']' && m_i + 1 < m_p.size()) {
        m_i += 1;
        hi = m_p[m_i++];
        if (hi == '\\') {
          CharSet single;
          TF_RETURN_IF_ERROR(parseEscape(single, true));
          if (single.ranges.size() != 1) return error("bad range end");
          hi = single.ranges[0].first;
        }
        if (hi < c) return error("reversed range");
      }
      set.ranges.push_back({c, hi});
    }
    Node n;
    n.sets.push_back(std::move(set));
    return n;
  }

  Status parseQuantifier(Node& atom) {
    if (atEnd()) return Status::ok();
    const uint32_t c = peek();
    int lo = 1, hi = 1;
    if (c == '?') {
      lo = 0;
      hi = 1;
      ++m_i;
    } else if (c == '*') {
      lo = 0;
      hi = kInfinite;
      ++m_i;
    } else if (c == '+') {
      lo = 1;
      hi = kInfinite;
      ++m_i;
    } else if (c == '{') {
      ++m_i;
      auto number = [&](int& out) {
        if (atEnd() || peek() < '0' || peek() > '9') return false;
        out = 0;
        while (!atEnd() && peek() >= '0' && peek() <= '9' && out < 100000)
          out = out * 10 + static_cast<int>(m_p[m_i++] - '0');
        return true;
      };
      if (!number(lo)) return error("bad {n,m}");
      hi = lo;
      if (peek() == ',') {
        ++m_i;
        if (!number(hi)) hi = kInfinite;
      }
      if (peek() != '}' || hi < lo) return error("bad {n,m}");
      ++m_i;
    } else {
      return Status::ok();
    }
    if (!atEnd() && (peek() == '?' || peek() == '+'))
      return error("lazy/possessive quantifiers are not supported");
    if (atom.kind == Node::Kind::kEnd || atom.kind == Node::Kind::kLookahead ||
        atom.kind == Node::Kind::kNegLookahead) {
      return error("quantifier on an assertion");
    }
    if (atom.min != 1 || atom.max != 1) return error("nested quantifier");
    atom.min = lo;
    atom.max = hi;
    return Status::ok();
  }

  // A group of one alternative made only of single characters and positive single-character
  // lookaheads, e.g. ((?=[\p{L}])([^a-z])), matches exactly one character: turn it into one
  // class node so repeating it needs no recursion.
  static Node simplify(Node group) {
    if (group.kind != Node::Kind::kGroup || group.alternatives.size() != 1) return group;
    Seq& seq = group.alternatives[0];
    if (seq.size() == 1 && seq[0].min == 1 && seq[0].max == 1) return std::move(seq[0]);
    Node merged;
    size_t consumers = 0;
    for (Node& n : seq) {
      if (n.min != 1 || n.max != 1) return group;
      if (n.kind == Node::Kind::kClass) {
        ++consumers;
        for (CharSet& s : n.sets) merged.sets.push_back(std::move(s));
      } else if (n.kind == Node::Kind::kLookahead && n.alternatives.size() == 1 &&
                 n.alternatives[0].size() == 1 && n.alternatives[0][0].kind == Node::Kind::kClass &&
                 n.alternatives[0][0].min == 1 && n.alternatives[0][0].max == 1 && consumers == 0) {
        for (CharSet& s : n.alternatives[0][0].sets) merged.sets.push_back(std::move(s));
      } else {
        return group;
      }
    }
    if (consumers != 1) return group;
    return merged;
  }

  std::vector<uint32_t> m_p;
  size_t m_i = 0;
};

// Continuation: what to match after the current node succeeds.
struct Cont {
  const Seq* seq = nullptr;  // resume this sequence at `index`...
  size_t index = 0;
  const Node* repeat = nullptr;  // ...or another iteration of `repeat`
  int count = 0;
  size_t start = 0;
  const Cont* next = nullptr;
};

class Matcher {
 public:
  Matcher(const uint32_t* cps, const uint8_t* flags, size_t end) : m_cps(cps), m_flags(flags), m_end(end) {}

  bool matchAlternative(const Seq& alternative, size_t pos, size_t& match_end) {
    if (!matchSeq(alternative, 0, pos, nullptr)) return false;
    match_end = m_result;
    return true;
  }

  size_t runLength(const Node& n, size_t pos) {
    size_t count = 0;
    while (classMatches(n, pos + count)) ++count;
    return count;
  }

  uint64_t steps() const { return m_steps; }

 private:
  bool classMatches(const Node& n, size_t pos) {
    ++m_steps;
    if (pos >= m_end) return false;
    for (const CharSet& s : n.sets) {
      if (!s.matches(m_cps[pos], m_flags[pos])) return false;
    }
    return true;
  }

  bool resume(size_t pos, const Cont* k) {
    if (k == nullptr) {
      m_result = pos;
      return true;
    }
    if (k->repeat != nullptr) {
      if (pos == k->start) return false;  // an empty iteration can not help
      return repeatFrom(*k->repeat, k->count, pos, k->next);
    }
    return matchSeq(*k->seq, k->index, pos, k->next);
  }

  bool matchSeq(const Seq& seq, size_t i, size_t pos, const Cont* k) {
    if (i == seq.size()) return resume(pos, k);
    const Node& n = seq[i];
    const Cont after{&seq, i + 1, nullptr, 0, 0, k};
    if (n.min == 1 && n.max == 1) return matchOnce(n, pos, &after);
    if (n.kind == Node::Kind::kClass) {
      // Greedy run of one class: count, then back off one character at a time.
      size_t count = 0;
      const size_t limit = n.max == kInfinite ? m_end - pos : static_cast<size_t>(n.max);
      while (count < limit && classMatches(n, pos + count)) ++count;
      if (count < static_cast<size_t>(n.min)) return false;
      for (size_t c = count;; --c) {
        if (matchSeq(seq, i + 1, pos + c, k)) return true;
        if (c == static_cast<size_t>(n.min)) return false;
      }
    }
    return repeatFrom(n, 0, pos, &after);
  }

  bool repeatFrom(const Node& n, int count, size_t pos, const Cont* after) {
    if (count < n.max) {
      const Cont again{nullptr, 0, &n, count + 1, pos, after};
      if (matchOnce(n, pos, &again)) return true;
    }
    return count >= n.min && resume(pos, after);
  }

  bool matchOnce(const Node& n, size_t pos, const Cont* k) {
    ++m_steps;
    switch (n.kind) {
      case Node::Kind::kClass:
        return classMatches(n, pos) && resume(pos + 1, k);
      case Node::Kind::kGroup:
        for (const Seq& alt : n.alternatives) {
          if (matchSeq(alt, 0, pos, k)) return true;
        }
        return false;
      case Node::Kind::kLookahead:
      case Node::Kind::kNegLookahead: {
        bool found = false;
        for (const Seq& alt : n.alternatives) {
          if (matchSeq(alt, 0, pos, nullptr)) {
            found = true;
            break;
          }
        }
        if (found != (n.kind == Node::Kind::kLookahead)) return false;
        return resume(pos, k);
      }
      case Node::Kind::kEnd:
        return pos == m_end && resume(pos, k);
    }
    return false;
  }

  const uint32_t* m_cps;
  const uint8_t* m_flags;
  size_t m_end;
  size_t m_result = 0;
  uint64_t m_steps = 0;
};

}  // namespace

Result<PreRegex> PreRegex::compile(std::string_view pattern) {
  Parser parser(toCodepoints(pattern));
  TF_ASSIGN_OR_RETURN(Node root, parser.parseAll());
  return PreRegex(std::make_unique<Node>(std::move(root)));
}

PreRegex::PreRegex(std::unique_ptr<Node> root) : m_root(std::move(root)) {}
PreRegex::PreRegex(PreRegex&&) noexcept = default;
PreRegex& PreRegex::operator=(PreRegex&&) noexcept = default;
PreRegex::~PreRegex() = default;

bool PreRegex::find(const uint32_t* cps, const uint8_t* flags, size_t from, size_t end, size_t& match_begin,
                    size_t& match_end, uint64_t* steps) const {
  Matcher matcher(cps, flags, end);
  uint64_t tries = 0;  // (position, alternative) pairs looked at, skipped ones included
  struct Report {      // the work is reported on every return
    const Matcher& m;
    const uint64_t& tries;
    uint64_t* steps;
    ~Report() {
      if (steps) *steps += m.steps() + tries;
    }
  } report{matcher, tries, steps};
  const std::vector<Seq>& alternatives = m_root->alternatives;
  // An alternative that starts with an unbounded class run R (like \s+$) and fails at p, where
  // R extends to e, also fails at every p' in (p, e]: the rest of the pattern sees only run
  // ends it already tried. Skipping those keeps such patterns linear instead of quadratic.
  std::vector<size_t> skip_until(alternatives.size(), 0);
  for (size_t pos = from; pos < end; ++pos) {
    for (size_t a = 0; a < alternatives.size(); ++a) {
      ++tries;
      if (pos < skip_until[a]) continue;
      const Seq& alt = alternatives[a];
      size_t e = 0;
      if (matcher.matchAlternative(alt, pos, e)) {
        if (e == pos) break;  // an empty match counts as no match here
        match_begin = pos;
        match_end = e;
        return true;
      }
      if (!alt.empty() && alt[0].kind == Node::Kind::kClass && alt[0].max == kInfinite) {
        skip_until[a] = pos + matcher.runLength(alt[0], pos) + 1;
      }
    }
  }
  return false;
}

void refineSplit(const PreRegex& regex, const uint32_t* cps, const uint8_t* flags,
                 std::vector<size_t>& lengths, uint64_t* steps) {
  std::vector<size_t> out;
  out.reserve(lengths.size() * 2);
  size_t start = 0;
  for (size_t len : lengths) {
    const size_t end = start + len;
    size_t pos = start;
    size_t mb = 0, me = 0;
    while (pos < end && regex.find(cps, flags, pos, end, mb, me, steps)) {
      if (mb > pos) out.push_back(mb - pos);
      out.push_back(me - mb);
      pos = me;
    }
    if (pos < end) out.push_back(end - pos);
    start = end;
  }
  lengths = std::move(out);
}

}  // namespace tokenfab::tok
