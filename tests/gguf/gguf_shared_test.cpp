// Every GGUF file under shared/models opens, and the facts that shared/models/MANIFEST.md states
// about each (architecture, hyper-parameters, tensor counts and types, vocab sizes) hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/support.h"

namespace tokenfab::gguf {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> allGgufFiles() {
  std::vector<fs::path> out;
  const fs::path root = tokenfab::test::sharedDir() / "models";
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".gguf") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> typeSet(const GgufFile& f) {
  std::set<std::string> s;
  for (const TensorInfo& t : f.tensors()) s.insert(std::string(typeName(t.type)));
  return s;
}

std::map<std::string, int> typeCounts(const GgufFile& f) {
  std::map<std::string, int> m;
  for (const TensorInfo& t : f.tensors()) ++m[std::string(typeName(t.type))];
  return m;
}

uint64_t vocabSize(const GgufFile& f) {
  const Value::Array* a = f.getArray("tokenizer.ggml.tokens");
  return a ? a->items.size() : 0;
}

uint64_t paramCount(const GgufFile& f) {
  uint64_t n = 0;
  for (const TensorInfo& t : f.tensors()) n += t.n_elements;
  return n;
}

GgufFile openOrDie(const fs::path& p) {
  auto f = GgufFile::open(p);
  EXPECT_TRUE(f.isOk()) << f.status().toString();
  return std::move(f).value();
}

// Opens every file; files written by ggml pad each tensor to the alignment and end right after
// the last padded tensor, so the sizes from our type table must add up to the file size exactly.
TEST(GgufShared, EveryFileOpensAndTensorSizesAddUp) {
  TF_SHARED_FILE(manifest, "models/MANIFEST.md");
  const auto files = allGgufFiles();
  EXPECT_GE(files.size(), 22u);  // 2 models + 8 fixtures + 12 vocab files in the MANIFEST
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.string());
    auto f = GgufFile::open(p);
    ASSERT_TRUE(f.isOk()) << f.status().toString();
    EXPECT_EQ(f->version(), 3u);  // the MANIFEST: all are GGUF v3
    EXPECT_EQ(f->fileSize(), fs::file_size(p));
    if (f->tensors().empty()) continue;
    uint64_t end = 0;
    for (const TensorInfo& t : f->tensors()) {
      const uint64_t padded = (t.n_bytes + f->alignment() - 1) / f->alignment() * f->alignment();
      end = std::max(end, f->dataOffset() + t.offset + padded);
    }
    EXPECT_EQ(end, f->fileSize());
  }
}

TEST(GgufShared, Stories260K) {
  TF_SHARED_FILE(p, "models/stories260K.gguf");
  const GgufFile f = openOrDie(p);
  EXPECT_EQ(f.fileSize(), 1185376u);
  EXPECT_EQ(*f.getString("general.architecture"), "llama");
  EXPECT_EQ(*f.getUint("llama.embedding_length"), 64u);
  EXPECT_EQ(*f.getUint("llama.block_count"), 5u);
  EXPECT_EQ(*f.getUint("llama.attention.head_count"), 8u);
  EXPECT_EQ(*f.getUint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*f.getUint("llama.feed_forward_length"), 172u);
  EXPECT_EQ(*f.getUint("llama.rope.dimension_count"), 8u);
  EXPECT_EQ(*f.getUint("llama.context_length"), 2048u);
  EXPECT_NEAR(*f.getFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
  EXPECT_EQ(*f.getString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(vocabSize(f), 512u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(typeCounts(f), (std::map<std::string, int>{{"F32", 48}}));
  EXPECT_EQ(paramCount(f), 292800u);
  EXPECT_EQ(f.find("general.file_type"), nullptr);
  EXPECT_EQ(f.find("tokenizer.chat_template"), nullptr);
  ASSERT_NE(f.tensor("output.weight"), nullptr);
  EXPECT_TRUE(checkRunnable(f).isOk()) << checkRunnable(f).toString();
}

TEST(GgufShared, LlamaTinyRandom) {
  TF_SHARED_FILE(p, "models/llama-2-tiny-random.gguf");
  const GgufFile f = openOrDie(p);
  EXPECT_EQ(f.fileSize(), 1750560u);
  EXPECT_EQ(*f.getString("general.architecture"), "llama");
  EXPECT_EQ(*f.getUint("llama.embedding_length"), 8u);
  EXPECT_EQ(*f.getUint("llama.block_count"), 1u);
  EXPECT_EQ(*f.getUint("llama.attention.head_count"), 2u);
  EXPECT_EQ(*f.getUint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(*f.getUint("llama.feed_forward_length"), 32u);
  EXPECT_EQ(*f.getUint("llama.context_length"), 4096u);
  EXPECT_EQ(*f.getUint("general.file_type"), 1u);
  EXPECT_EQ(*f.getString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(vocabSize(f), 32000u);
  EXPECT_EQ(typeCounts(f), (std::map<std::string, int>{{"F16", 9}, {"F32", 3}}));
  EXPECT_EQ(paramCount(f), 513048u);
  EXPECT_TRUE(checkRunnable(f).isOk()) << checkRunnable(f).toString();
}

struct Fixture {
  const char* file;
  const char* arch;
  uint64_t vocab;
  std::set<std::string> types;
  uint64_t n_embd = 256, n_head = 4, n_head_kv = 2, n_ff = 512;
};

// Fixture facts from the MANIFEST. Tensor counts follow from the architecture: llama has 9
// weights per block plus token_embd, output_norm and an untied output; qwen2 adds 3 biases per
// block and ties the output (no output.weight).
TEST(GgufShared, Fixtures) {
  TF_SHARED_FILE(manifest, "models/MANIFEST.md");
  const std::vector<Fixture> fixtures = {
      {"fx-llama-spm-q8_0.gguf", "llama", 32000, {"Q8_0", "F32"}},
      {"fx-llama-spm-q4_0.gguf", "llama", 32000, {"Q4_0", "Q6_K", "F32"}},
      {"fx-llama-spm-q4_k_m.gguf", "llama", 32000, {"Q4_K", "Q6_K", "F32"}},
      {"fx-qwen2-bpe-q8_0.gguf", "qwen2", 50257, {"Q8_0", "F32"}},
      {"fx-qwen2-bpe-q5_k_m.gguf", "qwen2", 50257, {"Q5_K", "Q6_K", "F32"}},
      {"fx-qwen2-e384-q4_k_m.gguf", "qwen2", 50257, {"Q8_0", "Q5_0", "Q4_K", "Q6_K", "F32"}, 384, 6, 2, 1024},
  };
  for (const Fixture& fx : fixtures) {
    SCOPED_TRACE(fx.file);
    const fs::path p = tokenfab::test::sharedDir() / "models/fixtures" / fx.file;
    const GgufFile f = openOrDie(p);
    const std::string arch = fx.arch;
    const bool qwen = arch == "qwen2";
    EXPECT_EQ(*f.getString("general.architecture"), arch);
    EXPECT_EQ(*f.getUint(arch + ".block_count"), 2u);
    EXPECT_EQ(*f.getUint(arch + ".embedding_length"), fx.n_embd);
    EXPECT_EQ(*f.getUint(arch + ".attention.head_count"), fx.n_head);
    EXPECT_EQ(*f.getUint(arch + ".attention.head_count_kv"), fx.n_head_kv);
    EXPECT_EQ(*f.getUint(arch + ".feed_forward_length"), fx.n_ff);
    EXPECT_EQ(vocabSize(f), fx.vocab);
    EXPECT_EQ(*f.getString("tokenizer.ggml.model"), qwen ? "gpt2" : "llama");
    EXPECT_EQ(typeSet(f), fx.types);
    EXPECT_EQ(f.tensors().size(), qwen ? 2u * 12 + 2 : 2u * 9 + 3);
    EXPECT_EQ(f.tensor("output.weight") == nullptr, qwen);  // tied in qwen2 fixtures only
    const TensorInfo* embd = f.tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->n_dims, 2u);
    EXPECT_EQ(embd->ne[0], fx.n_embd);
    EXPECT_EQ(embd->ne[1], fx.vocab);
    if (qwen) {
      EXPECT_NEAR(*f.getFloat("qwen2.rope.freq_base"), 1e6, 1e-3);
      EXPECT_NE(f.tensor("blk.1.attn_q.bias"), nullptr);
    }
    EXPECT_TRUE(checkRunnable(f).isOk()) << checkRunnable(f).toString();
  }
  {
    const GgufFile f = openOrDie(tokenfab::test::sharedDir() / "models/fixtures/fx-llama-spm-q4_0.gguf");
    ASSERT_NE(f.tensor("output.weight"), nullptr);
    EXPECT_EQ(f.tensor("output.weight")->type, TensorType::kQ6_K);
  }
  const GgufFile f16 = openOrDie(tokenfab::test::sharedDir() / "models/fixtures/stories260K-f16.gguf");
  EXPECT_EQ(typeSet(f16), (std::set<std::string>{"F16", "F32"}));
  EXPECT_EQ(f16.tensors().size(), 48u);
  EXPECT_EQ(paramCount(f16), 292800u);
  EXPECT_EQ(vocabSize(f16), 512u);
  for (const TensorInfo& t : f16.tensors())  // norms stay F32
    if (t.name.find("norm") != std::string::npos) {
      EXPECT_EQ(t.type, TensorType::kF32) << t.name;
    }
}

TEST(GgufShared, QuantZoo) {
  TF_SHARED_FILE(p, "models/fixtures/quant-zoo.gguf");
  const GgufFile f = openOrDie(p);
  EXPECT_EQ(*f.getString("general.architecture"), "quant-zoo");
  EXPECT_EQ(typeSet(f), (std::set<std::string>{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
                                               "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL"}));
  EXPECT_EQ(f.tensors().size(), 14u);
  for (const TensorInfo& t : f.tensors()) {  // one 6x1024 matrix per type
    EXPECT_EQ(t.n_dims, 2u) << t.name;
    EXPECT_EQ(t.ne[0], 1024u) << t.name;
    EXPECT_EQ(t.ne[1], 6u) << t.name;
  }
  EXPECT_EQ(vocabSize(f), 0u);
  const Status s = checkRunnable(f);
  EXPECT_EQ(s.code(), Code::kModelUnsupportedArch);
  EXPECT_EQ(s.message(), "architecture 'quant-zoo' is not supported (supported: llama, qwen2, qwen3, phi3, gemma2, gemma3)");
}

TEST(GgufShared, VocabFiles) {
  TF_SHARED_FILE(manifest, "models/MANIFEST.md");
  struct Vocab {
    const char* file;
    const char* model;
    const char* pre;  // nullptr: the MANIFEST names none (default)
  };
  const Vocab vocabs[] = {
      {"ggml-vocab-llama-spm.gguf", "llama", nullptr},  {"ggml-vocab-phi-3.gguf", "llama", nullptr},
      {"ggml-vocab-baichuan.gguf", "llama", nullptr},   {"ggml-vocab-gpt-2.gguf", "gpt2", "gpt-2"},
      {"ggml-vocab-gpt-neox.gguf", "gpt2", nullptr},    {"ggml-vocab-mpt.gguf", "gpt2", "mpt"},
      {"ggml-vocab-falcon.gguf", "gpt2", "falcon"},     {"ggml-vocab-deepseek-coder.gguf", "gpt2", "deepseek-coder"},
      {"ggml-vocab-deepseek-llm.gguf", "gpt2", "deepseek-llm"}, {"ggml-vocab-refact.gguf", "gpt2", "refact"},
      {"ggml-vocab-starcoder.gguf", "gpt2", "starcoder"}, {"ggml-vocab-bert-bge.gguf", "bert", "bert-bge"},
  };
  for (const Vocab& v : vocabs) {
    SCOPED_TRACE(v.file);
    const GgufFile f = openOrDie(tokenfab::test::sharedDir() / "models/vocab" / v.file);
    EXPECT_EQ(f.tensors().size(), 0u);
    EXPECT_EQ(*f.getString("tokenizer.ggml.model"), v.model);
    if (v.pre != nullptr) {
      EXPECT_EQ(*f.getString("tokenizer.ggml.pre"), v.pre);
    }
    EXPECT_GT(vocabSize(f), 0u);
    EXPECT_FALSE(checkRunnable(f).isOk());  // vocab only: not a model
  }
  EXPECT_EQ(vocabSize(openOrDie(tokenfab::test::sharedDir() / "models/vocab/ggml-vocab-llama-spm.gguf")), 32000u);
  EXPECT_EQ(vocabSize(openOrDie(tokenfab::test::sharedDir() / "models/vocab/ggml-vocab-gpt-2.gguf")), 50257u);
}

}  // namespace
}  // namespace tokenfab::gguf
