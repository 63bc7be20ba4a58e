// The three encoders, each over one run of plain text. They follow llama.cpp's
// llm_tokenizer_{spm,bpe,wpm}_session so the ids agree exactly.
#include <cstdio>
#include <queue>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

struct Symbol {
  int prev;
  int next;
  size_t start;  // byte offset into the text being merged
  size_t n;      // byte length; 0 once merged into its left neighbour
  int32_t id;    // BPE: current token id (-1 for a byte with no token)
};

}  // namespace

// SPM: start from single characters, repeatedly merge the adjacent pair whose concatenation is
// the vocabulary token with the highest score (ties: leftmost); characters left without a
// token fall back to <0xXX> byte tokens.
Status Tokenizer::Impl::encodeSpm(std::string_view raw, bool add_prefix, std::vector<int32_t>& out,
                                  EncodeWork& work) const {
  std::string text;
  text.reserve(raw.size() * 3 + 3);
  if (add_prefix) text.append(kSpmSpace);
  for (char c : raw) {
    if (c == ' ')
      text.append(kSpmSpace);
    else
      text.push_back(c);
  }
  std::vector<Symbol> symbols;
  for (size_t offs = 0; offs < text.size();) {
    const size_t len =
        std::min(text.size() - offs, tok::utf8SequenceLength(static_cast<uint8_t>(text[offs])));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offs + len == text.size() ? -1 : index + 1, offs, len, -1});
    offs += len;
  }

  struct Bigram {
    int left, right;
    float score;
    size_t size;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto tryAdd = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].n + symbols[right].n;
    ++work.lookups;
    const auto id = find(std::string_view(text).substr(symbols[left].start, size));
    if (!id) return;
    queue.push({left, right, scores.empty() ? 0.0f : scores[*id], size});
    ++work.merge_steps;
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) tryAdd(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    ++work.merge_steps;
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != b.size) continue;  // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    tryAdd(left.prev, b.left);
    tryAdd(b.left, left.next);
  }

  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const std::string_view piece = std::string_view(text).substr(symbols[i].start, symbols[i].n);
    if (const auto id = find(piece)) {
      out.push_back(*id);
      continue;
    }
    // Only single characters reach here: merges always produce vocabulary tokens.
    for (char c : piece) {
      const auto byte = static_cast<uint8_t>(c);
      if (spm_byte_token[byte] >= 0) {
        out.push_back(spm_byte_token[byte]);
      } else if (const auto single = find(std::string_view(&c, 1))) {
        out.push_back(*single);
      } else if (unk >= 0) {
        out.push_back(unk);
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", byte);
        return {Code::kInvalidArgument,
                std::string("byte ") + hex +
                    " has no token in this vocabulary (no <0x..> byte token and no <unk>)"};
      }
    }
  }
  return Status::ok();
}

// Byte-level BPE: pre-tokenize into words, then merge adjacent symbols by lowest merge rank
// (ties: leftmost). Symbols carry token ids, so merges are looked up by id pairs.
void Tokenizer::Impl::encodeBpe(std::string_view text, std::vector<int32_t>& out, EncodeWork& work) const {
  const std::vector<uint32_t> cps = tok::toCodepoints(text);
  std::vector<uint8_t> flags(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) flags[i] = tok::charFlags(cps[i]);
  const std::vector<size_t> lengths = tok::preTokenize(pre, cps, flags, &work.regex_steps);

  struct Bigram {
    int32_t rank;
    int left, right;
    int32_t left_id, right_id;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::vector<Bigram> heap_storage;
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse, std::move(heap_storage));
  std::vector<Symbol> symbols;
  std::string word;
  std::string encoded;

  size_t start = 0;
  for (size_t len : lengths) {
    word.clear();
    for (size_t i = start; i < start + len; ++i) tok::appendUtf8(word, cps[i]);
    start += len;

    if (pre.ignore_merges) {
      encoded.clear();
      for (char c : word) tok::appendUtf8(encoded, tok::byteToCodepoint(static_cast<uint8_t>(c)));
      if (const auto id = find(encoded)) {
        out.push_back(*id);
        continue;
      }
    }

    symbols.clear();
    for (size_t i = 0; i < word.size(); ++i) {
      const int index = static_cast<int>(i);
      symbols.push_back({index - 1, i + 1 == word.size() ? -1 : index + 1, i, 1,
                         byte_token[static_cast<uint8_t>(word[i])]});
    }
    auto tryAdd = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const int32_t l = symbols[left].id, r = symbols[right].id;
      if (l < 0 || r < 0) return;
      const auto it =
          merges.find((static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r));
      if (it == merges.end()) return;
      queue.push({it->second.rank, left, right, l, r});
      ++work.merge_steps;
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) tryAdd(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      ++work.merge_steps;
      Symbol& left = symbols[b.left];
      Symbol& right = symbols[b.right];
      if (left.n == 0 || right.n == 0 || left.id != b.left_id || right.id != b.right_id) continue;  // stale
      left.id = merges
                    .at((static_cast<uint64_t>(static_cast<uint32_t>(b.left_id)) << 32) |
                        static_cast<uint32_t>(b.right_id))
                    .result;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = b.left;
      tryAdd(left.prev, b.left);
      tryAdd(b.left, left.next);
    }

    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      if (symbols[i].id >= 0) {
        out.push_back(symbols[i].id);
        continue;
      }
      // A byte whose mapped character is not a token: try each byte of that character.
      std::string mapped;
      tok::appendUtf8(mapped, tok::byteToCodepoint(static_cast<uint8_t>(word[symbols[i].start])));
      for (char c : mapped) {
        if (const auto id = find(std::string_view(&c, 1))) out.push_back(*id);
      }
    }
  }
}

namespace {

bool isChineseChar(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

}  // namespace

// WordPiece (BERT): NFD, drop accents, lower case, split on whitespace and around punctuation, then greedy
// longest-match over "▁word"; a word with any unmatched rest becomes [UNK].
void Tokenizer::Impl::encodeWpm(std::string_view text, std::vector<int32_t>& out, EncodeWork& work) const {
  const std::vector<uint32_t> cps = tok::nfd(tok::toCodepoints(text));
  std::vector<std::string> words(1);
  work.regex_steps += cps.size();  // the word split below is WordPiece's pre-tokenizer
  for (uint32_t cp : cps) {
    const uint8_t f = tok::charFlags(cp);
    if (f & tok::kFlagWhitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    // Accents (combining marks after NFD) are dropped, as BERT's strip_accents does.
    if (cp == 0 || cp == tok::kReplacementChar || (f & (tok::kFlagControl | tok::kFlagMark))) continue;
    std::string s;
    tok::appendUtf8(s, tok::toLower(cp));
    if ((f & tok::kFlagPunct) || (cp < 0x7F && (f & tok::kFlagSymbol)) || isChineseChar(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = std::move(s);
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  for (const std::string& word : words) {
    if (word.empty()) continue;
    const std::string prefixed = std::string(kSpmSpace) + word;
    const size_t n = prefixed.size();
    const size_t before = out.size();
    for (size_t i = 0; i < n; ++i) {
      bool matched = false;
      for (size_t j = std::min(n, i + max_token_bytes + 1); j > i; --j) {
        ++work.lookups;
        if (const auto id = find(std::string_view(prefixed).substr(i, j - i))) {
          out.push_back(*id);
          matched = true;
          i = j - 1;
          break;
        }
      }
      if (!matched) {
        out.resize(before);
        break;
      }
    }
    if (out.size() == before && unk >= 0) out.push_back(unk);
  }
}

}  // namespace tokenfab
