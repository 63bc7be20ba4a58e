// prefillFlops (app/cli/bench_flops.h), the work behind `bench`'s pp GFLOP/s, against counts
// worked out by hand from the published hyper-parameters.
#include "bench_flops.h"

#include <gtest/gtest.h>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {
namespace {

// stories260K (shared/models/MANIFEST.md): n_embd 64, 5 layers, 8 heads / 4 kv heads of 8,
// n_ff 172, vocab 512.
model::ModelConfig stories260K() {
  model::ModelConfig c;
  c.n_vocab = 512;
  c.n_embd = 64;
  c.n_layer = 5;
  c.n_head = 8;
  c.n_head_kv.assign(5, 4);
  c.head_dim = 8;
  c.head_dim_v = 8;
  c.n_ff.assign(5, 172);
  return c;
}

// Per token, per layer: q 64*64 = 4096, k 64*32 = 2048, v 2048, o 64*64 = 4096,
// gate/up/down 64*172 = 11008 each: 45312 multiply-adds; 5 layers: 226560.
// Attention per attended position: 8 heads * (8 + 8) = 128 per layer, 640 for 5 layers.
// Output projection: 64 * 512 = 32768.
TEST(BenchFlops, Stories260KFourTokens) {
  // 4 tokens attend to 1+2+3+4 = 10 positions; one chunk, so one output projection:
  // 4 * 226560 + 10 * 640 + 32768 = 945408 multiply-adds.
  EXPECT_DOUBLE_EQ(prefillFlops(stories260K(), 4, 512), 2.0 * 945408);
}

TEST(BenchFlops, Stories260KChunksEachProjectTheirLastToken) {
  // 5 tokens in chunks of 2 (2 + 2 + 1): 3 output projections; 1+...+5 = 15 attended positions.
  // 5 * 226560 + 15 * 640 + 3 * 32768 = 1240704 multiply-adds.
  EXPECT_DOUBLE_EQ(prefillFlops(stories260K(), 5, 2), 2.0 * 1240704);
  // A batch of 0 is treated as 1 (one projection per token): 5 * 226560 + 9600 + 5 * 32768.
  EXPECT_DOUBLE_EQ(prefillFlops(stories260K(), 5, 0), 2.0 * (1132800 + 9600 + 163840));
}

TEST(BenchFlops, PerLayerKvHeadsFfnAndValueWidth) {
  // n_embd 4, 2 heads with head_dim 3 and head_dim_v 2, kv heads {1, 2}, n_ff {5, 6}, vocab 7.
  model::ModelConfig c;
  c.n_vocab = 7;
  c.n_embd = 4;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_head_kv = {1, 2};
  c.head_dim = 3;
  c.head_dim_v = 2;
  c.n_ff = {5, 6};
  // Layer 0: q 4*6 = 24, k 4*3 = 12, v 4*2 = 8, o (2*2)*4 = 16, ffn 3*4*5 = 60 -> 120.
  // Layer 1: q 24, k 4*6 = 24, v 4*4 = 16, o 16, ffn 3*4*6 = 72 -> 152. Per token 272.
  // Attention: 2 heads * (3 + 2) = 10 per layer per position, 20 for both layers.
  // 3 tokens: 3 * 272 + (1+2+3) * 20 + 4*7 = 816 + 120 + 28 = 964 multiply-adds.
  EXPECT_DOUBLE_EQ(prefillFlops(c, 3, 8), 2.0 * 964);
}

TEST(BenchFlops, NoTokensNoWork) {
  EXPECT_EQ(prefillFlops(stories260K(), 0, 512), 0.0);
}

TEST(BenchFlops, ConfigReadFromTheSharedFileGivesTheHandCount) {
  TF_SHARED_FILE(path, "models/stories260K.gguf");
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto config = model::ModelConfig::fromGguf(*file);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_DOUBLE_EQ(prefillFlops(*config, 4, 512), 2.0 * 945408);
}

// The datasheet table finds devices by the names their Vulkan drivers report (NVIDIA's data
// sheets: H200 4.8 TB/s, 989 TFLOP/s dense f16 tensor, 67 f32); the PCIe H100 is not taken for
// the SXM part; anything else has no datasheet.
TEST(BenchFlops, KnownPeaks) {
  ASSERT_TRUE(vk::datasheetFor("NVIDIA H200").has_value());
  EXPECT_DOUBLE_EQ(vk::datasheetFor("NVIDIA H200")->matrix_f16_tflops, 989);
  EXPECT_DOUBLE_EQ(vk::datasheetFor("NVIDIA H200")->f32_tflops, 67);
  EXPECT_DOUBLE_EQ(vk::datasheetFor("NVIDIA H200")->memory_gbps, 4800);
  EXPECT_DOUBLE_EQ(vk::datasheetFor("NVIDIA H100 80GB HBM3")->matrix_f16_tflops, 989);
  EXPECT_DOUBLE_EQ(vk::datasheetFor("NVIDIA H100 PCIe")->matrix_f16_tflops, 756);
  EXPECT_FALSE(vk::datasheetFor("llvmpipe (LLVM 15.0.6, 256 bits)").has_value());
  EXPECT_FALSE(vk::datasheetFor("Intel(R) UHD Graphics 770 (ADL-S GT1)").has_value());
}

}  // namespace
}  // namespace tokenfab::cli
