// Tokenizer construction (validation of the vocabulary), special tokens and encode().
#include <algorithm>
#include <unordered_set>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab {

namespace {

Status badVocab(std::string message) { return {Code::kTokenizerBadVocab, std::move(message)}; }

// Texts llama.cpp treats as end-of-turn / end-of-generation markers.
constexpr std::string_view kEotTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "<\xEF\xBD\x9C"
                                          "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",    "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",        "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>",     "<|end_of_text|>", "<end_of_utterance>"};

Status setSpecial(const char* key, const std::optional<int64_t>& value, int32_t n_tokens, int32_t& id) {
  if (!value) {
    if (id >= n_tokens) id = -1;  // a built-in default that this vocabulary is too small for
    return Status::ok();
  }
  if (*value == -1 || *value == 0xFFFFFFFFll) {  // converters write -1 (often as uint32) for "none"
    id = -1;
    return Status::ok();
  }
  if (*value < 0 || *value >= n_tokens) {
    return badVocab("tokenizer.ggml." + std::string(key) + " = " + std::to_string(*value) +
                    " is outside the vocabulary (" + std::to_string(n_tokens) + " tokens)");
  }
  id = static_cast<int32_t>(*value);
  return Status::ok();
}

struct Fragment {
  int32_t token;  // -1: raw text
  size_t offset;
  size_t length;
};

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::fromVocab(VocabData data) {
  auto impl = std::make_unique<Impl>();
  Impl& v = *impl;
  if (data.model == "llama") {
    v.kind = VocabKind::kSpm;
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = true, v.add_space_prefix = true;
  } else if (data.model == "gpt2") {
    v.kind = VocabKind::kBpe;
    v.bos = 11, v.eos = 11;
  } else if (data.model == "bert") {
    v.kind = VocabKind::kWpm;
    v.bos = 101, v.unk = 100, v.sep = 102, v.pad = 0;
    v.add_bos = true, v.add_sep = true;
  } else {
    return Status(Code::kTokenizerUnknownModel, "unknown tokenizer model (tokenizer.ggml.model) '" +
                                                    data.model + "'; supported: llama, gpt2, bert");
  }

  if (data.tokens.empty()) return badVocab("empty vocabulary (tokenizer.ggml.tokens has no entries)");
  if (data.tokens.size() > static_cast<size_t>(INT32_MAX)) return badVocab("vocabulary too large");
  const auto n_tokens = static_cast<int32_t>(data.tokens.size());
  if (!data.scores.empty() && data.scores.size() != data.tokens.size()) {
    return badVocab("tokenizer.ggml.scores has " + std::to_string(data.scores.size()) +
                    " entries but there are " + std::to_string(data.tokens.size()) + " tokens");
  }
  if (!data.token_types.empty() && data.token_types.size() != data.tokens.size()) {
    return badVocab("tokenizer.ggml.token_type has " + std::to_string(data.token_types.size()) +
                    " entries but there are " + std::to_string(data.tokens.size()) + " tokens");
  }

  v.tokens = std::move(data.tokens);
  v.scores = std::move(data.scores);
  v.types.resize(v.tokens.size(), TokenType::kNormal);
  v.text_to_id.reserve(v.tokens.size());
  for (int32_t i = 0; i < n_tokens; ++i) {
    if (!data.token_types.empty()) {
      const int32_t t = data.token_types[i];
      v.types[i] = t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::kUndefined;
    }
    std::string& text = v.tokens[i];
    if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp: keeps the table 1:1
    if (!v.text_to_id.emplace(text, i).second) {
      return badVocab("duplicate token text at id " + std::to_string(i) + " (same as id " +
                      std::to_string(v.text_to_id.at(text)) + ")");
    }
    v.max_token_bytes = std::max(v.max_token_bytes, text.size());
  }

  // Byte tokens.
  v.spm_byte_token.fill(-1);
  v.byte_token.fill(-1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    if (auto id = v.find(name)) v.spm_byte_token[b] = *id;
    std::string mapped;
    tok::appendUtf8(mapped, tok::byteToCodepoint(static_cast<uint8_t>(b)));
    if (auto id = v.find(mapped)) v.byte_token[b] = *id;
  }

  if (v.kind == VocabKind::kBpe) {
    auto pre = tok::makePreTokenizer(data.pre);
    if (!pre) return pre.status();
    v.pre = std::move(pre).value();
    v.add_bos = v.pre.add_bos;
    if (data.merges.empty())
      return badVocab("BPE vocabulary without merges (tokenizer.ggml.merges missing or empty)");
    v.merges.reserve(data.merges.size());
    for (size_t rank = 0; rank < data.merges.size(); ++rank) {
      const std::string& m = data.merges[rank];
      const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (space == std::string::npos) {
        return badVocab("merge " + std::to_string(rank) + " '" + m +
                        "' is not two tokens separated by a space");
      }
      const std::string_view left = std::string_view(m).substr(0, space);
      const std::string_view right = std::string_view(m).substr(space + 1);
      const auto l = v.find(left), r = v.find(right);
      if (!l || !r) {
        return badVocab("merge " + std::to_string(rank) + " '" + m +
                        "' refers to a token that is not in the vocabulary");
      }
      const auto result = v.find(std::string(left) + std::string(right));
      if (!result) continue;  // can never fire: its result would not be a token
      const uint64_t key =
          (static_cast<uint64_t>(static_cast<uint32_t>(*l)) << 32) | static_cast<uint32_t>(*r);
      v.merges.emplace(key, Impl::Merge{static_cast<int32_t>(rank), *result});  // first (lowest) rank wins
    }
  }

  TF_RETURN_IF_ERROR(setSpecial("bos_token_id", data.bos_id, n_tokens, v.bos));
  TF_RETURN_IF_ERROR(setSpecial("eos_token_id", data.eos_id, n_tokens, v.eos));
  TF_RETURN_IF_ERROR(setSpecial("unknown_token_id", data.unk_id, n_tokens, v.unk));
  TF_RETURN_IF_ERROR(setSpecial("seperator_token_id", data.sep_id, n_tokens, v.sep));
  TF_RETURN_IF_ERROR(setSpecial("padding_token_id", data.pad_id, n_tokens, v.pad));
  TF_RETURN_IF_ERROR(setSpecial("eot_token_id", data.eot_id, n_tokens, v.eot));
  TF_RETURN_IF_ERROR(setSpecial("eom_token_id", data.eom_id, n_tokens, v.eom));
  if (data.add_bos) v.add_bos = *data.add_bos;
  if (data.add_eos) v.add_eos = *data.add_eos;
  if (data.add_space_prefix) v.add_space_prefix = *data.add_space_prefix;
  if (v.add_bos && v.bos < 0) return badVocab("add_bos_token is set but the vocabulary has no BOS token");
  if (v.add_eos && v.eos < 0) return badVocab("add_eos_token is set but the vocabulary has no EOS token");
  if (v.add_sep && v.sep < 0) v.add_sep = false;

  // End of generation, found by id and by the texts llama.cpp knows (those become control).
  std::unordered_set<int32_t> eog;
  for (int32_t i = 0; i < n_tokens; ++i) {
    const std::string& text = v.tokens[i];
    if (v.eot < 0 && std::find(std::begin(kEotTexts), std::end(kEotTexts), text) != std::end(kEotTexts)) {
      v.eot = i;
      v.types[i] = TokenType::kControl;
    }
    if (v.eom < 0 && text == "<|eom_id|>") {
      v.eom = i;
      v.types[i] = TokenType::kControl;
    }
    if (std::find(std::begin(kEogTexts), std::end(kEogTexts), text) != std::end(kEogTexts)) {
      eog.insert(i);
      v.types[i] = TokenType::kControl;
    }
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id >= 0) eog.insert(id);
  }
  v.eog.assign(eog.begin(), eog.end());
  std::sort(v.eog.begin(), v.eog.end());

  for (int32_t i = 0; i < n_tokens; ++i) {
    const TokenType t = v.types[i];
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown)
      v.specials.push_back(i);
  }
  std::stable_sort(v.specials.begin(), v.specials.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });
  return Tokenizer(std::move(impl));
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& v = *m_impl;
  // Cut the text at special-token texts, longest first. User-defined tokens are always cut
  // out; control and unknown ones only with parse_special (llama.cpp's rule).
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({-1, 0, text.size()});
  for (int32_t id : v.specials) {
    const TokenType type = v.types[id];
    if (!options.parse_special && type != TokenType::kUserDefined) continue;
    const std::string& needle = v.tokens[id];
    if (text.find(needle) == std::string_view::npos) continue;
    std::vector<Fragment> next;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view raw = text.substr(f.offset, f.length);
      size_t pos = 0;
      for (size_t hit; (hit = raw.find(needle, pos)) != std::string_view::npos; pos = hit + needle.size()) {
        if (hit > pos) next.push_back({-1, f.offset + pos, hit - pos});
        next.push_back({id, 0, 0});
      }
      if (pos < raw.size()) next.push_back({-1, f.offset + pos, raw.size() - pos});
    }
    fragments = std::move(next);
  }

  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const bool add_special = options.add_special;
  if (add_special && v.add_bos) out.push_back(v.bos);
  bool prev_special = true;  // SPM: a text run at the start or after a special token gets "▁"
  EncodeWork scratch;
  EncodeWork& work = options.work ? *options.work : scratch;
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.offset, f.length);
    switch (v.kind) {
      case VocabKind::kSpm:
        TF_RETURN_IF_ERROR(v.encodeSpm(raw, v.add_space_prefix && prev_special, out, work));
        break;
      case VocabKind::kBpe:
        v.encodeBpe(raw, out, work);
        break;
      case VocabKind::kWpm:
        v.encodeWpm(raw, out, work);
        break;
    }
    prev_special = false;
  }
  if (add_special && v.add_eos) out.push_back(v.eos);
  if (add_special && v.add_sep) out.push_back(v.sep);
  return out;
}

VocabKind Tokenizer::kind() const { return m_impl->kind; }
std::string_view Tokenizer::preName() const {
  return m_impl->kind == VocabKind::kBpe ? std::string_view(m_impl->pre.name) : std::string_view("default");
}
int32_t Tokenizer::vocabSize() const { return static_cast<int32_t>(m_impl->tokens.size()); }
const std::string& Tokenizer::tokenText(int32_t id) const {
  static const std::string kEmpty;
  return id >= 0 && id < vocabSize() ? m_impl->tokens[id] : kEmpty;
}
TokenType Tokenizer::tokenType(int32_t id) const {
  return id >= 0 && id < vocabSize() ? m_impl->types[id] : TokenType::kUndefined;
}
std::optional<int32_t> Tokenizer::findToken(std::string_view text) const { return m_impl->find(text); }
int32_t Tokenizer::bos() const { return m_impl->bos; }
int32_t Tokenizer::eos() const { return m_impl->eos; }
int32_t Tokenizer::eot() const { return m_impl->eot; }
int32_t Tokenizer::eom() const { return m_impl->eom; }
int32_t Tokenizer::unk() const { return m_impl->unk; }
int32_t Tokenizer::sep() const { return m_impl->sep; }
bool Tokenizer::addsBos() const { return m_impl->add_bos; }
bool Tokenizer::addsEos() const { return m_impl->add_eos; }
bool Tokenizer::addsSpacePrefix() const { return m_impl->add_space_prefix; }
bool Tokenizer::isEog(int32_t id) const {
  return std::binary_search(m_impl->eog.begin(), m_impl->eog.end(), id);
}
const std::vector<int32_t>& Tokenizer::eogIds() const { return m_impl->eog; }

}  // namespace tokenfab
