// synth: the tensor table, hyper-parameters and llama-quantize type mix of every shape against
// hand-written expectations from the published configs, against files llama-quantize really
// wrote (shared fixtures), and a tiny synthetic model run on the CPU reference.
#include "tokenfab/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "ref/dequant.h"
#include "shared_data.h"
#include "tokenfab/engine.h"
#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/support.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;
using synth::FileType;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("tf-synth-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<uint8_t> readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// What each shape must be, copied by hand from the model's published config.json, and the types
// llama-quantize gives a 2-layer file of that shape, worked out by hand from its rule: layer 1 of
// 2 is a "use more bits" layer (1 >= 7*2/8); rows that are not a multiple of 256 fall back
// (Q4_K -> Q5_0, Q6_K -> Q8_0).
struct Expected {
  const char* shape;
  const char* arch;
  uint32_t vocab, embd, layers, heads, kv_heads, ff, ctx;
  double rope_base;
  double rms_eps;
  bool tied, bias, rope_freqs;
  const char* tokenizer;  // tokenizer.ggml.model
  int32_t bos, eos;
  uint64_t published_params;  // the safetensors parameter count on the model's page
  TensorType q4km_matrix;     // attn_q/k/v/output, ffn_gate/up
  TensorType q4km_v_more;     // attn_v in layer 1
  TensorType q4km_output;     // output.weight, or token_embd when tied
  TensorType q4_0_output;
  uint32_t head_dim = 0;  // attention.key_length (qwen3); 0: embd / heads and no key
  bool qk_norm = false;   // attn_q_norm / attn_k_norm (head_dim) per block
  bool fused = false;     // phi3: attn_qkv and ffn_up (gate|up), counted as attn_v by llama-quantize
  // gemma3: post_attention_norm / post_ffw_norm per block, attention.sliding_window, and
  // attn_output's own Q4_K_M type (its rows are n_head * head_dim, not n_embd)
  uint32_t sliding_window = 0;
  TensorType q4km_attn_output = TensorType::kF32;  // F32: as q4km_matrix

  uint64_t headDim() const { return head_dim != 0 ? head_dim : embd / heads; }
};

// Sources (config.json of each):
//   https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json
//   https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/config.json
//   https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/blob/main/config.json
//   https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json
//   https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
//   https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct/blob/main/config.json
//   https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json
//   https://huggingface.co/Qwen/Qwen3-1.7B/blob/main/config.json
//   https://huggingface.co/microsoft/Phi-3.5-mini-instruct/blob/main/config.json (3.82B; context
//   4096 here: the 128k LongRoPE factors are left out)
//   https://huggingface.co/google/gemma-3-1b-it/blob/main/config.json (999,885,952 parameters)
// Qwen3's counts are the config's arithmetic with the embedding once (tied), as the model cards
// state them: 0.6B (0.44B non-embedding) and 1.7B (1.4B non-embedding).
constexpr TensorType Q4_K = TensorType::kQ4_K, Q5_0 = TensorType::kQ5_0, Q6_K = TensorType::kQ6_K,
                     Q8_0 = TensorType::kQ8_0, Q4_0 = TensorType::kQ4_0, F16 = TensorType::kF16,
                     F32 = TensorType::kF32;
const Expected kExpected[] = {
    {"qwen2.5-0.5b", "qwen2", 151936, 896,    24,     14,     2,         4864, 32768, 1e6,  1e-6,
     true,           true,    false,  "gpt2", 151643, 151645, 494032768, Q5_0, Q8_0,  Q8_0, Q8_0},
    {"qwen2.5-1.5b", "qwen2", 151936, 1536,   28,     12,     2,          8960, 32768, 1e6,  1e-6,
     true,           true,    false,  "gpt2", 151643, 151645, 1543714304, Q4_K, Q6_K,  Q6_K, Q6_K},
    {"llama-3.2-1b", "llama", 128256, 2048,   16,     32,     8,          8192, 131072, 5e5,  1e-5,
     true,           false,   true,   "gpt2", 128000, 128009, 1235814400, Q4_K, Q6_K,   Q6_K, Q6_K},
    {"llama-3.2-3b", "llama", 128256, 3072,   28,     24,     8,          8192, 131072, 5e5,  1e-5,
     true,           false,   true,   "gpt2", 128000, 128009, 3212749824, Q4_K, Q6_K,   Q6_K, Q6_K},
    {"llama-2-7b", "llama", 32000, 4096,    32, 32, 32,         11008, 4096, 1e4,  1e-5,
     false,        false,   false, "llama", 1,  2,  6738415616, Q4_K,  Q6_K, Q6_K, Q6_K},
    {"llama-3-8b", "llama", 128256, 4096,   32,     32,     8,          14336, 8192, 5e5,  1e-5,
     false,        false,   false,  "gpt2", 128000, 128009, 8030261248, Q4_K,  Q6_K, Q6_K, Q6_K},
    {"qwen3-0.6b", "qwen3", 151936, 1024,   28,     16,     8,          3072, 40960, 1e6,  1e-6,
     true,           false,   false,  "gpt2", 151643, 151645, 596049920, Q4_K,  Q6_K, Q6_K, Q6_K, 128, true},
    {"qwen3-1.7b", "qwen3", 151936, 2048,   28,     16,     8,          6144, 40960, 1e6,  1e-6,
     true,           false,   false,  "gpt2", 151643, 151645, 1720574976, Q4_K, Q6_K, Q6_K, Q6_K, 128, true},
    {"phi-3.5-mini", "phi3", 32064, 3072,   32,     32,     32,         8192, 4096, 1e4,  1e-5,
     false,          false,   false,  "llama", 1,     32000,  3821079552, Q4_K, Q6_K, Q6_K, Q6_K, 0, false, true},
    // rows of 1152 fall back (Q4_K -> Q5_0, Q6_K -> Q8_0); attn_output's rows of 4 x 256 do not
    {"gemma-3-1b", "gemma3", 262144, 1152,  26,     4,      1,          6912, 32768, 1e6,  1e-6,
     true,           false,   false,  "llama", 1,     2,      999885952, Q5_0, Q8_0, Q8_0, Q8_0, 256, true, false, 512,
     Q4_K},
};

void PrintTo(const Expected& e, std::ostream* os) { *os << e.shape; }

struct ExpectedTensor {
  std::string name;
  std::vector<uint64_t> ne;
  TensorType type;
};

// The 2-layer tensor table in llama-quantize's order: loose tensors by name, then each block's
// tensors by name.
std::vector<ExpectedTensor> expectedTable(const Expected& e, FileType ft) {
  const uint64_t hd = e.headDim(), q = uint64_t{e.heads} * hd, kv = uint64_t{e.kv_heads} * hd;
  auto matrix = [&](const std::string& name, int layer) -> TensorType {
    const bool is_output = name == "output.weight" || (e.tied && name == "token_embd.weight");
    switch (ft) {
      case FileType::kF16:
        return F16;
      case FileType::kQ8_0:
        return Q8_0;
      case FileType::kQ4_0:
        return is_output ? e.q4_0_output : Q4_0;
      case FileType::kQ4_K_M:
        if (is_output) return e.q4km_output;
        if (name == "token_embd.weight") return Q4_K;
        if (name.ends_with("ffn_down.weight")) return layer == 1 ? Q6_K : Q4_K;
        if ((name.ends_with("attn_v.weight") || name.ends_with("attn_qkv.weight")) && layer == 1) return e.q4km_v_more;
        if (name.ends_with("attn_output.weight") && e.q4km_attn_output != F32) return e.q4km_attn_output;
        return e.q4km_matrix;
    }
    return F32;
  };
  std::vector<ExpectedTensor> out;
  if (!e.tied) out.push_back({"output.weight", {e.embd, e.vocab}, matrix("output.weight", -1)});
  out.push_back({"output_norm.weight", {e.embd}, F32});
  if (e.rope_freqs) out.push_back({"rope_freqs.weight", {hd / 2}, F32});
  out.push_back({"token_embd.weight", {e.embd, e.vocab}, matrix("token_embd.weight", -1)});
  for (int l = 0; l < 2; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    if (e.bias) out.push_back({b + "attn_k.bias", {kv}, F32});
    if (!e.fused) out.push_back({b + "attn_k.weight", {e.embd, kv}, matrix(b + "attn_k.weight", l)});
    if (e.qk_norm) out.push_back({b + "attn_k_norm.weight", {hd}, F32});
    out.push_back({b + "attn_norm.weight", {e.embd}, F32});
    out.push_back({b + "attn_output.weight", {q, e.embd}, matrix(b + "attn_output.weight", l)});
    if (e.bias) out.push_back({b + "attn_q.bias", {q}, F32});
    if (!e.fused) out.push_back({b + "attn_q.weight", {e.embd, q}, matrix(b + "attn_q.weight", l)});
    if (e.fused) out.push_back({b + "attn_qkv.weight", {e.embd, q + 2 * kv}, matrix(b + "attn_qkv.weight", l)});
    if (e.qk_norm) out.push_back({b + "attn_q_norm.weight", {hd}, F32});
    if (e.bias) out.push_back({b + "attn_v.bias", {kv}, F32});
    if (!e.fused) out.push_back({b + "attn_v.weight", {e.embd, kv}, matrix(b + "attn_v.weight", l)});
    out.push_back({b + "ffn_down.weight", {e.ff, e.embd}, matrix(b + "ffn_down.weight", l)});
    if (!e.fused) out.push_back({b + "ffn_gate.weight", {e.embd, e.ff}, matrix(b + "ffn_gate.weight", l)});
    out.push_back({b + "ffn_norm.weight", {e.embd}, F32});
    out.push_back({b + "ffn_up.weight", {e.embd, (e.fused ? 2 : 1) * e.ff}, matrix(b + "ffn_up.weight", l)});
    if (e.sliding_window != 0) {
      out.push_back({b + "post_attention_norm.weight", {e.embd}, F32});
      out.push_back({b + "post_ffw_norm.weight", {e.embd}, F32});
    }
  }
  return out;
}

std::string describe(const gguf::TensorInfo& t) {
  std::string s = t.name + " [";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "] " + std::string(gguf::typeName(t.type));
}
std::string describe(const ExpectedTensor& t) {
  std::string s = t.name + " [";
  for (size_t d = 0; d < t.ne.size(); ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "] " + std::string(gguf::typeName(t.type));
}

class ShapeFile : public ::testing::TestWithParam<std::tuple<Expected, FileType>> {};

TEST_P(ShapeFile, TwoLayerFileMatchesThePublishedConfig) {
  const auto& [e, ft] = GetParam();
  SCOPED_TRACE(std::string(e.shape) + " " + std::string(synth::fileTypeName(ft)));
  auto shape = synth::findShape(e.shape);
  ASSERT_TRUE(shape.isOk()) << shape.status().toString();
  TempDir dir;
  const fs::path path = dir.path / "model.gguf";
  synth::Options options;
  options.type = ft;
  options.n_layer = 2;
  options.zero_weights = true;  // the table and keys are what is checked here, not the values
  auto summary = synth::synthesize(*shape, options, path);
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  EXPECT_EQ(summary->file_bytes, fs::file_size(path));
  auto predicted = synth::fileSize(*shape, ft, 2);
  ASSERT_TRUE(predicted.isOk());
  EXPECT_EQ(*predicted, fs::file_size(path));

  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  const std::vector<ExpectedTensor> want = expectedTable(e, ft);
  const auto& got = file->tensors();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(describe(got[i]), describe(want[i])) << "tensor " << i;

  EXPECT_EQ(*file->getString("general.architecture"), e.arch);
  EXPECT_EQ(*file->getUint("general.file_type"), static_cast<uint64_t>(ft));
  const std::string p = std::string(e.arch) + ".";
  EXPECT_EQ(*file->getUint(p + "block_count"), 2u);
  EXPECT_EQ(*file->getUint(p + "context_length"), e.ctx);

  EXPECT_TRUE(checkRunnable(*file).isOk()) << checkRunnable(*file).toString();
  auto config = model::ModelConfig::fromGguf(*file);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->n_vocab, static_cast<int32_t>(e.vocab));
  EXPECT_EQ(config->n_embd, static_cast<int32_t>(e.embd));
  EXPECT_EQ(config->n_layer, 2);
  EXPECT_EQ(config->n_head, static_cast<int32_t>(e.heads));
  EXPECT_EQ(config->nHeadKv(1), static_cast<int32_t>(e.kv_heads));
  EXPECT_EQ(config->nFf(1), static_cast<int32_t>(e.ff));
  EXPECT_EQ(config->head_dim, static_cast<int32_t>(e.headDim()));
  EXPECT_EQ(config->n_rot, static_cast<int32_t>(e.headDim()));
  EXPECT_EQ(config->weights.layers[1].attn_q_norm.present(), e.qk_norm);
  EXPECT_EQ(config->weights.layers[1].attn_k_norm.present(), e.qk_norm);
  EXPECT_EQ(config->sliding_window, static_cast<int32_t>(e.sliding_window));
  EXPECT_EQ(config->weights.layers[1].ffn_post_norm.present(), e.sliding_window != 0);
  EXPECT_EQ(config->n_ctx_train, static_cast<int32_t>(e.ctx));
  EXPECT_DOUBLE_EQ(config->rope_freq_base, e.rope_base);
  EXPECT_FLOAT_EQ(static_cast<float>(config->rms_eps), static_cast<float>(e.rms_eps));
  EXPECT_EQ(config->tied_output, e.tied);
  EXPECT_EQ(config->weights.rope_freqs.present(), e.rope_freqs);
  EXPECT_EQ(config->rope_layout,
            std::string(e.arch) == "llama" ? model::RopeLayout::kAdjacent : model::RopeLayout::kNeox);

  auto tok = Tokenizer::fromGguf(*file);
  ASSERT_TRUE(tok.isOk()) << tok.status().toString();
  EXPECT_EQ(*file->getString("tokenizer.ggml.model"), e.tokenizer);
  EXPECT_EQ(tok->vocabSize(), static_cast<int32_t>(e.vocab));
  EXPECT_EQ(tok->bos(), e.bos);
  EXPECT_EQ(tok->eos(), e.eos);
  EXPECT_TRUE(tok->isEog(e.eos));
  const std::string text = "Hello world, the cat and 42 dogs!";
  auto ids = tok->encode(text, {.add_special = false});
  ASSERT_TRUE(ids.isOk());
  EXPECT_EQ(tok->decode(*ids), text);
}

std::string shapeFileName(const ::testing::TestParamInfo<std::tuple<Expected, FileType>>& param_info) {
  std::string s = std::string(std::get<0>(param_info.param).shape) + "_" +
                  std::string(synth::fileTypeName(std::get<1>(param_info.param)));
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllShapes, ShapeFile,
                         ::testing::Combine(::testing::ValuesIn(kExpected),
                                            ::testing::Values(FileType::kQ8_0, FileType::kQ4_0,
                                                              FileType::kQ4_K_M, FileType::kF16)),
                         shapeFileName);

TEST(SynthShapes, FullModelsHaveThePublishedParameterCounts) {
  for (const Expected& e : kExpected) {
    auto shape = synth::findShape(e.shape);
    ASSERT_TRUE(shape.isOk());
    // rope_freqs.weight (head_dim / 2 floats) is a converter addition, not a checkpoint parameter.
    const uint64_t rope = e.rope_freqs ? e.headDim() / 2 : 0;
    EXPECT_EQ(synth::parameterCount(*shape), e.published_params + rope) << e.shape;
    EXPECT_EQ(shape->n_layer, e.layers) << e.shape;
  }
  EXPECT_EQ(synth::shapes().size(), std::size(kExpected) + 1);  // + tiny
}

TensorType typeOf(const std::vector<synth::PlannedTensor>& plan, const std::string& name) {
  for (const auto& t : plan)
    if (t.name == name) return t.type;
  ADD_FAILURE() << "no tensor " << name;
  return F32;
}

// The full 24-layer Qwen2.5-0.5B at Q4_K_M, worked out by hand: use_more_bits(i, 24) holds for
// i < 3, i >= 21 and (i - 3) % 3 == 2, i.e. layers 0 1 2 5 8 11 14 17 20 21 22 23. There attn_v
// would be Q6_K, but rows of 896 are not a multiple of 256, so Q8_0; ffn_down (rows 4864 =
// 19 * 256) is Q6_K. Elsewhere the 896-row matrices fall back from Q4_K to Q5_0.
TEST(SynthMix, Qwen05bQ4KMByHand) {
  auto shape = synth::findShape("qwen2.5-0.5b");
  ASSERT_TRUE(shape.isOk());
  const auto plan = synth::planTensors(*shape, FileType::kQ4_K_M);
  const std::set<int> more = {0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23};
  for (int l = 0; l < 24; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    SCOPED_TRACE(b);
    EXPECT_EQ(typeOf(plan, b + "attn_v.weight"), more.count(l) ? Q8_0 : Q5_0);
    EXPECT_EQ(typeOf(plan, b + "ffn_down.weight"), more.count(l) ? Q6_K : Q4_K);
    for (const char* n :
         {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight"})
      EXPECT_EQ(typeOf(plan, b + n), Q5_0) << n;
    EXPECT_EQ(typeOf(plan, b + "attn_q.bias"), F32);
  }
  EXPECT_EQ(typeOf(plan, "token_embd.weight"), Q8_0);  // tied output: Q6_K wanted, 896 -> Q8_0
  EXPECT_EQ(plan.size(), 24u * 12 + 2);
  // llama-quantize's order: blocks by number (blk.2 before blk.10), not by string.
  ASSERT_GE(plan.size(), 2u + 12 * 11);
  EXPECT_EQ(plan[0].name, "output_norm.weight");
  EXPECT_EQ(plan[1].name, "token_embd.weight");
  EXPECT_EQ(plan[2 + 12 * 2].name, "blk.2.attn_k.bias");
  EXPECT_EQ(plan[2 + 12 * 10].name, "blk.10.attn_k.bias");
  EXPECT_EQ(plan[2 + 12 * 10 + 11].name, "blk.10.ffn_up.weight");
  std::map<TensorType, int> counts;
  for (const auto& t : plan) counts[t.type]++;
  EXPECT_EQ(counts[Q6_K], 12);
  EXPECT_EQ(counts[Q8_0], 13);
  EXPECT_EQ(counts[Q4_K], 12);
  EXPECT_EQ(counts[Q5_0], 24 * 5 + 12);

  // Q4_0: only the tied output changes (Q6_K, which falls back to Q8_0 for 896).
  const auto q40 = synth::planTensors(*shape, FileType::kQ4_0);
  EXPECT_EQ(typeOf(q40, "token_embd.weight"), Q8_0);
  EXPECT_EQ(typeOf(q40, "blk.0.attn_v.weight"), Q4_0);
  EXPECT_EQ(typeOf(q40, "blk.0.ffn_down.weight"), Q4_0);
}

// Llama 3.2 1B (16 layers): use_more_bits(i, 16) for i < 2, i >= 14, (i - 2) % 3 == 2.
TEST(SynthMix, Llama32_1bQ4KMByHand) {
  auto shape = synth::findShape("llama-3.2-1b");
  ASSERT_TRUE(shape.isOk());
  const auto plan = synth::planTensors(*shape, FileType::kQ4_K_M);
  const std::set<int> more = {0, 1, 4, 7, 10, 13, 14, 15};
  for (int l = 0; l < 16; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(typeOf(plan, b + "attn_v.weight"), more.count(l) ? Q6_K : Q4_K) << b;
    EXPECT_EQ(typeOf(plan, b + "ffn_down.weight"), more.count(l) ? Q6_K : Q4_K) << b;
    EXPECT_EQ(typeOf(plan, b + "attn_q.weight"), Q4_K) << b;
  }
  EXPECT_EQ(typeOf(plan, "token_embd.weight"), Q6_K);
  EXPECT_EQ(typeOf(plan, "rope_freqs.weight"), F32);
  EXPECT_EQ(plan.size(), 16u * 9 + 3);  // 147, as the published GGUFs
}

// The rule against files llama-quantize really wrote (shared/models/fixtures, MANIFEST.md):
// same names, shapes, types and order for a synth shape with the fixture's dimensions.
struct FixtureCase {
  const char* file;
  FileType type;
  const char* arch;
  uint32_t vocab, embd, heads, kv_heads, ff;
  bool tied;
};
void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.file; }

const FixtureCase kFixtures[] = {
    {"fx-llama-spm-q8_0.gguf", FileType::kQ8_0, "llama", 32000, 256, 4, 2, 512, false},
    {"fx-llama-spm-q4_0.gguf", FileType::kQ4_0, "llama", 32000, 256, 4, 2, 512, false},
    {"fx-llama-spm-q4_k_m.gguf", FileType::kQ4_K_M, "llama", 32000, 256, 4, 2, 512, false},
    {"fx-qwen2-bpe-q8_0.gguf", FileType::kQ8_0, "qwen2", 50257, 256, 4, 2, 512, true},
    {"fx-qwen2-e384-q4_k_m.gguf", FileType::kQ4_K_M, "qwen2", 50257, 384, 6, 2, 1024, true},
};

class FixtureMix : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureMix, PlanEqualsLlamaQuantizeOutput) {
  const FixtureCase& c = GetParam();
  TF_SHARED_FILE(path, std::string("models/fixtures/") + c.file);
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  synth::Shape shape;
  shape.name = "fixture";
  shape.arch = c.arch;
  shape.n_vocab = c.vocab, shape.n_embd = c.embd, shape.n_layer = 2, shape.n_head = c.heads;
  shape.n_head_kv = c.kv_heads, shape.n_ff = c.ff, shape.tied_output = c.tied;
  shape.qkv_bias = std::string(c.arch) == "qwen2";
  const auto plan = synth::planTensors(shape, c.type);
  ASSERT_EQ(plan.size(), file->tensors().size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const gguf::TensorInfo& t = file->tensors()[i];
    EXPECT_EQ(describe(t), describe(ExpectedTensor{plan[i].name, plan[i].ne, plan[i].type}))
        << "tensor " << i;
  }
  EXPECT_EQ(*file->getUint("general.file_type"), static_cast<uint64_t>(c.type));
}

std::string fixtureName(const ::testing::TestParamInfo<FixtureCase>& param_info) {
  std::string s = param_info.param.file;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(SharedFixtures, FixtureMix, ::testing::ValuesIn(kFixtures), fixtureName);

// rope_freqs for Llama 3.2 1B (head_dim 64, base 500000, llama3 scaling factor 32, low 1, high 4,
// original context 8192), values computed by hand in float64 from the published formula:
// wavelength 2*pi*500000^(2i/64) < 2048 -> 1, > 8192 -> 32, else 1 / ((1 - s) / 32 + s) with
// s = (8192 / wavelength - 1) / 3. Entries 15..17 are in the smooth band.
TEST(SynthRope, Llama32RopeFreqsTensor) {
  auto shape = synth::findShape("llama-3.2-1b");
  ASSERT_TRUE(shape.isOk());
  TempDir dir;
  synth::Options options;
  options.type = FileType::kQ8_0;
  options.n_layer = 1;
  options.zero_weights = true;
  ASSERT_TRUE(synth::synthesize(*shape, options, dir.path / "m.gguf").isOk());
  auto file = gguf::GgufFile::open(dir.path / "m.gguf");
  ASSERT_TRUE(file.isOk());
  const gguf::TensorInfo* t = file->tensor("rope_freqs.weight");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->type, F32);
  ASSERT_EQ(t->n_elements, 32u);
  std::vector<float> v(32);
  std::memcpy(v.data(), file->tensorData(*t).data(), 32 * sizeof(float));
  for (int i = 0; i <= 14; ++i) EXPECT_EQ(v[i], 1.0f) << i;
  EXPECT_NEAR(v[15], 1.6513292457638984, 1e-5);
  EXPECT_NEAR(v[16], 3.2922621029408843, 1e-5);
  EXPECT_NEAR(v[17], 9.666728978753293, 1e-5);
  for (int i = 18; i < 32; ++i) EXPECT_EQ(v[i], 32.0f) << i;
}

TEST(SynthErrors, NamesTheValidChoices) {
  auto shape = synth::findShape("llama-9");
  EXPECT_EQ(shape.status().code(), Code::kNotFound);
  EXPECT_NE(shape.status().message().find("qwen2.5-0.5b"), std::string::npos) << shape.status().message();
  EXPECT_NE(shape.status().message().find("llama-3-8b"), std::string::npos);
  auto type = synth::parseFileType("q5_k_s");
  EXPECT_EQ(type.status().code(), Code::kInvalidArgument);
  EXPECT_NE(type.status().message().find("q4_k_m"), std::string::npos) << type.status().message();
  EXPECT_EQ(*synth::parseFileType("Q4_K_M"), FileType::kQ4_K_M);

  TempDir dir;
  synth::Options options;
  options.n_layer = 3;  // tiny has 2
  auto too_many = synth::synthesize(*synth::findShape("tiny"), options, dir.path / "x.gguf");
  EXPECT_EQ(too_many.status().code(), Code::kInvalidArgument);
  options.n_layer = 0;
  auto no_dir = synth::synthesize(*synth::findShape("tiny"), options, dir.path / "missing" / "x.gguf");
  EXPECT_EQ(no_dir.status().code(), Code::kIoError) << no_dir.status().toString();
  std::atomic<bool> cancel{true};
  options.cancel = &cancel;
  auto cancelled = synth::synthesize(*synth::findShape("tiny"), options, dir.path / "x.gguf");
  EXPECT_EQ(cancelled.status().code(), Code::kCancelled) << cancelled.status().toString();
  EXPECT_TRUE(fs::is_empty(dir.path));
}

// Real random weights: seeded, independent of the thread count, and of the other tensors.
TEST(SynthWeights, SeededAndIndependentOfThreads) {
  const uint64_t seed = 7;
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto tiny = synth::findShape("tiny");
  ASSERT_TRUE(tiny.isOk());
  TempDir dir;
  auto write = [&](const std::string& name, uint64_t s, uint32_t threads, uint32_t layers) {
    synth::Options options;
    options.type = FileType::kQ8_0;
    options.seed = s;
    options.threads = threads;
    options.n_layer = layers;
    EXPECT_TRUE(synth::synthesize(*tiny, options, dir.path / name).isOk());
    return readAll(dir.path / name);
  };
  const auto a = write("a.gguf", seed, 2, 0);
  EXPECT_EQ(write("b.gguf", seed, 1, 0), a);
  EXPECT_EQ(write("c.gguf", seed, 5, 0), a);
  EXPECT_NE(write("d.gguf", seed + 1, 2, 0), a);
  write("e.gguf", seed, 2, 1);
  auto full = gguf::GgufFile::open(dir.path / "a.gguf");
  auto one = gguf::GgufFile::open(dir.path / "e.gguf");
  ASSERT_TRUE(full.isOk() && one.isOk());
  for (const char* name : {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight"}) {
    auto x = full->tensorData(*full->tensor(name));
    auto y = one->tensorData(*one->tensor(name));
    EXPECT_TRUE(x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin())) << name;
  }
}

// The streamed file equals what GgufWriter (the in-memory writer) makes of the same keys and of
// the tensor bytes read back from it: header, infos, offsets and padding all agree.
TEST(SynthWeights, StreamedFileEqualsGgufWriterOfTheSameModel) {
  auto tiny = synth::findShape("tiny");
  TempDir dir;
  synth::Options options;
  options.type = FileType::kQ4_K_M;
  ASSERT_TRUE(synth::synthesize(*tiny, options, dir.path / "m.gguf").isOk());
  auto file = gguf::GgufFile::open(dir.path / "m.gguf");
  ASSERT_TRUE(file.isOk());
  gguf::GgufWriter writer;
  for (const auto& [key, value] : synth::metadata(*tiny, options.type)) writer.set(key, value);
  for (const gguf::TensorInfo& t : file->tensors()) {
    auto data = file->tensorData(t);
    ASSERT_TRUE(writer
                    .addTensor(t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                               std::vector<uint8_t>(data.begin(), data.end()))
                    .isOk());
  }
  auto bytes = writer.toBytes();
  ASSERT_TRUE(bytes.isOk());
  EXPECT_EQ(*bytes, readAll(dir.path / "m.gguf"));
}

// The statistics the generator promises (mean 0, std 0.02 matrices; norms 1), read back through
// the reference dequantizer.
TEST(SynthWeights, MatricesAreSmallRandomNormsAreOne) {
  auto tiny = synth::findShape("tiny");
  TempDir dir;
  synth::Options options;
  options.type = FileType::kF16;
  ASSERT_TRUE(synth::synthesize(*tiny, options, dir.path / "m.gguf").isOk());
  auto file = gguf::GgufFile::open(dir.path / "m.gguf");
  ASSERT_TRUE(file.isOk());
  for (const gguf::TensorInfo& t : file->tensors()) {
    std::vector<float> v(t.n_elements);
    ASSERT_TRUE(ref::dequantize(t.type, file->tensorData(t), v).isOk()) << t.name;
    double sum = 0, sq = 0;
    for (float x : v) {
      ASSERT_TRUE(std::isfinite(x)) << t.name;
      sum += x;
      sq += double(x) * x;
    }
    const double mean = sum / v.size(), sd = std::sqrt(sq / v.size() - mean * mean);
    if (t.name.find("norm") != std::string::npos) {
      EXPECT_EQ(mean, 1.0) << t.name;
    } else if (t.n_elements >= 2048) {  // enough samples for a 10% bound on the std
      EXPECT_NEAR(mean, 0.0, 0.002) << t.name;
      EXPECT_NEAR(sd, 0.02, 0.002) << t.name;
    }
  }
}

// The tiny shape with real weights loads in the engine and one step on the CPU reference gives
// finite, non-constant logits.
TEST(SynthEngine, TinyRunsOnTheCpuReference) {
  auto tiny = synth::findShape("tiny");
  TempDir dir;
  synth::Options options;
  options.type = FileType::kQ4_K_M;
  ASSERT_TRUE(synth::synthesize(*tiny, options, dir.path / "tiny.gguf").isOk());
  EngineOptions eo;
  eo.backend = Backend::kReference;
  auto engine = Engine::open(dir.path / "tiny.gguf", eo);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  auto session = (*engine)->newSession(64);
  ASSERT_TRUE(session.isOk()) << session.status().toString();
  auto prompt = (*engine)->tokenizer().encode("the cat and the dog");
  ASSERT_TRUE(prompt.isOk());
  ASSERT_FALSE(prompt->empty());
  auto logits = (*session)->decode(*prompt);
  ASSERT_TRUE(logits.isOk()) << logits.status().toString();
  ASSERT_EQ(logits->size(), 512u);
  float lo = (*logits)[0], hi = (*logits)[0];
  for (float x : *logits) {
    ASSERT_TRUE(std::isfinite(x));
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GT(hi - lo, 1e-3f);
  GenerateOptions go;
  go.max_tokens = 1;
  go.stop_at_eog = false;
  auto gen = (*session)->generate({}, go, [](const StepEvent&) { return true; });
  ASSERT_TRUE(gen.isOk()) << gen.status().toString();
  EXPECT_EQ(gen->tokens.size(), 1u);
}

}  // namespace
}  // namespace tokenfab
