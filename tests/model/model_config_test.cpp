// ModelConfig::fromGguf on every shared model (numbers from shared/models/MANIFEST.md) and on
// broken inputs: non-model files, unknown architectures, missing keys/tensors, wrong shapes.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <vector>

#include "ref/forward.h"
#include "shared_data.h"
#include "tiny_model.h"
#include "tokenfab/model.h"

namespace tokenfab {
namespace {

using gguf::TensorType;
using gguf::Value;
using model::ModelConfig;
using test::TinyModel;

struct Expected {
  const char* path;
  const char* arch;
  int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_rot, n_ctx;
  double rms_eps, freq_base;
  bool tied;
  model::RopeLayout layout;
  TensorType q_type;       // blk.0.attn_q.weight
  TensorType output_type;  // output.weight (token_embd.weight when tied)
};

// From MANIFEST.md (dimensions, types, tied/untied, rope base) and the files' metadata.
const Expected kShared[] = {
    {"models/stories260K.gguf", "llama", 512, 64, 5, 8, 4, 8, 172, 8, 2048, 1e-5, 10000.0, false,
     model::RopeLayout::kAdjacent, TensorType::kF32, TensorType::kF32},
    {"models/fixtures/stories260K-f16.gguf", "llama", 512, 64, 5, 8, 4, 8, 172, 8, 2048, 1e-5, 10000.0, false,
     model::RopeLayout::kAdjacent, TensorType::kF16, TensorType::kF16},
    {"models/llama-2-tiny-random.gguf", "llama", 32000, 8, 1, 2, 2, 4, 32, 4, 4096, 1e-5, 10000.0, false,
     model::RopeLayout::kAdjacent, TensorType::kF16, TensorType::kF16},
    {"models/fixtures/fx-llama-spm-q8_0.gguf", "llama", 32000, 256, 2, 4, 2, 64, 512, 64, 1024, 1e-5, 10000.0, false,
     model::RopeLayout::kAdjacent, TensorType::kQ8_0, TensorType::kQ8_0},
    {"models/fixtures/fx-llama-spm-q4_0.gguf", "llama", 32000, 256, 2, 4, 2, 64, 512, 64, 1024, 1e-5, 10000.0, false,
     model::RopeLayout::kAdjacent, TensorType::kQ4_0, TensorType::kQ6_K},
    {"models/fixtures/fx-llama-spm-q4_k_m.gguf", "llama", 32000, 256, 2, 4, 2, 64, 512, 64, 1024, 1e-5, 10000.0,
     false, model::RopeLayout::kAdjacent, TensorType::kQ4_K, TensorType::kQ6_K},
    {"models/fixtures/fx-qwen2-bpe-q8_0.gguf", "qwen2", 50257, 256, 2, 4, 2, 64, 512, 64, 1024, 1e-6, 1e6, true,
     model::RopeLayout::kNeox, TensorType::kQ8_0, TensorType::kQ8_0},
    {"models/fixtures/fx-qwen2-bpe-q5_k_m.gguf", "qwen2", 50257, 256, 2, 4, 2, 64, 512, 64, 1024, 1e-6, 1e6, true,
     model::RopeLayout::kNeox, TensorType::kQ5_K, TensorType::kQ6_K},
    {"models/fixtures/fx-qwen2-e384-q4_k_m.gguf", "qwen2", 50257, 384, 2, 6, 2, 64, 1024, 64, 1024, 1e-6, 1e6, true,
     model::RopeLayout::kNeox, TensorType::kQ5_0, TensorType::kQ8_0},
    // head_dim 128 from key_length while n_embd / n_head is 64: q is 512 wide; no rope.dimension_count.
    {"models/fixtures/fx-qwen3-bpe-q8_0.gguf", "qwen3", 32256, 256, 2, 4, 2, 128, 512, 128, 1024, 1e-6, 1e6, true,
     model::RopeLayout::kNeox, TensorType::kQ8_0, TensorType::kQ8_0},
    {"models/fixtures/fx-qwen3-bpe-q4_k_m.gguf", "qwen3", 32256, 256, 2, 4, 2, 128, 512, 128, 1024, 1e-6, 1e6, true,
     model::RopeLayout::kNeox, TensorType::kQ4_K, TensorType::kQ6_K},
};

class SharedModelConfig : public ::testing::TestWithParam<Expected> {};

TEST_P(SharedModelConfig, MatchesManifest) {
  const Expected& e = GetParam();
  TF_SHARED_FILE(path, e.path);
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> config = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  const ModelConfig& c = *config;
  EXPECT_EQ(c.arch, e.arch);
  EXPECT_EQ(c.n_vocab, e.n_vocab);
  EXPECT_EQ(c.n_embd, e.n_embd);
  EXPECT_EQ(c.n_layer, e.n_layer);
  EXPECT_EQ(c.n_head, e.n_head);
  ASSERT_EQ(c.n_head_kv.size(), static_cast<size_t>(e.n_layer));
  for (int l = 0; l < c.n_layer; ++l) EXPECT_EQ(c.nHeadKv(l), e.n_head_kv) << "layer " << l;
  EXPECT_EQ(c.head_dim, e.head_dim);
  EXPECT_EQ(c.head_dim_v, e.head_dim);
  for (int l = 0; l < c.n_layer; ++l) EXPECT_EQ(c.nFf(l), e.n_ff) << "layer " << l;
  EXPECT_EQ(c.n_rot, e.n_rot);
  EXPECT_EQ(c.n_ctx_train, e.n_ctx);
  EXPECT_NEAR(c.rms_eps, e.rms_eps, e.rms_eps * 1e-6);  // stored as float32
  EXPECT_DOUBLE_EQ(c.rope_freq_base, e.freq_base);
  EXPECT_EQ(c.rope_scaling, model::RopeScaling::kNone);
  EXPECT_DOUBLE_EQ(c.ropeFreqScale(), 1.0);
  EXPECT_EQ(c.tied_output, e.tied);
  EXPECT_EQ(c.rope_layout, e.layout);

  const model::ModelWeights& w = c.weights;
  ASSERT_EQ(w.layers.size(), static_cast<size_t>(e.n_layer));
  EXPECT_EQ(w.token_embd.name, "token_embd.weight");
  EXPECT_EQ(w.output.name, e.tied ? "token_embd.weight" : "output.weight");
  EXPECT_EQ(w.output.type, e.output_type);
  EXPECT_EQ(w.output.cols, static_cast<uint64_t>(e.n_embd));
  EXPECT_EQ(w.output.rows, static_cast<uint64_t>(e.n_vocab));
  EXPECT_FALSE(w.rope_freqs.present());
  const model::LayerWeights& l0 = w.layers[0];
  EXPECT_EQ(l0.attn_q.type, e.q_type);
  EXPECT_EQ(l0.attn_q.rows, static_cast<uint64_t>(e.n_head * e.head_dim));
  EXPECT_EQ(l0.attn_k.rows, static_cast<uint64_t>(e.n_head_kv * e.head_dim));
  EXPECT_EQ(l0.ffn_down.cols, static_cast<uint64_t>(e.n_ff));
  const bool qwen = std::string(e.arch) == "qwen2";
  EXPECT_EQ(l0.attn_q_bias.present(), qwen);
  EXPECT_EQ(l0.attn_k_bias.present(), qwen);
  EXPECT_EQ(l0.attn_v_bias.present(), qwen);
  const bool qk_norm = std::string(e.arch) == "qwen3";
  EXPECT_EQ(l0.attn_q_norm.present(), qk_norm);
  EXPECT_EQ(l0.attn_k_norm.present(), qk_norm);
  if (qk_norm) {
    EXPECT_EQ(l0.attn_q_norm.cols, static_cast<uint64_t>(e.head_dim));
    EXPECT_EQ(l0.attn_k_norm.cols, static_cast<uint64_t>(e.head_dim));
    EXPECT_EQ(l0.attn_output.cols, static_cast<uint64_t>(e.n_head * e.head_dim));
  }
  // Every reference points at the tensor it names.
  for (const model::LayerWeights& lw : w.layers) {
    for (const model::WeightRef* ref : {&lw.attn_norm, &lw.attn_q, &lw.attn_k, &lw.attn_v, &lw.attn_output,
                                        &lw.ffn_norm, &lw.ffn_gate, &lw.ffn_up, &lw.ffn_down}) {
      ASSERT_TRUE(ref->present());
      EXPECT_EQ(file->tensors()[ref->index].name, ref->name);
    }
  }
  EXPECT_FALSE(c.summary().empty());

  // Every tensor of these files is a weight the forward pass reads.
  uint64_t n_elements = 0, n_bytes = 0;
  for (const gguf::TensorInfo& info : file->tensors()) {
    n_elements += info.n_elements;
    n_bytes += info.n_bytes;
  }
  EXPECT_EQ(c.n_params, n_elements);
  EXPECT_EQ(c.weight_bytes, n_bytes);
}

// The gemma fixtures' keys as MANIFEST.md states them (section "fixtures/ added 2026-12-04"):
// gemma3 slides 16 keys on blocks 0-4 (default pattern 6) with base 10000 there and 1e6 on
// block 5; gemma2 slides 12 keys on the even blocks (pattern 2), base 10000, soft-caps 8 / 12.
TEST(ModelConfigShared, GemmaFixturesMatchManifest) {
  struct Want {
    const char* path;
    const char* arch;
    int n_layer, head_dim, window;
    std::vector<bool> swa;
    double base, base_swa, attn_cap, final_cap;
    bool qk_norm;
  };
  const Want wants[] = {
      {"models/fixtures/fx-gemma3-spm-q8_0.gguf", "gemma3", 6, 128, 16, {true, true, true, true, true, false}, 1e6,
       1e4, 0.0, 0.0, true},
      {"models/fixtures/fx-gemma3-spm-q5_k_m.gguf", "gemma3", 6, 128, 16, {true, true, true, true, true, false}, 1e6,
       1e4, 0.0, 0.0, true},
      {"models/fixtures/fx-gemma2-spm-q8_0.gguf", "gemma2", 4, 64, 12, {true, false, true, false}, 1e4, 1e4, 8.0,
       12.0, false},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(w.path);
    TF_SHARED_FILE(path, w.path);
    Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
    ASSERT_TRUE(file.isOk()) << file.status().toString();
    Result<ModelConfig> config = ModelConfig::fromGguf(*file);
    ASSERT_TRUE(config.isOk()) << config.status().toString();
    const ModelConfig& c = *config;
    EXPECT_EQ(c.arch, w.arch);
    EXPECT_EQ(c.n_vocab, 512);
    EXPECT_EQ(c.n_embd, 256);
    EXPECT_EQ(c.n_layer, w.n_layer);
    EXPECT_EQ(c.n_head, 4);
    EXPECT_EQ(c.nHeadKv(0), 2);
    EXPECT_EQ(c.head_dim, w.head_dim);
    EXPECT_EQ(c.nFf(0), 512);
    EXPECT_EQ(c.rope_layout, model::RopeLayout::kNeox);
    EXPECT_TRUE(c.tied_output);
    EXPECT_TRUE(c.gemma);
    EXPECT_EQ(c.embd_scale, 16.0);  // sqrt(256)
    EXPECT_EQ(c.sliding_window, w.window);
    EXPECT_EQ(c.swa, w.swa);
    for (int l = 0; l < c.n_layer; ++l) {
      EXPECT_EQ(c.windowOf(l), w.swa[size_t(l)] ? w.window : 0) << "layer " << l;
      EXPECT_EQ(c.ropeBaseOf(l), w.swa[size_t(l)] ? w.base_swa : w.base) << "layer " << l;
    }
    EXPECT_EQ(c.attn_softcap, w.attn_cap);
    EXPECT_EQ(c.final_softcap, w.final_cap);
    for (const model::LayerWeights& lw : c.weights.layers) {
      EXPECT_TRUE(lw.attn_post_norm.present());
      EXPECT_TRUE(lw.ffn_post_norm.present());
      EXPECT_EQ(lw.attn_q_norm.present(), w.qk_norm);
    }
    // Every tensor of these files is a weight the forward pass reads.
    uint64_t n_elements = 0;
    for (const gguf::TensorInfo& info : file->tensors()) n_elements += info.n_elements;
    EXPECT_EQ(c.n_params, n_elements);
  }
}

// Parameter counts stated in MANIFEST.md.
TEST(ModelConfigShared, ParameterCountsMatchManifest) {
  const std::pair<const char*, uint64_t> kCounts[] = {{"models/stories260K.gguf", 292800},
                                                      {"models/llama-2-tiny-random.gguf", 513048}};
  for (const auto& [relpath, params] : kCounts) {
    TF_SHARED_FILE(path, relpath);
    Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
    ASSERT_TRUE(file.isOk()) << file.status().toString();
    Result<ModelConfig> c = ModelConfig::fromGguf(*file);
    ASSERT_TRUE(c.isOk()) << c.status().toString();
    EXPECT_EQ(c->n_params, params) << relpath;
  }
  TF_SHARED_FILE(stories, "models/stories260K.gguf");
  Result<gguf::GgufFile> file = gguf::GgufFile::open(stories);
  ASSERT_TRUE(file.isOk());
  EXPECT_EQ(ModelConfig::fromGguf(*file)->weight_bytes, 292800u * 4u);  // all F32
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedModelConfig, ::testing::ValuesIn(kShared),
                         [](const ::testing::TestParamInfo<Expected>& param_info) {
                           std::string name = std::filesystem::path(param_info.param.path).stem().string();
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// --- non-model files -------------------------------------------------------------------------

void expectCode(const char* relpath, Code code) {
  TF_SHARED_FILE(path, relpath);
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> config = ModelConfig::fromGguf(*file);
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), code) << config.status().toString();
  EXPECT_NE(config.status().message().find("not a model"), std::string::npos) << config.status().toString();
}

TEST(ModelConfigBadInput, QuantZooIsNotAModel) {
  expectCode("models/fixtures/quant-zoo.gguf", Code::kModelNotAModel);
}

TEST(ModelConfigBadInput, VocabOnlyFilesAreNotModels) {
  expectCode("models/vocab/ggml-vocab-llama-spm.gguf", Code::kModelNotAModel);
  expectCode("models/vocab/ggml-vocab-gpt-2.gguf", Code::kModelNotAModel);
}

Status configStatus(const TinyModel& spec) {
  Result<gguf::GgufFile> file = spec.build();
  if (!file.isOk()) return Status(Code::kInternal, "test model did not build: " + file.status().toString());
  Result<ModelConfig> config = ModelConfig::fromGguf(*file);
  return config.status();
}

// Asserts the failure code and that the message names `what`.
void expectFailure(const TinyModel& spec, Code code, const std::string& what) {
  Status s = configStatus(spec);
  EXPECT_EQ(s.code(), code) << s.toString();
  EXPECT_NE(s.message().find(what), std::string::npos) << "message should name '" << what << "': " << s.toString();
}

TEST(ModelConfigTiny, ValidLlamaAndQwen2Load) {
  TinyModel llama;
  EXPECT_TRUE(configStatus(llama).isOk()) << configStatus(llama).toString();
  TinyModel qwen;
  qwen.arch = "qwen2";
  qwen.qkv_bias = true;
  qwen.tied = true;
  Result<gguf::GgufFile> file = qwen.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_TRUE(c->tied_output);
  EXPECT_EQ(c->weights.output.name, "token_embd.weight");
  EXPECT_EQ(c->rope_layout, model::RopeLayout::kNeox);
  EXPECT_EQ(c->n_rot, 4);  // defaults to head_dim = 8 / 2
  EXPECT_DOUBLE_EQ(c->rope_freq_base, 10000.0);
}

TEST(ModelConfigTiny, UnknownArchitectureIsNamed) {
  TinyModel spec;
  spec.arch = "mamba";
  expectFailure(spec, Code::kModelUnsupportedArch, "'mamba'");
}

TEST(ModelConfigTiny, MissingArchitectureIsNotAModel) {
  TinyModel spec;
  spec.drop_keys = {"general.architecture"};
  expectFailure(spec, Code::kModelNotAModel, "general.architecture");
}

TEST(ModelConfigTiny, MissingTensorsAreNamed) {
  TinyModel spec;
  spec.drop_tensors = {"blk.1.attn_k.weight"};
  expectFailure(spec, Code::kModelMissingTensor, "blk.1.attn_k.weight");
  TinyModel no_norm;
  no_norm.drop_tensors = {"output_norm.weight"};
  expectFailure(no_norm, Code::kModelMissingTensor, "output_norm.weight");
  TinyModel qwen_no_bias;
  qwen_no_bias.arch = "qwen2";
  expectFailure(qwen_no_bias, Code::kModelMissingTensor, "blk.0.attn_q.bias");
}

TEST(ModelConfigTiny, WrongShapesAreNamed) {
  TinyModel spec;
  spec.shape_override["blk.0.attn_q.weight"] = {8, 6};
  expectFailure(spec, Code::kModelBadShape, "blk.0.attn_q.weight has shape [8, 6], expected [8, 8]");
  TinyModel down;
  down.shape_override["blk.1.ffn_down.weight"] = {8, 16};  // transposed
  expectFailure(down, Code::kModelBadShape, "blk.1.ffn_down.weight");
  TinyModel output;
  output.shape_override["output.weight"] = {8, 11};
  expectFailure(output, Code::kModelBadShape, "output.weight");
  TinyModel norm3d;
  norm3d.shape_override["blk.0.attn_norm.weight"] = {8, 1, 2};
  expectFailure(norm3d, Code::kModelBadShape, "blk.0.attn_norm.weight");
  TinyModel vocab;
  vocab.shape_override["token_embd.weight"] = {8, 12};  // 10 tokens in the list
  expectFailure(vocab, Code::kModelBadShape, "tokenizer.ggml.tokens");
}

TEST(ModelConfigTiny, BadHyperParameters) {
  TinyModel no_eps;
  no_eps.drop_keys = {"llama.attention.layer_norm_rms_epsilon"};
  expectFailure(no_eps, Code::kModelBadHyperParams, "layer_norm_rms_epsilon");
  TinyModel no_layers;
  no_layers.drop_keys = {"llama.block_count"};
  expectFailure(no_layers, Code::kModelBadHyperParams, "block_count");
  TinyModel zero_heads;
  zero_heads.extra_kv = {{"llama.attention.head_count", Value::u32(0)}};
  expectFailure(zero_heads, Code::kModelBadHyperParams, "head_count");
  TinyModel negative;
  negative.extra_kv = {{"llama.embedding_length", Value::i32(-8)}};
  expectFailure(negative, Code::kModelBadHyperParams, "embedding_length");
  TinyModel string_dim;
  string_dim.extra_kv = {{"llama.feed_forward_length", Value::string("16")}};
  expectFailure(string_dim, Code::kModelBadHyperParams, "feed_forward_length");
  TinyModel gqa;
  gqa.extra_kv = {{"llama.attention.head_count_kv", Value::u32(3)}};  // 2 heads
  expectFailure(gqa, Code::kModelBadHyperParams, "head_count_kv");
  TinyModel odd_rot;
  odd_rot.extra_kv = {{"llama.rope.dimension_count", Value::u32(3)}};
  expectFailure(odd_rot, Code::kModelBadHyperParams, "rope.dimension_count");
  TinyModel big_rot;
  big_rot.extra_kv = {{"llama.rope.dimension_count", Value::u32(6)}};  // head_dim 4
  expectFailure(big_rot, Code::kModelBadHyperParams, "rope.dimension_count");
  TinyModel nan_eps;
  nan_eps.extra_kv = {{"llama.attention.layer_norm_rms_epsilon", Value::f32(std::nanf(""))}};
  expectFailure(nan_eps, Code::kModelBadHyperParams, "layer_norm_rms_epsilon");
  TinyModel huge_layers;
  huge_layers.extra_kv = {{"llama.block_count", Value::u64(uint64_t{1} << 40)}};
  expectFailure(huge_layers, Code::kModelBadHyperParams, "block_count");
  TinyModel indivisible;
  indivisible.extra_kv = {{"llama.attention.head_count", Value::u32(3)}, {"llama.attention.head_count_kv", Value::u32(3)}};
  expectFailure(indivisible, Code::kModelBadHyperParams, "not a multiple of head_count 3");
  TinyModel scaling;
  scaling.extra_kv = {{"llama.rope.scaling.type", Value::string("warp")}};
  expectFailure(scaling, Code::kModelBadHyperParams, "warp");
}

TEST(ModelConfigTiny, PerLayerHeadCountKv) {
  TinyModel spec;
  spec.n_head = 4;  // head_dim 2
  spec.extra_kv = {{"llama.attention.head_count_kv",
                    Value::array(gguf::ValueType::kUint32, {Value::u32(1), Value::u32(2)})}};
  spec.shape_override["blk.1.attn_k.weight"] = {8, 4};
  spec.shape_override["blk.1.attn_v.weight"] = {8, 4};
  Result<gguf::GgufFile> file = spec.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->nHeadKv(0), 1);
  EXPECT_EQ(c->nHeadKv(1), 2);
  EXPECT_EQ(c->kDim(0), 2);
  EXPECT_EQ(c->kDim(1), 4);

  TinyModel short_array = spec;
  short_array.extra_kv = {{"llama.attention.head_count_kv", Value::array(gguf::ValueType::kUint32, {Value::u32(1)})}};
  expectFailure(short_array, Code::kModelBadHyperParams, "one per layer");
}

TEST(ModelConfigTiny, KeyLengthOverridesHeadDim) {
  TinyModel spec;
  spec.head_dim = 6;  // n_embd 8 / 2 heads would be 4
  Result<gguf::GgufFile> file = spec.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->head_dim, 6);
  EXPECT_EQ(c->head_dim_v, 6);
  EXPECT_EQ(c->qDim(), 12);
  EXPECT_EQ(c->n_rot, 6);
  EXPECT_EQ(c->weights.layers[0].attn_output.cols, 12u);
}

TEST(ModelConfigTiny, RopeScalingKeys) {
  TinyModel linear;
  linear.extra_kv = {{"llama.rope.scaling.type", Value::string("linear")},
                     {"llama.rope.scaling.factor", Value::f32(4.0f)},
                     {"llama.rope.scaling.original_context_length", Value::u32(16)},
                     {"llama.rope.freq_base", Value::f32(500000.0f)}};
  Result<gguf::GgufFile> file = linear.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  Result<ModelConfig> c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->rope_scaling, model::RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(c->rope_scaling_factor, 4.0);
  EXPECT_DOUBLE_EQ(c->ropeFreqScale(), 0.25);
  EXPECT_EQ(c->rope_original_ctx, 16);
  EXPECT_DOUBLE_EQ(c->rope_freq_base, 500000.0);

  TinyModel legacy;
  legacy.extra_kv = {{"llama.rope.scale_linear", Value::f32(2.0f)}};
  file = legacy.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->rope_scaling, model::RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(c->ropeFreqScale(), 0.5);

  TinyModel freqs;  // Llama 3.1: per-frequency divisors, n_rot / 2 = 2 of them
  freqs.values["rope_freqs.weight"] = {1.0f, 8.0f};
  file = freqs.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_TRUE(c->weights.rope_freqs.present());

  TinyModel bad_freqs = freqs;
  bad_freqs.shape_override["rope_freqs.weight"] = {3};
  expectFailure(bad_freqs, Code::kModelBadShape, "rope_freqs.weight");

  TinyModel yarn;
  yarn.extra_kv = {{"llama.rope.scaling.type", Value::string("yarn")}, {"llama.rope.scaling.factor", Value::f32(4.0f)}};
  file = yarn.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  c = ModelConfig::fromGguf(*file);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->rope_scaling, model::RopeScaling::kYarn);
  Result<ref::RefModel> ref_model = ref::RefModel::load(*file);
  ASSERT_FALSE(ref_model.isOk());
  EXPECT_EQ(ref_model.status().code(), Code::kUnsupported) << ref_model.status().toString();
}

TEST(ModelConfigTiny, ArchitectureTable) {
  ASSERT_NE(model::findArch("llama"), nullptr);
  ASSERT_NE(model::findArch("qwen2"), nullptr);
  EXPECT_EQ(model::findArch("gpt2"), nullptr);
  EXPECT_EQ(model::findArch("llama")->rope_layout, model::RopeLayout::kAdjacent);
  EXPECT_EQ(model::findArch("qwen2")->rope_layout, model::RopeLayout::kNeox);
  EXPECT_TRUE(model::findArch("qwen2")->qkv_bias_required);
  ASSERT_NE(model::findArch("qwen3"), nullptr);
  EXPECT_EQ(model::findArch("qwen3")->rope_layout, model::RopeLayout::kNeox);
  EXPECT_FALSE(model::findArch("qwen3")->qkv_bias_required);
  EXPECT_TRUE(model::findArch("qwen3")->qk_norm);
  EXPECT_FALSE(model::findArch("qwen2")->qk_norm);
}

}  // namespace
}  // namespace tokenfab

namespace tokenfab {
namespace {

// Each metadata key of a valid tiny model replaced by values of wrong types and ranges: the
// result is always a Status (never a crash), and a config that is accepted also runs.
TEST(ModelConfigFuzz, MutatedMetadataIsAStatusNeverACrash) {
  const std::vector<std::string> keys = {
      "general.architecture", "llama.context_length", "llama.embedding_length", "llama.block_count",
      "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
      "llama.attention.layer_norm_rms_epsilon", "llama.attention.key_length", "llama.attention.value_length",
      "llama.rope.dimension_count", "llama.rope.freq_base", "llama.rope.scaling.type", "llama.rope.scaling.factor",
      "llama.rope.scaling.original_context_length", "llama.rope.scale_linear", "tokenizer.ggml.tokens"};
  const std::vector<Value> values = {
      Value::u8(0), Value::i32(-1), Value::u32(1), Value::u32(3), Value::u32(4), Value::u64(uint64_t{1} << 40),
      Value::i64(INT64_MIN), Value::f32(std::nanf("")), Value::f32(-1.0f), Value::f32(1e30f), Value::f64(0.5),
      Value::string(""), Value::string("linear"), Value::boolean(true),
      Value::array(gguf::ValueType::kUint32, {}), Value::array(gguf::ValueType::kUint32, {Value::u32(1), Value::u32(0)}),
      Value::array(gguf::ValueType::kString, {Value::string("a"), Value::string("b")})};
  int accepted = 0, rejected = 0;
  for (const std::string& key : keys) {
    for (size_t vi = 0; vi < values.size(); ++vi) {
      TinyModel spec;
      spec.extra_kv = {{key, values[vi]}};
      Result<gguf::GgufFile> file = spec.build();
      ASSERT_TRUE(file.isOk()) << file.status().toString();
      Result<ModelConfig> c = ModelConfig::fromGguf(*file);
      if (!c.isOk()) {
        ++rejected;
        EXPECT_NE(c.status().code(), Code::kOk);
        EXPECT_FALSE(c.status().message().empty()) << key << " value " << vi;
        continue;
      }
      ++accepted;
      Result<ref::RefModel> m = ref::RefModel::load(*file);
      if (!m.isOk()) continue;  // e.g. YaRN is refused by the reference, with a Status
      Result<std::vector<double>> logits = m->forwardF64(1, 0);
      ASSERT_TRUE(logits.isOk()) << key << " value " << vi << ": " << logits.status().toString();
      for (double v : *logits) ASSERT_TRUE(std::isfinite(v)) << key << " value " << vi;
    }
  }
  std::printf("[ measured ] %d mutations accepted, %d rejected\n", accepted, rejected);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);
}

// Every tensor dropped in turn, and every tensor given a wrong shape in turn.
TEST(ModelConfigFuzz, EveryTensorIsCheckedForPresenceAndShape) {
  TinyModel base;
  base.qkv_bias = true;
  Result<gguf::GgufFile> file = base.build();
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  for (const gguf::TensorInfo& info : file->tensors()) {
    TinyModel dropped = base;
    dropped.drop_tensors = {info.name};
    const Status s = configStatus(dropped);
    if (info.name == "output.weight") {
      EXPECT_TRUE(s.isOk()) << "a missing output.weight means tied embeddings: " << s.toString();
    } else if (info.name.find(".bias") != std::string::npos) {
      EXPECT_TRUE(s.isOk()) << "llama q/k/v biases are optional: " << s.toString();
    } else if (info.name == "token_embd.weight") {
      EXPECT_FALSE(s.isOk());
    } else {
      EXPECT_EQ(s.code(), Code::kModelMissingTensor) << info.name << ": " << s.toString();
      EXPECT_NE(s.message().find(info.name), std::string::npos) << s.toString();
    }
    TinyModel reshaped = base;
    std::vector<uint64_t> ne(info.ne.begin(), info.ne.begin() + info.n_dims);
    ne[0] += 2;  // F32 has no blocks, so any row length is a valid tensor, only the wrong shape
    reshaped.shape_override[info.name] = ne;
    const Status r = configStatus(reshaped);
    EXPECT_EQ(r.code(), Code::kModelBadShape) << info.name << ": " << r.toString();
    EXPECT_NE(r.message().find(info.name), std::string::npos) << r.toString();
  }
}

}  // namespace
}  // namespace tokenfab
