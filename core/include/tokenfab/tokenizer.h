// Tokenizers: SPM (`llama`), byte-level BPE (`gpt2`, pre-tokenizer chosen by
// `tokenizer.ggml.pre`) and WordPiece (`bert`), special tokens, and a streaming detokenizer.
// The behaviour follows llama.cpp's llama-vocab.cpp so token ids match its output exactly.
//
// Loading is two layers: `VocabData` is the plain in-memory vocabulary (what the GGUF keys say);
// `Tokenizer::fromVocab` validates it and builds the lookup tables; `Tokenizer::fromGguf` only
// reads the `tokenizer.ggml.*` keys into a VocabData.
//
// Documented fallbacks:
//  - a missing or empty `tokenizer.ggml.pre` selects the `default` pre-tokenizer (as llama.cpp);
//    any other unknown name is kTokenizerUnknownPre.
//  - tokens without `token_type` are NORMAL; without `scores`, every score is 0.
//  - a special id of -1 (or 0xFFFFFFFF, as converters write it) means "none"; any other id
//    outside the vocabulary is kTokenizerBadVocab.
//
// Round trips: decode(encode(x)) == x for valid UTF-8 x with SPM vocabularies that have byte
// tokens and with byte-level BPE, except bytes a BPE vocabulary has no token for (dropped, as in
// llama.cpp) and text parsed into special tokens. WordPiece is lossy (lower case, no accents,
// whitespace collapsed).
//
// Not implemented: llama.cpp's per-model lstrip/rstrip attributes on special tokens, and the
// UGM/RWKV/PLaMo-2 tokenizer models (kTokenizerUnknownModel).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::gguf {
class GgufFile;
}

namespace tokenfab {

// GGUF token types (tokenizer.ggml.token_type), ids as llama.cpp writes them.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class VocabKind { kSpm, kBpe, kWpm };

// Everything a tokenizer needs, exactly as stored under `tokenizer.ggml.*`.
struct VocabData {
  std::string model;                 // tokenizer.ggml.model: "llama", "gpt2", "bert"
  std::string pre;                   // tokenizer.ggml.pre (BPE only), may be empty
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<float> scores;         // empty, or one per token
  std::vector<int32_t> token_types;  // empty, or one per token (TokenType values)
  std::vector<std::string> merges;   // BPE: "left right", rank = index
  std::optional<int64_t> bos_id, eos_id, unk_id, sep_id, pad_id, eot_id, eom_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

// The work an encode did, in units that do not depend on the machine: what tests bound to show
// the tokenizers stay linear (or n log n) on pathological text.
struct EncodeWork {
  uint64_t regex_steps = 0;  // pre-tokenizer: character tests and pattern nodes tried (per character for WordPiece)
  uint64_t merge_steps = 0;  // BPE / SPM: merge candidates queued and taken
  uint64_t lookups = 0;      // vocabulary lookups (WordPiece's longest match, SPM's pieces)
  uint64_t total() const { return regex_steps + merge_steps + lookups; }
};

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS (CLS/SEP for WordPiece) as the vocabulary asks
  bool parse_special = false;  // match control-token texts like "<|im_end|>" inside the text
  EncodeWork* work = nullptr;  // when set, the work of this encode is added to it
};

class Tokenizer {
 public:
  static Result<Tokenizer> fromVocab(VocabData data);
  static Result<Tokenizer> fromGguf(const gguf::GgufFile& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Fails only when the text holds a byte the vocabulary cannot represent at all.
  Result<std::vector<int32_t>> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Raw bytes of one token as it would be emitted (▁ -> space, byte tokens -> the byte,
  // BPE byte-to-unicode undone). Control tokens give their text. May be partial UTF-8.
  std::string tokenBytes(int32_t id) const;
  // One token for display: always valid UTF-8, visible ("<0x0A>" stays as text, control
  // tokens as their text, invalid bytes as U+FFFD). "" for an out-of-range id.
  std::string piece(int32_t id) const;
  // Whole sequence: valid UTF-8, control tokens omitted unless `render_special`, SPM's leading
  // space removed at the start and after BOS. Equals the concatenated StreamDecoder output.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  VocabKind kind() const;
  std::string_view preName() const;  // the pre-tokenizer in use ("default" when none was given)
  int32_t vocabSize() const;
  const std::string& tokenText(int32_t id) const;  // the vocab string, "" when out of range
  TokenType tokenType(int32_t id) const;
  std::optional<int32_t> findToken(std::string_view text) const;

  int32_t bos() const;  // -1 when none
  int32_t eos() const;
  int32_t eot() const;
  int32_t eom() const;
  int32_t unk() const;
  int32_t sep() const;
  bool addsBos() const;
  bool addsEos() const;
  bool addsSpacePrefix() const;
  // End of generation: eos, eot, eom and tokens with llama.cpp's known end texts.
  bool isEog(int32_t id) const;
  const std::vector<int32_t>& eogIds() const;

  struct Impl;  // defined in core/tokenizer/tokenizer_impl.h

 private:
  friend class StreamDecoder;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Turns a token stream into text as it arrives. Only whole UTF-8 characters are returned;
// bytes that cannot become valid UTF-8 come out as U+FFFD. The concatenation of every push()
// and the final flush() equals tokenizer.decode(all ids, render_special).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false);
  std::string push(int32_t id);
  std::string flush();  // pending incomplete bytes -> U+FFFD; resets to the start state
  void reset();
  // The next token continues earlier text (generation after a prompt): SPM's leading space is
  // kept instead of being stripped as at the start of a sequence.
  void continueText() { m_at_start = false; }

 private:
  const Tokenizer* m_tokenizer;
  bool m_render_special;
  bool m_at_start = true;  // next text token may lose its leading space (SPM)
  std::string m_pending;   // bytes not yet emitted (an incomplete UTF-8 character)
};

}  // namespace tokenfab
