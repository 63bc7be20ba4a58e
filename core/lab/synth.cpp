// Synthetic models: the shape table, llama-quantize's per-tensor type rule, the tensor plan and
// the streaming generator. The vocabulary is built in synth_vocab.cpp.
#include "tokenfab/synth.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "lab/quantize.h"
#include "synth_vocab.h"

namespace tokenfab::synth {
namespace {

using gguf::TensorType;
using gguf::Value;

// Facts from each model's published config.json (URLs beside each row). Every field the
// converter turns into a GGUF key or a tensor shape is here.
const std::vector<Shape>& shapeTable() {
  static const std::vector<Shape> kShapes = [] {
    std::vector<Shape> s;
    Shape qwen;
    qwen.arch = "qwen2";
    qwen.n_vocab = 151936;
    qwen.rope_freq_base = 1000000.0;
    qwen.rms_eps = 1e-6;
    qwen.tied_output = true;
    qwen.qkv_bias = true;
    qwen.vocab = VocabKind::kBpe;
    qwen.tokenizer_pre = "qwen2";
    qwen.first_special = 151643;  // <|endoftext|>, <|im_start|>, <|im_end|>, then padding
    qwen.bos_id = 151643;
    qwen.eos_id = 151645;
    qwen.pad_id = 151643;
    qwen.add_bos = false;

    // https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json
    Shape q05 = qwen;
    q05.name = "qwen2.5-0.5b";
    q05.title = "Qwen2.5 0.5B (synthetic)";
    q05.n_embd = 896, q05.n_layer = 24, q05.n_head = 14, q05.n_head_kv = 2, q05.n_ff = 4864;
    q05.n_ctx_train = 32768;
    s.push_back(q05);

    // https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/config.json
    Shape q15 = qwen;
    q15.name = "qwen2.5-1.5b";
    q15.title = "Qwen2.5 1.5B (synthetic)";
    q15.n_embd = 1536, q15.n_layer = 28, q15.n_head = 12, q15.n_head_kv = 2, q15.n_ff = 8960;
    q15.n_ctx_train = 32768;
    s.push_back(q15);

    Shape llama3;
    llama3.arch = "llama";
    llama3.n_vocab = 128256;
    llama3.rope_freq_base = 500000.0;
    llama3.rms_eps = 1e-5;
    llama3.vocab = VocabKind::kBpe;
    llama3.tokenizer_pre = "llama-bpe";
    llama3.first_special = 128000;  // <|begin_of_text|> ... 256 control tokens
    llama3.bos_id = 128000;
    llama3.eos_id = 128009;  // <|eot_id|>, as the Instruct models' GGUFs
    llama3.add_bos = true;

    // https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/blob/main/config.json
    Shape l1 = llama3;
    l1.name = "llama-3.2-1b";
    l1.title = "Llama 3.2 1B (synthetic)";
    l1.n_embd = 2048, l1.n_layer = 16, l1.n_head = 32, l1.n_head_kv = 8, l1.n_ff = 8192;
    l1.n_ctx_train = 131072;
    l1.tied_output = true;
    l1.rope_factor = 32.0, l1.rope_low_freq_factor = 1.0, l1.rope_high_freq_factor = 4.0;
    l1.rope_original_ctx = 8192;
    s.push_back(l1);

    // https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json
    Shape l3 = l1;
    l3.name = "llama-3.2-3b";
    l3.title = "Llama 3.2 3B (synthetic)";
    l3.n_embd = 3072, l3.n_layer = 28, l3.n_head = 24, l3.n_head_kv = 8, l3.n_ff = 8192;
    s.push_back(l3);

    // https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
    Shape l2;
    l2.name = "llama-2-7b";
    l2.title = "Llama 2 7B (synthetic)";
    l2.arch = "llama";
    l2.n_vocab = 32000;
    l2.n_embd = 4096, l2.n_layer = 32, l2.n_head = 32, l2.n_head_kv = 32, l2.n_ff = 11008;
    l2.n_ctx_train = 4096;
    l2.rope_freq_base = 10000.0;
    l2.rms_eps = 1e-5;
    l2.vocab = VocabKind::kSpm;
    l2.tokenizer_pre = "default";
    l2.bos_id = 1, l2.eos_id = 2;
    l2.add_bos = true;
    s.push_back(l2);

    // https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct/blob/main/config.json
    Shape l8 = llama3;
    l8.name = "llama-3-8b";
    l8.title = "Llama 3 8B (synthetic)";
    l8.n_embd = 4096, l8.n_layer = 32, l8.n_head = 32, l8.n_head_kv = 8, l8.n_ff = 14336;
    l8.n_ctx_train = 8192;
    s.push_back(l8);

    // Qwen3 dense: no biases, a per-head q/k norm, head_dim 128 whatever n_embd / n_head is.
    Shape qwen3 = qwen;
    qwen3.arch = "qwen3";
    qwen3.qkv_bias = false;
    qwen3.qk_norm = true;
    qwen3.head_dim = 128;
    qwen3.n_ctx_train = 40960;

    // https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json
    Shape q3_06 = qwen3;
    q3_06.name = "qwen3-0.6b";
    q3_06.title = "Qwen3 0.6B (synthetic)";
    q3_06.n_embd = 1024, q3_06.n_layer = 28, q3_06.n_head = 16, q3_06.n_head_kv = 8, q3_06.n_ff = 3072;
    s.push_back(q3_06);

    // https://huggingface.co/Qwen/Qwen3-1.7B/blob/main/config.json
    Shape q3_17 = qwen3;
    q3_17.name = "qwen3-1.7b";
    q3_17.title = "Qwen3 1.7B (synthetic)";
    q3_17.n_embd = 2048, q3_17.n_layer = 28, q3_17.n_head = 16, q3_17.n_head_kv = 8, q3_17.n_ff = 6144;
    s.push_back(q3_17);

    // https://huggingface.co/microsoft/Phi-3.5-mini-instruct/blob/main/config.json
    // Fused q|k|v and gate|up, untied output, phi-3 SPM vocabulary (32064). Its 128k context
    // comes from LongRoPE factors (rope_factors_long/short), which tokenfab does not run yet:
    // they are left out and the context is the original 4096 (the speed is the same).
    Shape phi35;
    phi35.name = "phi-3.5-mini";
    phi35.title = "Phi 3.5 mini (synthetic)";
    phi35.arch = "phi3";
    phi35.fused_qkv_up = true;
    phi35.n_vocab = 32064;
    phi35.n_embd = 3072, phi35.n_layer = 32, phi35.n_head = 32, phi35.n_head_kv = 32, phi35.n_ff = 8192;
    phi35.n_ctx_train = 4096;
    phi35.rope_freq_base = 10000.0;
    phi35.rms_eps = 1e-5;
    phi35.vocab = VocabKind::kSpm;
    phi35.tokenizer_pre = "default";
    phi35.first_special = 32000;  // <|endoftext|>, <|assistant|>, ..., <|end|>, <|user|>, placeholders
    phi35.bos_id = 1, phi35.eos_id = 32000;
    phi35.add_bos = true;
    s.push_back(phi35);

    // https://huggingface.co/google/gemma-3-1b-it/blob/main/config.json: head_dim 256, one kv
    // head, sliding window 512 on five of every six layers (rope base 10000 there, 1e6 on the
    // global ones), q/k norms, post-norms, GELU FFN, tied; 999,885,952 parameters.
    Shape g3;
    g3.name = "gemma-3-1b";
    g3.title = "Gemma 3 1B (synthetic)";
    g3.arch = "gemma3";
    g3.n_vocab = 262144;
    g3.n_embd = 1152, g3.n_layer = 26, g3.n_head = 4, g3.n_head_kv = 1, g3.n_ff = 6912;
    g3.head_dim = 256;
    g3.n_ctx_train = 32768;
    g3.rope_freq_base = 1000000.0;
    g3.rope_freq_base_swa = 10000.0;
    g3.sliding_window = 512;
    g3.rms_eps = 1e-6;
    g3.tied_output = true;
    g3.qk_norm = true;
    g3.post_norms = true;
    g3.vocab = VocabKind::kSpm;
    g3.tokenizer_pre = "default";
    g3.bos_id = 1, g3.eos_id = 2;  // the synthetic SPM vocabulary's <s> and </s>
    g3.add_bos = true;
    s.push_back(g3);

    // Small enough for unit tests on the CPU reference; qwen2-like (biases, tied output).
    Shape tiny = qwen;
    tiny.name = "tiny";
    tiny.title = "tiny (synthetic)";
    tiny.n_vocab = 512;
    tiny.n_embd = 64, tiny.n_layer = 2, tiny.n_head = 4, tiny.n_head_kv = 2, tiny.n_ff = 128;
    tiny.n_ctx_train = 256;
    tiny.first_special = 509, tiny.bos_id = 509, tiny.eos_id = 511, tiny.pad_id = 509;
    s.push_back(tiny);
    return s;
  }();
  return kShapes;
}

constexpr std::array<FileType, 4> kFileTypes = {FileType::kQ8_0, FileType::kQ4_0, FileType::kQ4_K_M,
                                                FileType::kF16};

// The matrix type llama-quantize starts from for each file type.
TensorType defaultType(FileType type) {
  switch (type) {
    case FileType::kQ8_0:
      return TensorType::kQ8_0;
    case FileType::kQ4_0:
      return TensorType::kQ4_0;
    case FileType::kQ4_K_M:
      return TensorType::kQ4_K;
    case FileType::kF16:
      return TensorType::kF16;
  }
  return TensorType::kF16;
}

uint32_t blockSize(TensorType type) { return gguf::typeTraits(type)->block_size; }

// llama_tensor_get_type for the file types offered here (no imatrix, one expert, not 70B).
TensorType matrixType(std::string_view name, uint64_t row, FileType ftype, uint32_t layer, uint32_t n_layer,
                      bool has_output) {
  TensorType t = defaultType(ftype);
  if (ftype == FileType::kF16) return t;  // not a quantized type: llama-quantize keeps the default
  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  // llama-quantize d32676d7 counts phi3's fused attn_qkv as attn_v (the phi3 fixture: Q6_K in
  // the layers that use more bits).
  const bool is_v = name.ends_with("attn_v.weight") || name.ends_with("attn_qkv.weight");
  const bool is_down = name.ends_with("ffn_down.weight");
  if (is_output) {
    if (row % blockSize(t) != 0) {
      t = TensorType::kQ8_0;
    } else if (t != TensorType::kQ8_0) {
      t = TensorType::kQ6_K;
    }
  } else if ((is_v || is_down) && ftype == FileType::kQ4_K_M && useMoreBits(layer, n_layer)) {
    t = TensorType::kQ6_K;
  }
  if (row % blockSize(t) != 0) {
    switch (t) {
      case TensorType::kQ4_K:
        t = TensorType::kQ5_0;
        break;
      case TensorType::kQ5_K:
        t = TensorType::kQ5_1;
        break;
      case TensorType::kQ6_K:
        t = TensorType::kQ8_0;
        break;
      default:
        break;
    }
    if (row % blockSize(t) != 0) t = TensorType::kF16;
  }
  return t;
}

// llama.cpp's loader order (weight_name_comparer): block number (none first), then the name.
bool loaderOrder(const PlannedTensor& a, const PlannedTensor& b) {
  auto layerOf = [](const std::string& name) -> long {
    if (!name.starts_with("blk.")) return -1;
    return std::strtol(name.c_str() + 4, nullptr, 10);
  };
  const long la = layerOf(a.name), lb = layerOf(b.name);
  if (la != lb) return la < lb;
  return a.name < b.name;
}

uint32_t effectiveLayers(const Shape& shape, uint32_t n_layer) {
  return n_layer == 0 ? shape.n_layer : n_layer;
}

// --- the random generator: one stream per (seed, tensor name, row), so values do not depend on
// the thread split, the chunk size or on which other tensors are in the file.

uint64_t splitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t nameHash(std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  return h;
}

// n values, mean 0 and standard deviation `stddev`: the sum of four 16-bit uniforms per value
// (Irwin-Hall, close to a normal; one generator call per value keeps 8B-parameter files quick).
void fillRandomRow(uint64_t stream, float stddev, float* out, uint64_t n) {
  uint64_t state = stream;
  const double var_one = (65536.0 * 65536.0 - 1.0) / 12.0;
  const float scale = static_cast<float>(stddev / std::sqrt(4.0 * var_one));
  for (uint64_t j = 0; j < n; ++j) {
    const uint64_t r = splitMix(state);
    const int64_t sum =
        static_cast<int64_t>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    out[j] = static_cast<float>(sum - 131070) * scale;  // 131070 = 4 * 65535 / 2
  }
}

uint64_t rowStream(uint64_t seed, uint64_t name_hash, uint64_t row) {
  uint64_t s = seed ^ 0x5EED5EED5EED5EEDull;
  const uint64_t a = splitMix(s);
  uint64_t t = a ^ name_hash;
  const uint64_t b = splitMix(t);
  uint64_t u = b ^ (row * 0xD1B54A32D192ED03ull);
  return splitMix(u);
}

constexpr float kWeightStd = 0.02f;
constexpr uint64_t kChunkElements = uint64_t{1} << 22;  // per chunk, split across the threads

Status writeFloats(gguf::GgufStreamWriter::Sink& sink, TensorType type, std::span<const float> values) {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ref::quantize(type, values));
  return sink.write(bytes);
}

// Generates and quantizes one tensor in chunks of rows, `threads` workers per chunk.
Status fillTensor(const PlannedTensor& t, const Options& options, uint32_t threads,
                  std::span<const float> rope_factors, uint64_t n_bytes, gguf::GgufStreamWriter::Sink& sink) {
  const uint64_t cols = t.ne[0];
  const uint64_t rows = t.elements() / cols;
  switch (t.fill) {
    case PlannedTensor::Fill::kNorm: {
      std::vector<float> ones(cols, 1.0f);
      return writeFloats(sink, t.type, ones);
    }
    case PlannedTensor::Fill::kRopeFreqs:
      if (rope_factors.size() != cols) return Status(Code::kInternal, "rope_freqs size mismatch");
      return writeFloats(sink, t.type, rope_factors);
    case PlannedTensor::Fill::kBias:
    case PlannedTensor::Fill::kMatrix:
      break;
  }
  // All-zero bytes are a valid encoding of zeros in every type used here (scales 0).
  if (options.zero_weights) return sink.writeZeros(n_bytes);
  const uint64_t seed = options.seed;
  const uint64_t hash = nameHash(t.name);
  const uint64_t chunk_rows = std::max<uint64_t>(1, kChunkElements / cols);
  std::vector<std::vector<uint8_t>> parts(threads);
  std::vector<Status> errors(threads);
  for (uint64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    if (options.cancel != nullptr && options.cancel->load()) return Status(Code::kCancelled, "interrupted");
    const uint64_t r1 = std::min(rows, r0 + chunk_rows);
    const uint64_t per = (r1 - r0 + threads - 1) / threads;
    auto work = [&](uint32_t w) {
      const uint64_t a = std::min(r1, r0 + w * per), b = std::min(r1, a + per);
      parts[w].clear();
      if (a == b) return;
      std::vector<float> values((b - a) * cols);
      for (uint64_t r = a; r < b; ++r)
        fillRandomRow(rowStream(seed, hash, r), kWeightStd, &values[(r - a) * cols], cols);
      Result<std::vector<uint8_t>> q = ref::quantize(t.type, values);
      if (!q.isOk()) {
        errors[w] = q.status();
        return;
      }
      parts[w] = std::move(q).value();
    };
    std::vector<std::thread> pool;
    for (uint32_t w = 1; w < threads; ++w) pool.emplace_back(work, w);
    work(0);
    for (std::thread& th : pool) th.join();
    for (uint32_t w = 0; w < threads; ++w) {
      TF_RETURN_IF_ERROR(errors[w]);
      TF_RETURN_IF_ERROR(sink.write(parts[w]));
    }
  }
  return Status::ok();
}

Result<gguf::GgufStreamWriter> makeWriter(const Shape& shape, FileType type, uint32_t n_layer,
                                          std::vector<PlannedTensor>* plan_out) {
  if (n_layer > shape.n_layer)
    return Status(Code::kInvalidArgument, "--layers " + std::to_string(n_layer) + " is more than " +
                                              shape.name + "'s " + std::to_string(shape.n_layer) + " layers");
  gguf::GgufStreamWriter writer;
  for (auto& [key, value] : metadata(shape, type, n_layer)) writer.set(std::move(key), std::move(value));
  std::vector<PlannedTensor> plan = planTensors(shape, type, n_layer);
  for (const PlannedTensor& t : plan) TF_RETURN_IF_ERROR(writer.addTensor(t.name, t.type, t.ne));
  if (plan_out != nullptr) *plan_out = std::move(plan);
  return writer;
}

}  // namespace

std::string_view fileTypeName(FileType type) {
  switch (type) {
    case FileType::kQ8_0:
      return "q8_0";
    case FileType::kQ4_0:
      return "q4_0";
    case FileType::kQ4_K_M:
      return "q4_k_m";
    case FileType::kF16:
      return "f16";
  }
  return "?";
}

std::span<const FileType> fileTypes() { return kFileTypes; }

Result<FileType> parseFileType(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string valid;
  for (FileType t : kFileTypes) {
    if (fileTypeName(t) == lower) return t;
    valid += (valid.empty() ? "" : ", ") + std::string(fileTypeName(t));
  }
  return Status(Code::kInvalidArgument, "unknown type '" + std::string(name) + "' (valid: " + valid + ")");
}

std::span<const Shape> shapes() { return shapeTable(); }

Result<Shape> findShape(std::string_view name) {
  std::string valid;
  for (const Shape& s : shapeTable()) {
    if (s.name == name) return s;
    valid += (valid.empty() ? "" : ", ") + s.name;
  }
  return Status(Code::kNotFound, "unknown shape '" + std::string(name) + "' (valid: " + valid + ")");
}

uint64_t PlannedTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  return n;
}

bool useMoreBits(uint32_t layer, uint32_t n_layer) {
  const uint32_t eighth = n_layer / 8;
  return layer < eighth || layer >= 7 * n_layer / 8 || (layer - eighth) % 3 == 2;
}

std::vector<PlannedTensor> planTensors(const Shape& shape, FileType type, uint32_t n_layer) {
  const uint32_t layers = effectiveLayers(shape, n_layer);
  const uint64_t embd = shape.n_embd, ff = shape.n_ff, vocab = shape.n_vocab;
  const uint64_t q_dim = uint64_t{shape.n_head} * shape.headDim();
  const uint64_t kv_dim = uint64_t{shape.n_head_kv} * shape.headDim();
  const bool has_output = !shape.tied_output;
  using Fill = PlannedTensor::Fill;

  std::vector<PlannedTensor> plan;
  auto add = [&](std::string name, std::vector<uint64_t> ne, Fill fill, uint32_t layer) {
    PlannedTensor t;
    t.type =
        fill == Fill::kMatrix ? matrixType(name, ne[0], type, layer, layers, has_output) : TensorType::kF32;
    t.name = std::move(name);
    t.ne = std::move(ne);
    t.fill = fill;
    plan.push_back(std::move(t));
  };
  add("token_embd.weight", {embd, vocab}, Fill::kMatrix, 0);
  add("output_norm.weight", {embd}, Fill::kNorm, 0);
  if (has_output) add("output.weight", {embd, vocab}, Fill::kMatrix, 0);
  if (shape.rope_factor > 0.0) add("rope_freqs.weight", {shape.headDim() / 2}, Fill::kRopeFreqs, 0);
  for (uint32_t l = 0; l < layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {embd}, Fill::kNorm, l);
    if (shape.fused_qkv_up) {
      add(b + "attn_qkv.weight", {embd, q_dim + 2 * kv_dim}, Fill::kMatrix, l);
    } else {
      add(b + "attn_q.weight", {embd, q_dim}, Fill::kMatrix, l);
      add(b + "attn_k.weight", {embd, kv_dim}, Fill::kMatrix, l);
      add(b + "attn_v.weight", {embd, kv_dim}, Fill::kMatrix, l);
    }
    if (shape.qkv_bias) {
      add(b + "attn_q.bias", {q_dim}, Fill::kBias, l);
      add(b + "attn_k.bias", {kv_dim}, Fill::kBias, l);
      add(b + "attn_v.bias", {kv_dim}, Fill::kBias, l);
    }
    if (shape.qk_norm) {
      add(b + "attn_q_norm.weight", {shape.headDim()}, Fill::kNorm, l);
      add(b + "attn_k_norm.weight", {shape.headDim()}, Fill::kNorm, l);
    }
    add(b + "attn_output.weight", {q_dim, embd}, Fill::kMatrix, l);
    if (shape.post_norms) add(b + "post_attention_norm.weight", {embd}, Fill::kNorm, l);
    add(b + "ffn_norm.weight", {embd}, Fill::kNorm, l);
    if (shape.fused_qkv_up) {
      add(b + "ffn_up.weight", {embd, 2 * ff}, Fill::kMatrix, l);
    } else {
      add(b + "ffn_gate.weight", {embd, ff}, Fill::kMatrix, l);
      add(b + "ffn_up.weight", {embd, ff}, Fill::kMatrix, l);
    }
    add(b + "ffn_down.weight", {ff, embd}, Fill::kMatrix, l);
    if (shape.post_norms) add(b + "post_ffw_norm.weight", {embd}, Fill::kNorm, l);
  }
  std::stable_sort(plan.begin(), plan.end(), loaderOrder);
  return plan;
}

std::vector<float> llama3RopeFactors(const Shape& shape) {
  std::vector<float> out;
  if (shape.rope_factor <= 0.0) return out;
  const uint32_t dim = shape.headDim();
  const double low_wavelen = shape.rope_original_ctx / shape.rope_low_freq_factor;
  const double high_wavelen = shape.rope_original_ctx / shape.rope_high_freq_factor;
  constexpr double kPi = 3.14159265358979323846;
  for (uint32_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(shape.rope_freq_base, static_cast<double>(i) / dim);
    const double wavelen = 2.0 * kPi / freq;
    double factor;
    if (wavelen < high_wavelen) {
      factor = 1.0;
    } else if (wavelen > low_wavelen) {
      factor = shape.rope_factor;
    } else {
      const double smooth = (shape.rope_original_ctx / wavelen - shape.rope_low_freq_factor) /
                            (shape.rope_high_freq_factor - shape.rope_low_freq_factor);
      factor = 1.0 / ((1.0 - smooth) / shape.rope_factor + smooth);
    }
    out.push_back(static_cast<float>(factor));
  }
  return out;
}

std::vector<std::pair<std::string, Value>> metadata(const Shape& shape, FileType type, uint32_t n_layer) {
  const std::string p = shape.arch + ".";
  std::vector<std::pair<std::string, Value>> kv = {
      {"general.architecture", Value::string(shape.arch)},
      {"general.type", Value::string("model")},
      {"general.name", Value::string(shape.title)},
      {p + "block_count", Value::u32(effectiveLayers(shape, n_layer))},
      {p + "context_length", Value::u32(shape.n_ctx_train)},
      {p + "embedding_length", Value::u32(shape.n_embd)},
      {p + "feed_forward_length", Value::u32(shape.n_ff)},
      {p + "attention.head_count", Value::u32(shape.n_head)},
      {p + "attention.head_count_kv", Value::u32(shape.n_head_kv)},
      {p + "rope.freq_base", Value::f32(static_cast<float>(shape.rope_freq_base))},
      {p + "attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(shape.rms_eps))},
  };
  if (shape.head_dim != 0) {  // the qwen3 converter writes the head size, not rope.dimension_count
    kv.emplace_back(p + "attention.key_length", Value::u32(shape.head_dim));
    kv.emplace_back(p + "attention.value_length", Value::u32(shape.head_dim));
  }
  if (shape.sliding_window != 0) {  // the gemma3 converter's keys (no pattern key: the default of 6)
    kv.emplace_back(p + "attention.sliding_window", Value::u32(shape.sliding_window));
    kv.emplace_back(p + "rope.freq_base_swa", Value::f32(static_cast<float>(shape.rope_freq_base_swa)));
  }
  if (shape.arch == "llama") {  // the llama converter also writes these two
    kv.emplace_back(p + "vocab_size", Value::u32(shape.n_vocab));
    kv.emplace_back(p + "rope.dimension_count", Value::u32(shape.headDim()));
  }
  if (shape.arch == "phi3") kv.emplace_back(p + "rope.dimension_count", Value::u32(shape.headDim()));
  kv.emplace_back("general.file_type", Value::u32(static_cast<uint32_t>(type)));
  appendVocab(shape, kv);
  kv.emplace_back("general.quantization_version", Value::u32(2));
  return kv;
}

uint64_t parameterCount(const Shape& shape, uint32_t n_layer) {
  uint64_t n = 0;
  for (const PlannedTensor& t : planTensors(shape, FileType::kF16, n_layer)) n += t.elements();
  return n;
}

Result<uint64_t> fileSize(const Shape& shape, FileType type, uint32_t n_layer) {
  TF_ASSIGN_OR_RETURN(gguf::GgufStreamWriter writer, makeWriter(shape, type, n_layer, nullptr));
  return writer.fileSize();
}

Result<Summary> synthesize(const Shape& shape, const Options& options, const std::filesystem::path& path) {
  std::vector<PlannedTensor> plan;
  TF_ASSIGN_OR_RETURN(gguf::GgufStreamWriter writer, makeWriter(shape, options.type, options.n_layer, &plan));
  TF_ASSIGN_OR_RETURN(uint64_t total, writer.fileSize());
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> header, writer.headerBytes());
  const std::vector<float> rope_factors = llama3RopeFactors(shape);
  const uint32_t threads = std::clamp<uint32_t>(options.threads, 1, 64);

  uint64_t written = header.size();
  auto fill = [&](size_t index, gguf::GgufStreamWriter::Sink& sink) -> Status {
    const PlannedTensor& t = plan[index];
    TF_RETURN_IF_ERROR(fillTensor(t, options, threads, rope_factors, writer.tensorBytes(index), sink));
    written += (writer.tensorBytes(index) + 31) / 32 * 32;
    if (options.progress) options.progress({index + 1, plan.size(), t.name, written, total});
    return Status::ok();
  };
  TF_RETURN_IF_ERROR(writer.writeFile(path, fill));
  Summary summary;
  summary.n_tensors = plan.size();
  for (const PlannedTensor& t : plan) summary.n_params += t.elements();
  summary.file_bytes = total;
  return summary;
}

}  // namespace tokenfab::synth
