// The per-file budget for parsed metadata (ReadLimits::max_metadata_elements / _bytes): hostile
// files that would take gigabytes to open are refused before the memory is allocated, and
// vocabularies the size of the largest real tokenizers still open.
#include <gtest/gtest.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "shared_data.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

namespace fs = std::filesystem;

template <typename T>
void append(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void appendString(std::string& out, const std::string& s) {
  append<uint64_t>(out, s.size());
  out += s;
}

std::string header(uint64_t n_kv) {
  std::string out = "GGUF";
  append<uint32_t>(out, 3);
  append<uint64_t>(out, 0);  // tensors
  append<uint64_t>(out, n_kv);
  return out;
}

// The key/value head of a u8 array: key, type (array), element type (u8), count.
std::string u8ArrayHead(const std::string& key, uint64_t count) {
  std::string out;
  appendString(out, key);
  append<uint32_t>(out, static_cast<uint32_t>(ValueType::kArray));
  append<uint32_t>(out, static_cast<uint32_t>(ValueType::kUint8));
  append<uint64_t>(out, count);
  return out;
}

class GgufBudget : public ::testing::Test {
 protected:
  test::TestDir m_dir{"tokenfab_budget"};
};

// The file `w` makes opens with the default limits, with `n` items in the array under `key`.
void expectOpens(const GgufWriter& w, const char* key, size_t n) {
  auto bytes = w.toBytes();
  ASSERT_TRUE(bytes.isOk());
  auto f = GgufFile::parse(*bytes);
  ASSERT_TRUE(f.isOk()) << f.status().toString();
  ASSERT_NE(f->getArray(key), nullptr);
  EXPECT_EQ(f->getArray(key)->items.size(), n);
}

// The reported file: twelve arrays of 16 M one-byte elements, 192 MB on disk (sparse here). Each
// array is under the per-array limit, so before the budget every one was materialised at
// sizeof(Value) = 48 bytes per element: ~9.2 GB.
TEST_F(GgufBudget, TwelveArraysOf16MBytesAreRefusedBeforeAllocating) {
  constexpr uint64_t kCount = 16000000;
  constexpr int kArrays = 12;
  ASSERT_LT(kCount, ReadLimits{}.max_array_elements);
  const fs::path path = m_dir / "hostile.gguf";
  std::string head = header(kArrays);
  const uint64_t first_count_at = head.size() + 8 + std::string("hostile.00").size() + 4 + 4;
  {
    std::ofstream out(path, std::ios::binary);
    uint64_t pos = 0;
    for (int k = 0; k < kArrays; ++k) {
      const std::string name = "hostile." + std::string(k < 10 ? "0" : "") + std::to_string(k);
      head += u8ArrayHead(name, kCount);
      out.write(head.data(), std::streamsize(head.size()));
      pos += head.size() + kCount;
      out.seekp(std::streamoff(pos));  // the elements: zeros, left as a hole
      head.clear();
    }
    ASSERT_TRUE(out.good());
    out.close();
    fs::resize_file(path, pos);
  }
  ASSERT_GT(fs::file_size(path), kArrays * kCount);

  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.isOk());
  EXPECT_EQ(f.status().code(), Code::kGgufMetadataTooLarge) << f.status().toString();
  EXPECT_EQ(f.status().offset(), std::optional<uint64_t>(first_count_at)) << f.status().toString();
  EXPECT_NE(f.status().message().find("budget of 4194304 per file (ReadLimits::max_metadata_elements)"), std::string::npos)
      << f.status().toString();
}

// Arrays that each fit add up: the third one crosses the budget, at its own count field.
TEST_F(GgufBudget, ElementsAddUpOverTheFile) {
  std::string file = header(3);
  uint64_t third_count_at = 0;
  for (int k = 0; k < 3; ++k) {
    file += u8ArrayHead(std::string(1, 'a').append(std::to_string(k)), 4);
    if (k == 2) third_count_at = file.size() - 8;
    file += std::string(4, '\1');
  }
  const std::vector<uint8_t> bytes(file.begin(), file.end());
  ReadLimits limits;
  limits.max_metadata_elements = 11;
  auto refused = GgufFile::parse(bytes, limits);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kGgufMetadataTooLarge);
  EXPECT_EQ(refused.status().offset(), std::optional<uint64_t>(third_count_at)) << refused.status().toString();
  EXPECT_NE(refused.status().message().find("bring the file to 12, over the budget of 11"), std::string::npos)
      << refused.status().toString();
  limits.max_metadata_elements = 12;  // exactly enough
  EXPECT_TRUE(GgufFile::parse(bytes, limits).isOk());
}

// Strings count by their bytes: ten strings of 100 bytes need 1,000 bytes plus the entries.
TEST_F(GgufBudget, StringBytesCountAgainstTheMemoryBudget) {
  GgufWriter w;
  std::vector<Value> items;
  for (int i = 0; i < 10; ++i) items.push_back(Value::string(std::string(100, char('a' + i))));
  w.set("strings", Value::array(ValueType::kString, std::move(items)));
  auto bytes = w.toBytes();
  ASSERT_TRUE(bytes.isOk());
  // Hand count: one key/value entry, the key "strings" (7 bytes), 10 elements, 1,000 string bytes.
  const uint64_t needed = sizeof(KeyValue) + 7 + 10 * sizeof(Value) + 1000;
  ReadLimits limits;
  limits.max_metadata_bytes = needed - 1;
  auto refused = GgufFile::parse(*bytes, limits);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kGgufMetadataTooLarge);
  EXPECT_NE(refused.status().message().find("(ReadLimits::max_metadata_bytes)"), std::string::npos)
      << refused.status().toString();
  limits.max_metadata_bytes = needed;
  auto fits = GgufFile::parse(*bytes, limits);
  EXPECT_TRUE(fits.isOk()) << fits.status().toString();
}

// Token texts like real ones: mostly short, some long (up to 64 bytes), all distinct.
std::string tokenText(int i) {
  std::string s = "t";  // appended piece by piece: GCC 12 warns falsely on "t" + std::string&&
  s += std::to_string(i);
  if (i % 97 == 0) s.append(size_t(i % 60), 'x');
  return s;
}

// The largest real vocabularies, at their real sizes, open with the default limits.
TEST_F(GgufBudget, RealSizedTokenizersFit) {
  {  // Gemma 3: SentencePiece, 262,144 tokens with scores and types.
    constexpr int kTokens = 262144;
    std::vector<Value> tokens, scores, types;
    for (int i = 0; i < kTokens; ++i) {
      tokens.push_back(Value::string(tokenText(i)));
      scores.push_back(Value::f32(-float(i)));
      types.push_back(Value::i32(1));
    }
    GgufWriter w;
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, std::move(tokens)));
    w.set("tokenizer.ggml.scores", Value::array(ValueType::kFloat32, std::move(scores)));
    w.set("tokenizer.ggml.token_type", Value::array(ValueType::kInt32, std::move(types)));
    w.set("tokenizer.chat_template", Value::string(std::string(16384, 'j')));
    expectOpens(w, "tokenizer.ggml.tokens", kTokens);
  }
  {  // Llama 3: byte-level BPE, 128,256 tokens, 280,147 merges, types.
    constexpr int kTokens = 128256;
    constexpr int kMerges = 280147;
    std::vector<Value> tokens, types, merges;
    for (int i = 0; i < kTokens; ++i) {
      tokens.push_back(Value::string(tokenText(i)));
      types.push_back(Value::i32(1));
    }
    for (int i = 0; i < kMerges; ++i) merges.push_back(Value::string(tokenText(i) + " " + tokenText(i + 1)));
    GgufWriter w;
    w.set("tokenizer.ggml.model", Value::string("gpt2"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, std::move(tokens)));
    w.set("tokenizer.ggml.token_type", Value::array(ValueType::kInt32, std::move(types)));
    w.set("tokenizer.ggml.merges", Value::array(ValueType::kString, std::move(merges)));
    expectOpens(w, "tokenizer.ggml.merges", kMerges);
  }
}

}  // namespace
}  // namespace tokenfab::gguf
