// Synthetic vocabularies: byte-level BPE (the 256 GPT-2 byte characters, the first merges of
// GPT-2, made-up words, the model's control tokens at their real ids) or SentencePiece (<unk>,
// <s>, </s>, the 256 byte-fallback tokens, letters, made-up words).
#include "synth_vocab.h"

#include <cstdio>
#include <string_view>
#include <unordered_set>

namespace tokenfab::synth {
namespace {

using gguf::Value;
using gguf::ValueType;

// Token types as llama.cpp writes them (tokenizer.ggml.token_type).
constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUnused = 5, kByte = 6;

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others take code points
// 256, 257, ... in byte order.
bool isPrintableByte(int b) {
  return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

std::string byteChar(int b) {
  uint32_t cp = static_cast<uint32_t>(b);
  if (!isPrintableByte(b)) {
    uint32_t n = 0;
    for (int x = 0; x < b; ++x) n += isPrintableByte(x) ? 0 : 1;
    cp = 256 + n;
  }
  std::string s;
  appendUtf8(s, cp);
  return s;
}

// A made-up word for index i: consonant-vowel syllables, a bijection of i (so all differ).
std::string madeUpWord(uint64_t i) {
  static constexpr std::string_view kConsonants = "bdfgklmnprstvz";
  static constexpr std::string_view kVowels = "aeiou";
  const uint64_t n_syllables = kConsonants.size() * kVowels.size();
  std::string w;
  do {
    const uint64_t s = i % n_syllables;
    w += kConsonants[s / kVowels.size()];
    w += kVowels[s % kVowels.size()];
    i /= n_syllables;
  } while (i-- > 0);
  return w;
}

struct VocabBuilder {
  std::vector<Value> tokens, types, scores;
  std::unordered_set<std::string> seen;

  bool add(std::string text, int32_t type, float score = 0.0f) {
    if (!seen.insert(text).second) return false;
    tokens.push_back(Value::string(std::move(text)));
    types.push_back(Value::i32(type));
    scores.push_back(Value::f32(score));
    return true;
  }
  size_t size() const { return tokens.size(); }
};

// The first merges of GPT-2's merges.txt (a published fact; enough for common words to merge).
constexpr const char* kMerges[] = {
    "Ġ t", "Ġ a",  "h e", "i n", "r e",  "o n", "Ġt he", "e r",  "Ġ s", "a t", "Ġ w",   "Ġ o",
    "e n", "Ġ c",  "i t", "i s", "a n",  "o r", "e s",   "Ġ b",  "e d", "Ġ f", "in g",  "Ġ p",
    "o u", "Ġa n", "a l", "a r", "Ġt o", "Ġ m", "Ġo f",  "Ġ in", "Ġ d", "Ġ h", "Ġan d",
};

std::string controlText(const Shape& shape, uint32_t id) {
  const uint32_t k = id - shape.first_special;
  if (shape.tokenizer_pre == "llama-bpe") {
    switch (k) {
      case 0:
        return "<|begin_of_text|>";
      case 1:
        return "<|end_of_text|>";
      case 6:
        return "<|start_header_id|>";
      case 7:
        return "<|end_header_id|>";
      case 8:
        return "<|eom_id|>";
      case 9:
        return "<|eot_id|>";
      default:
        return "<|reserved_special_token_" + std::to_string(k) + "|>";
    }
  }
  if (shape.arch == "phi3") {  // the phi-3 SPM vocabulary's added tokens (32000..32063)
    switch (k) {
      case 0:
        return "<|endoftext|>";
      case 1:
        return "<|assistant|>";
      case 6:
        return "<|system|>";
      case 7:
        return "<|end|>";
      case 10:
        return "<|user|>";
      default:
        return "<|placeholder" + std::to_string(k) + "|>";
    }
  }
  switch (k) {  // qwen2 (and the tiny shape)
    case 0:
      return "<|endoftext|>";
    case 1:
      return "<|im_start|>";
    case 2:
      return "<|im_end|>";
    default:
      return "[PAD" + std::to_string(id) + "]";
  }
}

void buildBpe(const Shape& shape, VocabBuilder& v, std::vector<Value>& merges) {
  // Ids 0..255 in GPT-2's order (the printable bytes first), as in the real vocabularies.
  for (int b = 0; b < 256; ++b)
    if (isPrintableByte(b)) v.add(byteChar(b), kNormal);
  for (int b = 0; b < 256; ++b)
    if (!isPrintableByte(b)) v.add(byteChar(b), kNormal);
  for (const char* m : kMerges) {
    const std::string_view text(m);
    const size_t space = text.find(' ');
    if (v.size() >= shape.first_special) break;
    v.add(std::string(text.substr(0, space)) + std::string(text.substr(space + 1)), kNormal);
    merges.push_back(Value::string(m));
  }
  for (uint64_t i = 0; v.size() < shape.first_special; ++i) v.add("Ġ" + madeUpWord(i), kNormal);
  for (uint32_t id = shape.first_special; id < shape.n_vocab; ++id) {
    const std::string text = controlText(shape, id);
    v.add(text, text.starts_with("[PAD") ? kUnused : kControl);
  }
}

void buildSpm(const Shape& shape, VocabBuilder& v) {
  v.add("<unk>", kUnknown);
  v.add("<s>", kControl);
  v.add("</s>", kControl);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    v.add(name, kByte);
  }
  float score = 0.0f;
  auto normal = [&](std::string text) {
    if (v.size() < shape.n_vocab && v.add(std::move(text), kNormal, score)) score -= 1.0f;
  };
  normal("▁");
  for (char c = 'a'; c <= 'z'; ++c) normal("▁" + std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) normal(std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c) normal(std::string(1, c));
  for (char c : std::string_view("0123456789.,!?'-:;")) normal(std::string(1, c));
  const uint32_t n_normal = shape.first_special != 0 ? shape.first_special : shape.n_vocab;
  for (uint64_t i = 0; v.size() < n_normal; ++i) normal("▁" + madeUpWord(i));
  for (uint32_t id = n_normal; id < shape.n_vocab; ++id) v.add(controlText(shape, id), kControl);
}

}  // namespace

void appendVocab(const Shape& shape, std::vector<std::pair<std::string, Value>>& kv) {
  VocabBuilder v;
  std::vector<Value> merges;
  if (shape.vocab == VocabKind::kBpe) {
    buildBpe(shape, v, merges);
  } else {
    buildSpm(shape, v);
  }
  kv.emplace_back("tokenizer.ggml.model", Value::string(shape.vocab == VocabKind::kBpe ? "gpt2" : "llama"));
  kv.emplace_back("tokenizer.ggml.pre", Value::string(shape.tokenizer_pre));
  kv.emplace_back("tokenizer.ggml.tokens", Value::array(ValueType::kString, std::move(v.tokens)));
  if (shape.vocab == VocabKind::kSpm) {
    kv.emplace_back("tokenizer.ggml.scores", Value::array(ValueType::kFloat32, std::move(v.scores)));
  }
  kv.emplace_back("tokenizer.ggml.token_type", Value::array(ValueType::kInt32, std::move(v.types)));
  if (shape.vocab == VocabKind::kBpe) {
    kv.emplace_back("tokenizer.ggml.merges", Value::array(ValueType::kString, std::move(merges)));
  }
  if (shape.bos_id >= 0)
    kv.emplace_back("tokenizer.ggml.bos_token_id", Value::u32(static_cast<uint32_t>(shape.bos_id)));
  if (shape.eos_id >= 0)
    kv.emplace_back("tokenizer.ggml.eos_token_id", Value::u32(static_cast<uint32_t>(shape.eos_id)));
  if (shape.vocab == VocabKind::kSpm) kv.emplace_back("tokenizer.ggml.unknown_token_id", Value::u32(0));
  if (shape.pad_id >= 0)
    kv.emplace_back("tokenizer.ggml.padding_token_id", Value::u32(static_cast<uint32_t>(shape.pad_id)));
  kv.emplace_back("tokenizer.ggml.add_bos_token", Value::boolean(shape.add_bos));
  if (shape.vocab == VocabKind::kSpm) kv.emplace_back("tokenizer.ggml.add_eos_token", Value::boolean(false));
}

}  // namespace tokenfab::synth
