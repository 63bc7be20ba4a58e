// The i-quant types through the whole engine. A GGUF of IQ4_NL (or IQ4_XS) weights, written with
// tokenfab's own quantizer (core/lab) and GgufWriter from the weights of fx-llama-spm-q8_0, is
// reported runnable by the support check and generates on the GPU what the float64 CPU
// reference computes on the same weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "lab/quantize.h"
#include "ref/dequant.h"
#include "shared_data.h"
#include "tokenfab/engine.h"
#include "tokenfab/gguf.h"
#include "tokenfab/support.h"

namespace tokenfab {
namespace {

using gguf::TensorType;

// The source model with every matrix (token_embd and output included) re-quantized to `type`;
// norms stay F32. Written to `path`.
Status requantize(const std::filesystem::path& src, TensorType type, const std::filesystem::path& path) {
  TF_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(src));
  gguf::GgufWriter w;
  for (const gguf::KeyValue& kv : file.metadata())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  for (const gguf::TensorInfo& t : file.tensors()) {
    std::vector<float> values(t.n_elements);
    TF_RETURN_IF_ERROR(ref::dequantize(t.type, file.tensorData(t), values));
    const TensorType to = t.n_dims == 2 ? type : TensorType::kF32;
    TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ref::quantize(to, values));
    TF_RETURN_IF_ERROR(w.addTensor(t.name, to, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), bytes));
  }
  return w.writeFile(path);
}

size_t argMax(std::span<const float> v) { return size_t(std::max_element(v.begin(), v.end()) - v.begin()); }

// Top-2 margin of v.
float margin(std::span<const float> v) {
  std::vector<float> s(v.begin(), v.end());
  std::partial_sort(s.begin(), s.begin() + 2, s.end(), std::greater<>());
  return s[0] - s[1];
}

class EngineIquant : public ::testing::TestWithParam<TensorType> {};

TEST_P(EngineIquant, RunnableAndGpuGeneratesAsTheCpuReference) {
  const TensorType type = GetParam();
  TF_SHARED_FILE(src, "models/fixtures/fx-llama-spm-q8_0.gguf");
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("tokenfab_iquant_" + std::string(gguf::typeName(type)) + ".gguf");
  ASSERT_TRUE(requantize(src, type, path).isOk());
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() { std::filesystem::remove(p); }
  } cleanup{path};

  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  EXPECT_EQ(file->tensor("blk.0.ffn_up.weight")->type, type);
  const Status runnable = checkRunnable(*file);
  ASSERT_TRUE(runnable.isOk()) << runnable.toString();

  EngineOptions go;
  go.validation = true;
  auto gpu = Engine::open(path, go);
  ASSERT_TRUE(gpu.isOk()) << gpu.status().toString();
  EngineOptions co;
  co.backend = Backend::kReference;
  auto cpu = Engine::open(path, co);
  ASSERT_TRUE(cpu.isOk()) << cpu.status().toString();
  auto prompt = (*gpu)->tokenizer().encode("Once upon a time");
  ASSERT_TRUE(prompt.isOk());
  auto gs = (*gpu)->newSession(64);
  auto cs = (*cpu)->newSession(64);
  ASSERT_TRUE(gs.isOk() && cs.isOk());

  // The prompt as one prefill, then 6 greedy tokens on the GPU, each fed to both.
  std::vector<int32_t> feed = *prompt;
  std::vector<int32_t> generated;
  float max_diff = 0.0f;
  for (int step = 0; step <= 6; ++step) {
    auto gl = (*gs)->decode(feed);
    ASSERT_TRUE(gl.isOk()) << gl.status().toString();
    const std::vector<float> g(gl->begin(), gl->end());
    auto cl = (*cs)->decode(feed);
    ASSERT_TRUE(cl.isOk()) << cl.status().toString();
    ASSERT_EQ(g.size(), cl->size());
    for (size_t i = 0; i < g.size(); ++i) {
      ASSERT_TRUE(std::isfinite(g[i]));
      max_diff = std::max(max_diff, std::abs(g[i] - (*cl)[i]));
    }
    const int32_t next = static_cast<int32_t>(argMax(g));
    // A near-tie of the reference may flip under float32 sums; anything else must agree.
    if (margin(*cl) > 0.05f) {
      EXPECT_EQ(next, static_cast<int32_t>(argMax(*cl))) << "step " << step;
    }
    generated.push_back(next);
    feed = {next};
  }
  std::printf("[ measured ] %s: 6 tokens generated, max |GPU - float64 reference| logit %.5f\n",
              std::string(gguf::typeName(type)).c_str(), max_diff);
  EXPECT_LE(max_diff, 0.05f);
  EXPECT_GT(std::set<int32_t>(generated.begin(), generated.end()).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Types, EngineIquant, ::testing::Values(TensorType::kIQ4_NL, TensorType::kIQ4_XS),
                         [](const auto& param_info) { return std::string(gguf::typeName(param_info.param)); });

}  // namespace
}  // namespace tokenfab
