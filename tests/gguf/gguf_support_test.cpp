// checkRunnable on writer-made models: a minimal runnable llama/qwen2, then one defect at a time.
#include <gtest/gtest.h>

#include <cctype>
#include <functional>

#include "gguf_test_util.h"
#include "ref/dequant.h"
#include "tokenfab/gguf.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/support.h"

namespace tokenfab {
namespace {

using gguf::GgufFile;
using gguf::GgufWriter;
using gguf::TensorType;
using gguf::Value;
using gguf::ValueType;

struct ModelSpec {
  std::string arch = "llama";
  uint64_t blocks = 2;
  bool tokenizer = true;
  std::string skip_tensor;                  // leave this one out
  std::string odd_tensor;                   // give this one `odd_type`
  TensorType odd_type = TensorType::kQ8_1;  // a 32-element block type no decoder reads
};

// A model with 32-wide tensors (so any 32-block type fits) and a 4-token vocab.
GgufFile makeModel(const ModelSpec& spec) {
  GgufWriter w;
  w.set("general.architecture", Value::string(spec.arch));
  w.set(spec.arch + ".block_count", Value::u32(static_cast<uint32_t>(spec.blocks)));
  if (spec.tokenizer) {
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, {Value::string("a"), Value::string("b"),
                                                                     Value::string("c"), Value::string("d")}));
  }
  std::vector<std::string> names = {"token_embd.weight", "output_norm.weight"};
  for (uint64_t b = 0; b < spec.blocks; ++b)
    for (const char* part : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                             "ffn_down"})
      names.push_back("blk." + std::to_string(b) + "." + part + ".weight");
  for (const std::string& n : names) {
    if (n == spec.skip_tensor) continue;
    const TensorType type = n == spec.odd_tensor ? spec.odd_type : TensorType::kF32;
    const gguf::TypeTraits* traits = gguf::typeTraits(type);
    EXPECT_TRUE(w.addTensor(n, type, {32}, std::vector<uint8_t>(32 / traits->block_size * traits->type_size)).isOk());
  }
  auto bytes = w.toBytes();
  EXPECT_TRUE(bytes.isOk());
  auto f = GgufFile::parse(*bytes);
  EXPECT_TRUE(f.isOk()) << f.status().toString();
  return std::move(f).value();
}

TEST(GgufSupport, MinimalModelsAreRunnable) {
  for (const char* arch : {"llama", "qwen2"}) {
    ModelSpec spec;
    spec.arch = arch;
    const Status s = checkRunnable(makeModel(spec));
    EXPECT_TRUE(s.isOk()) << arch << ": " << s.toString();
  }
}

TEST(GgufSupport, UnsupportedArchitectureIsNamed) {
  ModelSpec spec;
  spec.arch = "quant-zoo";
  const Status s = checkRunnable(makeModel(spec));
  EXPECT_EQ(s.code(), Code::kModelUnsupportedArch);
  EXPECT_EQ(s.message(), "architecture 'quant-zoo' is not supported (supported: llama, qwen2, qwen3, phi3, gemma2, gemma3)");
}

TEST(GgufSupport, UnsupportedTensorTypeIsNamed) {
  ModelSpec spec;
  spec.odd_tensor = "blk.0.ffn_up.weight";
  const Status s = checkRunnable(makeModel(spec));
  EXPECT_EQ(s.code(), Code::kUnsupported);
  EXPECT_EQ(s.message(), "tensor blk.0.ffn_up.weight has type Q8_1, which tokenfab cannot run yet");
}

TEST(GgufSupport, EveryRunnableTypeIsAccepted) {
  const TensorType runnable[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ8_0,
                                 TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
                                 TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
                                 TensorType::kQ6_K, TensorType::kIQ4_NL, TensorType::kIQ4_XS, TensorType::kIQ3_S,
                                 TensorType::kIQ3_XXS};
  int accepted = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const gguf::TypeTraits* t = gguf::typeTraits(id);
    if (t == nullptr) continue;
    const bool expect = std::find(std::begin(runnable), std::end(runnable), t->type) != std::end(runnable);
    EXPECT_EQ(isRunnableTensorType(t->type), expect) << t->name;
    accepted += isRunnableTensorType(t->type);
  }
  EXPECT_EQ(accepted, 17);
}

// The type table is the one list of types: the support check, the CPU reference, the GPU
// recorders and the GPU layout all answer from it, and a decoder it promises exists.
TEST(TypeTable, EveryPlaceAnswersFromIt) {
  int gpu = 0;
  for (const gguf::TypeTraits& t : gguf::typeTable()) {
    SCOPED_TRACE(std::string(t.name));
    EXPECT_EQ(gguf::typeTraits(t.type), &t);
    EXPECT_TRUE(!t.gpu_decode || t.cpu_decode) << "the GPU decode is checked against the CPU reference";
    EXPECT_EQ(isRunnableTensorType(t.type), t.gpu_decode && t.cpu_decode);
    EXPECT_EQ(ref::canDequantize(t.type), t.cpu_decode);
    EXPECT_EQ(ops::matMulSupports(t.type), t.gpu_decode);
    const uint64_t cols = 2 * t.block_size;
    EXPECT_EQ(ops::quantRowBytes(t.type, cols), t.gpu_decode ? 2 * t.type_size : 0);
    std::vector<float> out(cols, -1.0f);
    const Status s = ref::dequantize(t.type, std::vector<uint8_t>(2 * t.type_size, 0), out);
    EXPECT_EQ(s.code(), t.cpu_decode ? Code::kOk : Code::kUnsupported) << s.toString();
    if (t.gpu_decode) {
      ++gpu;
      std::string lower(t.name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_EQ(t.suffix, lower);
      if (t.block_size > 1) {
        // Quantized: units of 32, a whole number of scale records per block, each record
        // 2-aligned (the shaders read its f16 fields as 16-bit words).
        EXPECT_EQ(t.block_size % 32, 0u);
        EXPECT_EQ(t.planes.s_block, t.block_size);
        EXPECT_GT(t.planes.q_bits, 0u);
        EXPECT_EQ(t.planes.s_bytes % 2, 0u);
        // The planes hold every bit of the block: quants and scales, nothing dropped.
        EXPECT_LE(t.type_size * 8, t.block_size * (t.planes.q_bits + t.planes.h_bits) + t.planes.s_bytes * 8);
      } else {
        EXPECT_EQ(t.planes.q_bits, 0u);
      }
      // The packed row exists and is 16-byte aligned.
      EXPECT_EQ(ops::gpuRowBytes(t.type, cols) % 16, 0u);
      std::vector<uint8_t> packed(ops::gpuRowBytes(t.type, cols));
      EXPECT_TRUE(ops::packRows(t.type, cols, std::vector<uint8_t>(2 * t.type_size, 0), packed).isOk());
    }
  }
  EXPECT_EQ(gpu, 17);
}

TEST(GgufSupport, MissingTensorIsNamed) {
  ModelSpec spec;
  spec.skip_tensor = "blk.1.attn_v.weight";
  const Status s = checkRunnable(makeModel(spec));
  EXPECT_EQ(s.code(), Code::kModelMissingTensor);
  EXPECT_NE(s.message().find("blk.1.attn_v.weight"), std::string::npos) << s.message();
  spec.skip_tensor = "output_norm.weight";
  EXPECT_EQ(checkRunnable(makeModel(spec)).code(), Code::kModelMissingTensor);
}

TEST(GgufSupport, MissingTokenizer) {
  ModelSpec spec;
  spec.tokenizer = false;
  EXPECT_EQ(checkRunnable(makeModel(spec)).code(), Code::kTokenizerBadVocab);
}

TEST(GgufSupport, NoArchitectureOrNoTensors) {
  GgufWriter w;
  w.set("tokenizer.ggml.model", Value::string("llama"));
  auto f = GgufFile::parse(*w.toBytes());
  ASSERT_TRUE(f.isOk());
  EXPECT_EQ(checkRunnable(*f).code(), Code::kModelNotAModel);
  GgufWriter v;  // a vocab-only file: architecture and tokenizer, no tensors
  v.set("general.architecture", Value::string("llama"));
  v.set("tokenizer.ggml.model", Value::string("llama"));
  v.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, {Value::string("a")}));
  auto vf = GgufFile::parse(*v.toBytes());
  ASSERT_TRUE(vf.isOk());
  const Status s = checkRunnable(*vf);
  EXPECT_EQ(s.code(), Code::kModelNotAModel) << s.toString();
}

TEST(GgufSupport, HostileBlockCount) {
  ModelSpec spec;
  auto base = makeModel(spec);
  GgufWriter w;
  w.set("general.architecture", Value::string("llama"));
  w.set("llama.block_count", Value::u64(1ull << 60));  // must not loop for ever
  w.set("tokenizer.ggml.model", Value::string("llama"));
  ASSERT_TRUE(w.addTensor("token_embd.weight", TensorType::kF32, {1}, std::vector<uint8_t>(4)).isOk());
  auto f = GgufFile::parse(*w.toBytes());
  ASSERT_TRUE(f.isOk());
  EXPECT_EQ(checkRunnable(*f).code(), Code::kModelBadHyperParams);
  EXPECT_FALSE(runnableProblems(*f).empty());
  EXPECT_TRUE(runnableProblems(base).empty());
}

}  // namespace
}  // namespace tokenfab
