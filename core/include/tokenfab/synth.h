// Random-weight GGUF models at the exact tensor shapes of real ones (Qwen2.5, Llama 2/3/3.2), for
// benchmarks anywhere: the same architecture keys, tensor names, shapes and per-tensor types as
// llama.cpp's converter followed by `llama-quantize` produce, a synthetic tokenizer of exactly
// n_vocab tokens, and weights from a seeded generator. Generated, quantized and written tensor
// by tensor (GgufStreamWriter), so memory stays small whatever the model size.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::synth {

// The llama.cpp file types offered (general.file_type = llama_ftype).
enum class FileType : uint32_t { kF16 = 1, kQ4_0 = 2, kQ8_0 = 7, kQ4_K_M = 15 };
std::string_view fileTypeName(FileType type);           // "q4_k_m"
Result<FileType> parseFileType(std::string_view name);  // kInvalidArgument names the valid ones
std::span<const FileType> fileTypes();

enum class VocabKind { kBpe, kSpm };  // tokenizer.ggml.model gpt2 / llama

// One model's shape: the facts of its published config.json.
struct Shape {
  std::string name;   // "qwen2.5-0.5b"
  std::string title;  // general.name
  std::string arch;   // general.architecture: "llama", "qwen2", "qwen3", "phi3" or "gemma3"
  uint32_t n_vocab = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_ff = 0;
  uint32_t n_ctx_train = 0;
  double rope_freq_base = 10000.0;
  double rms_eps = 1e-5;
  bool tied_output = false;  // no output.weight: the output reuses token_embd
  bool qkv_bias = false;     // qwen2
  uint32_t head_dim = 0;     // attention.key_length / value_length (qwen3); 0: n_embd / n_head, no key
  bool qk_norm = false;      // qwen3: attn_q_norm / attn_k_norm (head_dim) in every block
  bool fused_qkv_up = false; // phi3: attn_qkv (q|k|v rows) and ffn_up (gate|up rows), no ffn_gate
  // gemma3: post_attention_norm / post_ffw_norm in every block; sliding-window layers (the
  // architecture's default pattern) with their own rope base. 0: no window.
  bool post_norms = false;
  uint32_t sliding_window = 0;
  double rope_freq_base_swa = 10000.0;
  // Llama 3.x "llama3" rope scaling, baked into rope_freqs.weight (factor 0: none).
  double rope_factor = 0.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  uint32_t rope_original_ctx = 8192;
  VocabKind vocab = VocabKind::kBpe;
  std::string tokenizer_pre;   // tokenizer.ggml.pre
  uint32_t first_special = 0;  // BPE: id of the first control token (the rest of the vocab is regular)
  int64_t bos_id = -1, eos_id = -1, pad_id = -1;
  bool add_bos = false;

  uint32_t headDim() const { return head_dim != 0 ? head_dim : n_embd / n_head; }
};

std::span<const Shape> shapes();
// kNotFound listing the valid names.
Result<Shape> findShape(std::string_view name);

// One tensor of the file, in file order.
struct PlannedTensor {
  enum class Fill : uint8_t { kMatrix, kNorm, kBias, kRopeFreqs };
  std::string name;
  gguf::TensorType type = gguf::TensorType::kF32;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the row length
  Fill fill = Fill::kMatrix;
  uint64_t elements() const;
};

// The tensor table of `shape` with `n_layer` blocks (0 = all), typed as llama-quantize types it
// for `type` (llama_tensor_get_type: output / tied embedding Q6_K, attn_v and ffn_down Q6_K in
// the layers use_more_bits picks for Q4_K_M, fallbacks Q4_K->Q5_0 and Q6_K->Q8_0 when a row is
// not a multiple of 256) and ordered as llama-quantize writes it (non-block tensors by name,
// then block by block, names sorted within a block).
std::vector<PlannedTensor> planTensors(const Shape& shape, FileType type, uint32_t n_layer = 0);
// llama-quantize's "use more bits" layer rule (Q4_K_M attn_v / ffn_down).
bool useMoreBits(uint32_t layer, uint32_t n_layer);
// rope_freqs.weight (head_dim / 2 divisors) for llama3 rope scaling; empty when the shape has none.
std::vector<float> llama3RopeFactors(const Shape& shape);
// Every metadata key the file gets (architecture, hyper-parameters, tokenizer), in file order.
std::vector<std::pair<std::string, gguf::Value>> metadata(const Shape& shape, FileType type,
                                                          uint32_t n_layer = 0);

uint64_t parameterCount(const Shape& shape, uint32_t n_layer = 0);
// The exact size of the file synthesize() writes.
Result<uint64_t> fileSize(const Shape& shape, FileType type, uint32_t n_layer = 0);

struct Progress {
  size_t tensor = 0;  // 1-based index of the tensor just written
  size_t n_tensors = 0;
  std::string_view name;
  uint64_t bytes_written = 0;
  uint64_t bytes_total = 0;
};

struct Options {
  FileType type = FileType::kQ8_0;
  uint64_t seed = 1;
  uint32_t n_layer = 0;  // 0: the shape's own block count
  uint32_t threads = 2;
  // Matrices and biases all zero, left as holes in a sparse file: instant and takes no disk
  // space; for tests of the tensor table and loading (norms and rope_freqs keep their values).
  bool zero_weights = false;
  std::function<void(const Progress&)> progress;  // after each tensor; may be empty
  // Set from another thread or a signal handler: synthesize() stops within one chunk of rows
  // and fails with kCancelled, leaving no file.
  const std::atomic<bool>* cancel = nullptr;
};

struct Summary {
  size_t n_tensors = 0;
  uint64_t n_params = 0;
  uint64_t file_bytes = 0;
};

// Writes the model to `path` (temporary file + rename). Errors: kInvalidArgument (layers out of
// range), kIoError (unwritable folder, not enough free space: says how much is needed).
Result<Summary> synthesize(const Shape& shape, const Options& options, const std::filesystem::path& path);

}  // namespace tokenfab::synth
