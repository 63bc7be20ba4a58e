#include "tokenizer/pre_tokenizer.h"

#include <array>

namespace tokenfab::tok {

namespace {

// The regexes, as llama.cpp states them (facts of each model's tokenizer.json).
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Code points that Unicode normalization would rewrite are written as \x{...} escapes.
constexpr std::string_view kDeepseekLlmLetters =
    R"(\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+)";
constexpr std::string_view kDeepseekLlmPunct = R"(\s?[!-/:-~！-／：-～‘-‟　-。]+)";
constexpr std::string_view kCjk = R"([一-龥ࠀ-一가-퟿]+)";

struct PreSpec {
  std::string_view canonical;
  std::vector<std::string_view> names;
  std::vector<std::string_view> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<PreSpec>& preSpecs() {
  static const std::vector<PreSpec> specs = {
      {"default", {"default", ""}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
      {"llama3",
       {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {kLlama3},
       true,
       true},
      {"deepseek-llm",
       {"deepseek-llm"},
       {R"([\r\n])", kDeepseekLlmLetters, kDeepseekLlmPunct, R"(\s+$)", kCjk, R"(\p{N}+)"}},
      {"deepseek-coder", {"deepseek-coder"}, {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"}},
      {"falcon", {"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}},
      {"starcoder",
       {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
       {R"(\p{N})", kGpt2}},
      {"gpt-2",
       {"gpt-2", "mpt", "olmo", "jais", "trillion", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
        "jina-v2-de", "exaone4", "mellum", "granite-docling"},
       {kGpt2}},
      {"qwen2", {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "grok-2"}, {kQwen2}},
      {"chatglm4", {"chatglm-bpe", "glm4"}, {kLlama3}},
      {"dbrx", {"dbrx", "smaug-bpe"}, {kLlama3}},
      {"tekken", {"tekken"}, {kTekken}, true, true},
  };
  return specs;
}

}  // namespace

Result<PreTokenizer> makePreTokenizer(std::string_view pre) {
  for (const PreSpec& spec : preSpecs()) {
    for (std::string_view name : spec.names) {
      if (name != pre) continue;
      PreTokenizer out;
      out.name = std::string(pre.empty() ? spec.canonical : pre);
      out.ignore_merges = spec.ignore_merges;
      out.add_bos = spec.add_bos;
      for (std::string_view re : spec.regexes) {
        auto compiled = PreRegex::compile(re);
        if (!compiled)
          return compiled.status().withContext("pre-tokenizer '" + std::string(spec.canonical) + "'");
        out.passes.push_back(std::move(compiled).value());
        out.patterns.emplace_back(re);
      }
      return out;
    }
  }
  return Status(Code::kTokenizerUnknownPre,
                "unknown pre-tokenizer (tokenizer.ggml.pre) '" + std::string(pre) + "'");
}

std::vector<size_t> preTokenize(const PreTokenizer& pre, const std::vector<uint32_t>& cps,
                                const std::vector<uint8_t>& flags, uint64_t* steps) {
  std::vector<size_t> lengths;
  if (cps.empty()) return lengths;
  lengths.push_back(cps.size());
  for (const PreRegex& pass : pre.passes) refineSplit(pass, cps.data(), flags.data(), lengths, steps);
  return lengths;
}

}  // namespace tokenfab::tok
