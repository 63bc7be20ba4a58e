// The pre-tokenizer regex engine. Oracle 1: std::regex on ASCII text, where \p{L} \p{N} \p{P}
// are exactly the ASCII ranges (llama.cpp itself runs these patterns through std::regex this
// way). Oracle 2: splits worked out by hand for non-ASCII text.
#include "tokenizer/pre_regex.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab::tok {
namespace {

// \p{X} -> its ASCII members, bracketed when outside a class.
std::string asciiPattern(const std::string& pattern) {
  const std::pair<const char*, const char*> kCats[] = {{"\\p{L}", "A-Za-z"},
                                                       {"\\p{N}", "0-9"},
                                                       {"\\p{P}", "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
                                                       {"\\p{S}", "\\$\\+<->\\^`\\|~"}};
  std::string out;
  bool inside = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    bool replaced = false;
    for (const auto& [name, ascii] : kCats) {
      if (pattern.compare(i, 5, name) == 0) {
        // Built piece by piece: GCC 12 warns falsely (-Wrestrict) on "[" + std::string.
        if (!inside) out += '[';
        out += ascii;
        if (!inside) out += ']';
        i += 4;
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern.substr(i, 2);
      ++i;
      continue;
    }
    if (pattern[i] == '[') inside = true;
    if (pattern[i] == ']') inside = false;
    out.push_back(pattern[i]);
  }
  return out;
}

// llama.cpp's std::regex split: matches and the gaps between them, inside each piece.
std::vector<size_t> stdSplit(const std::string& text, const std::regex& re,
                             const std::vector<size_t>& lengths) {
  std::vector<size_t> out;
  size_t start = 0;
  for (size_t len : lengths) {
    std::cregex_iterator it(text.data() + start, text.data() + start + len, re), end;
    size_t pos = 0;
    for (; it != end; ++it) {
      const auto mpos = static_cast<size_t>(it->position()), mlen = static_cast<size_t>(it->length());
      if (mpos > pos) out.push_back(mpos - pos);
      out.push_back(mlen);
      pos = mpos + mlen;
    }
    if (pos < len) out.push_back(len - pos);
    start += len;
  }
  return out;
}

std::vector<std::string> words(const std::string& text, const std::vector<size_t>& lengths) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t len : lengths) {
    out.push_back(text.substr(pos, len));
    pos += len;
  }
  return out;
}

std::vector<std::string> split(const char* pre, const std::string& text) {
  auto p = makePreTokenizer(pre);
  EXPECT_TRUE(p.isOk()) << p.status().toString();
  const std::vector<uint32_t> cps = toCodepoints(text);
  std::vector<uint8_t> flags;
  for (uint32_t cp : cps) flags.push_back(charFlags(cp));
  const std::vector<size_t> lengths = preTokenize(p.value(), cps, flags);
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t len : lengths) {
    std::string w;
    for (size_t i = pos; i < pos + len; ++i) appendUtf8(w, cps[i]);
    out.push_back(w);
    pos += len;
  }
  return out;
}

TEST(PreRegex, AgreesWithStdRegexOnRandomAscii) {
  const char* kPresets[] = {"default", "llama3", "qwen2", "tekken", "falcon", "starcoder", "gpt-2", "dbrx"};
  const std::string kAlphabet = "aAbZz09 5 '''sStTdDmMlLrReEvV\n\n\r\t  .,!?$+<=>^~|`_-/(){}[]#%&*:;@\\\"";
  const uint32_t seed = 1234;
  std::mt19937 rng(seed);
  for (const char* name : kPresets) {
    auto pre = makePreTokenizer(name);
    ASSERT_TRUE(pre.isOk()) << name;
    std::vector<std::regex> std_passes;
    for (const std::string& pattern : pre->patterns) std_passes.emplace_back(asciiPattern(pattern));
    for (int trial = 0; trial < 300; ++trial) {
      std::string text;
      const size_t len = rng() % 40;
      for (size_t i = 0; i < len; ++i) text.push_back(kAlphabet[rng() % kAlphabet.size()]);
      const std::vector<uint32_t> cps = toCodepoints(text);
      std::vector<uint8_t> flags;
      for (uint32_t cp : cps) flags.push_back(charFlags(cp));
      std::vector<size_t> ours = preTokenize(pre.value(), cps, flags);
      std::vector<size_t> theirs;
      if (!text.empty()) theirs.push_back(text.size());
      for (const std::regex& re : std_passes) theirs = stdSplit(text, re, theirs);
      ASSERT_EQ(words(text, ours), words(text, theirs))
          << "pre " << name << ", seed " << seed << ", trial " << trial << ", text '" << text << "'";
    }
  }
}

TEST(PreRegex, Gpt2HandSplits) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("gpt-2", "Hello  world\n\n it's 123"),
            (V{"Hello", " ", " world", "\n\n", " it", "'s", " 123"}));
  EXPECT_EQ(split("gpt-2", "ünïcödé 🙂🙂 — x"), (V{"ünïcödé", " 🙂🙂", " —", " x"}));
  // NBSP is \s but " ?" takes only U+0020: the second NBSP is matched by nothing (a gap).
  EXPECT_EQ(split("gpt-2", "a\u00A0\u00A0b"), (V{"a", "\u00A0", "\u00A0", "b"}));
}

TEST(PreRegex, Llama3AndQwen2HandSplits) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("llama3", "12345 Ünï's\n\n  x"), (V{"123", "45", " Ünï", "'s", "\n\n", " ", " x"}));
  EXPECT_EQ(split("qwen2", "12345 Ünï's"), (V{"1", "2", "3", "4", "5", " Ünï", "'s"}));
  EXPECT_EQ(split("llama3", "(🙂)"), (V{"(🙂)"}));  // symbols and punctuation are one class here
}

TEST(PreRegex, TekkenCaseSplits) {
  using V = std::vector<std::string>;
  // Upper-case runs followed by lower-case runs, as the original \p{Lu}*\p{Ll}+ pattern does.
  EXPECT_EQ(split("tekken", "HTMLParser isOK"), (V{"HTMLParser", " is", "OK"}));
}

TEST(PreRegex, DeepseekCoderSplitsCjkAndDigits) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("deepseek-coder", "ab 中文12\n"), (V{"ab", " ", "中文", "1", "2", "\n"}));
}

TEST(PreRegex, RejectsUnsupportedSyntax) {
  for (const char* bad : {"(", "[a-", "a{2,1}", "\\p{Xx}", "a+?", "(?<x>a)", "\\q", ")"}) {
    auto re = PreRegex::compile(bad);
    EXPECT_FALSE(re.isOk()) << bad;
    if (!re.isOk()) {
      EXPECT_EQ(re.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

TEST(PreRegex, UnknownPreIsNamedError) {
  auto pre = makePreTokenizer("no-such-pre");
  ASSERT_FALSE(pre.isOk());
  EXPECT_EQ(pre.status().code(), Code::kTokenizerUnknownPre);
  EXPECT_NE(pre.status().message().find("no-such-pre"), std::string::npos);
  auto fallback = makePreTokenizer("");
  ASSERT_TRUE(fallback.isOk());
  EXPECT_EQ(fallback->name, "default");
}

TEST(PreRegex, LongRunsDoNotRecurseDeeply) {
  // 200k letters in one word, and 200k spaces: must not overflow the stack.
  for (const char* pre : {"gpt-2", "llama3", "tekken"}) {
    const auto letters = split(pre, std::string(200000, 'A') + "b");
    EXPECT_EQ(letters.size(), 1u) << pre;
    const auto spaces = split(pre, std::string(200000, ' ') + "x");
    EXPECT_EQ(spaces.size(), 2u) << pre;
  }
}

}  // namespace
}  // namespace tokenfab::tok
