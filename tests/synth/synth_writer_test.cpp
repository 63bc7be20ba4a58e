// GgufStreamWriter: byte-identical to GgufWriter::toBytes() for the same keys and tensors (the
// independent check of the streaming path), and no file at the destination after any failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab {
namespace {

namespace fs = std::filesystem;
using gguf::GgufStreamWriter;
using gguf::GgufWriter;
using gguf::TensorType;
using gguf::Value;
using gguf::ValueType;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("tf-synth-writer-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // Files in the folder other than `keep` (left-over temporaries).
  std::vector<std::string> others(const std::string& keep = "") const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().filename() != keep) out.push_back(e.path().filename().string());
    return out;
  }
};

std::vector<uint8_t> readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct TestTensor {
  std::string name;
  TensorType type;
  std::vector<uint64_t> ne;
  std::vector<uint8_t> data;
};

// Tensors of several types and sizes (odd byte counts, so padding is exercised), random bytes.
std::vector<TestTensor> makeTensors(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TestTensor> out = {
      {"token_embd.weight", TensorType::kQ8_0, {64, 10}, {}},
      {"output_norm.weight", TensorType::kF32, {7}, {}},
      {"blk.0.attn_q.weight", TensorType::kQ4_K, {256, 3}, {}},
      {"blk.0.attn_q.bias", TensorType::kF16, {5}, {}},
      {"blk.0.ffn_down.weight", TensorType::kQ6_K, {256, 2, 1, 1}, {}},
      {"blk.0.ffn_up.weight", TensorType::kQ5_0, {32, 3, 2}, {}},
  };
  for (TestTensor& t : out) {
    const gguf::TypeTraits* traits = gguf::typeTraits(t.type);
    uint64_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    t.data.resize(n / traits->block_size * traits->type_size);
    for (uint8_t& b : t.data) b = static_cast<uint8_t>(rng());
  }
  return out;
}

std::vector<std::pair<std::string, Value>> makeKeys() {
  return {
      {"general.architecture", Value::string("llama")},
      {"general.name", Value::string("stream \xC3\xA9 test")},
      {"a.u8", Value::u8(200)},
      {"a.i8", Value::i8(-5)},
      {"a.u16", Value::u16(65000)},
      {"a.i16", Value::i16(-3000)},
      {"a.u32", Value::u32(123456)},
      {"a.i32", Value::i32(-123456)},
      {"a.u64", Value::u64(1ull << 40)},
      {"a.i64", Value::i64(-(1ll << 40))},
      {"a.f32", Value::f32(0.25f)},
      {"a.f64", Value::f64(-1e300)},
      {"a.bool", Value::boolean(true)},
      {"a.strings",
       Value::array(ValueType::kString, {Value::string("x"), Value::string(""), Value::string("yz")})},
      {"a.nested",
       Value::array(ValueType::kArray, {Value::array(ValueType::kInt32, {Value::i32(1), Value::i32(2)}),
                                        Value::array(ValueType::kInt32, {})})},
  };
}

// Hands each tensor's bytes over in pieces of random length (seeded), some of them empty.
GgufStreamWriter::FillFn piecewiseFill(const std::vector<TestTensor>& tensors, uint32_t seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [&tensors, rng](size_t index, GgufStreamWriter::Sink& sink) -> Status {
    const std::vector<uint8_t>& d = tensors[index].data;
    size_t at = 0;
    while (at < d.size()) {
      const size_t n = std::min<size_t>(d.size() - at, (*rng)() % 97);
      TF_RETURN_IF_ERROR(sink.write(std::span<const uint8_t>(d.data() + at, n)));
      at += n;
    }
    return Status::ok();
  };
}

class StreamWriterEquals : public ::testing::TestWithParam<uint64_t> {};

TEST_P(StreamWriterEquals, GgufWriterBytes) {
  const uint64_t alignment = GetParam();
  const uint32_t seed = 1234;
  SCOPED_TRACE("alignment " + std::to_string(alignment) + ", seed " + std::to_string(seed));
  const std::vector<TestTensor> tensors = makeTensors(seed);
  GgufWriter reference;
  GgufStreamWriter stream;
  reference.setAlignment(alignment);
  stream.setAlignment(alignment);
  for (const auto& [k, v] : makeKeys()) {
    reference.set(k, v);
    stream.set(k, v);
  }
  for (const TestTensor& t : tensors) {
    ASSERT_TRUE(reference.addTensor(t.name, t.type, t.ne, t.data).isOk());
    ASSERT_TRUE(stream.addTensor(t.name, t.type, t.ne).isOk());
  }
  auto expected = reference.toBytes();
  ASSERT_TRUE(expected.isOk()) << expected.status().toString();

  TempDir dir;
  const fs::path out = dir.path / "model.gguf";
  Status s = stream.writeFile(out, piecewiseFill(tensors, seed));
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(readAll(out), *expected);
  auto size = stream.fileSize();
  ASSERT_TRUE(size.isOk());
  EXPECT_EQ(*size, expected->size());
  EXPECT_TRUE(dir.others("model.gguf").empty());

  // Zeros written as holes read back as zeros: same bytes as GgufWriter with zero data.
  GgufWriter zero_ref;
  zero_ref.setAlignment(alignment);
  for (const TestTensor& t : tensors)
    ASSERT_TRUE(zero_ref.addTensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data.size(), 0)).isOk());
  GgufStreamWriter zero_stream;
  zero_stream.setAlignment(alignment);
  for (const TestTensor& t : tensors) ASSERT_TRUE(zero_stream.addTensor(t.name, t.type, t.ne).isOk());
  const fs::path zeros = dir.path / "zeros.gguf";
  s = zero_stream.writeFile(
      zeros, [&](size_t i, GgufStreamWriter::Sink& sink) { return sink.writeZeros(tensors[i].data.size()); });
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(readAll(zeros), *zero_ref.toBytes());
}

INSTANTIATE_TEST_SUITE_P(Alignments, StreamWriterEquals, ::testing::Values(32, 64, 1));

class StreamWriterFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    tensors = makeTensors(7);
    for (const TestTensor& t : tensors) ASSERT_TRUE(writer.addTensor(t.name, t.type, t.ne).isOk());
    writer.set("general.architecture", Value::string("llama"));
  }
  std::vector<TestTensor> tensors;
  GgufStreamWriter writer;
  TempDir dir;
};

TEST_F(StreamWriterFailure, FillErrorLeavesNoFile) {
  const fs::path out = dir.path / "model.gguf";
  Status s = writer.writeFile(out, [&](size_t i, GgufStreamWriter::Sink& sink) -> Status {
    if (i == 3) return Status(Code::kCancelled, "stop here");
    return sink.write(tensors[i].data);
  });
  EXPECT_EQ(s.code(), Code::kCancelled) << s.toString();
  EXPECT_NE(s.message().find("blk.0.attn_q.bias"), std::string::npos) << s.message();
  EXPECT_TRUE(dir.others().empty());
}

TEST_F(StreamWriterFailure, ShortTensorLeavesNoFileAndKeepsTheOldOne) {
  const fs::path out = dir.path / "model.gguf";
  { std::ofstream(out) << "old contents"; }
  Status s = writer.writeFile(out, [&](size_t i, GgufStreamWriter::Sink& sink) -> Status {
    std::span<const uint8_t> d(tensors[i].data);
    return sink.write(i == 2 ? d.first(d.size() - 1) : d);  // one byte short
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.toString();
  EXPECT_EQ(readAll(out), std::vector<uint8_t>({'o', 'l', 'd', ' ', 'c', 'o', 'n', 't', 'e', 'n', 't', 's'}));
  EXPECT_EQ(dir.others("model.gguf"), std::vector<std::string>{});
}

TEST_F(StreamWriterFailure, LongTensorIsRefused) {
  const fs::path out = dir.path / "model.gguf";
  Status s = writer.writeFile(out, [&](size_t i, GgufStreamWriter::Sink& sink) -> Status {
    TF_RETURN_IF_ERROR(sink.write(tensors[i].data));
    return sink.writeZeros(i == 4 ? 1 : 0);
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.toString();
  EXPECT_TRUE(dir.others().empty());
}

TEST_F(StreamWriterFailure, MissingFolderIsAnIoError) {
  Status s =
      writer.writeFile(dir.path / "no" / "such" / "model.gguf",
                       [&](size_t i, GgufStreamWriter::Sink& sink) { return sink.write(tensors[i].data); });
  EXPECT_EQ(s.code(), Code::kIoError) << s.toString();
}

TEST(StreamWriterSpace, NotEnoughSpaceIsRefusedBeforeWriting) {
  // 2^52 bytes of F32: more than any test machine's disk. The fill must never be called.
  GgufStreamWriter writer;
  ASSERT_TRUE(
      writer.addTensor("huge.weight", TensorType::kF32, {uint64_t{1} << 25, uint64_t{1} << 25}).isOk());
  TempDir dir;
  bool called = false;
  Status s = writer.writeFile(dir.path / "huge.gguf", [&](size_t, GgufStreamWriter::Sink&) {
    called = true;
    return Status::ok();
  });
  EXPECT_EQ(s.code(), Code::kIoError) << s.toString();
  EXPECT_NE(s.message().find("not enough disk space"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("MiB"), std::string::npos) << s.message();
  EXPECT_FALSE(called);
  EXPECT_TRUE(dir.others().empty());
}

TEST(StreamWriterChecks, AddTensorRefusesWhatGgufWriterRefuses) {
  GgufStreamWriter writer;
  EXPECT_EQ(writer.addTensor("", TensorType::kF32, {4}).code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.addTensor("a", TensorType::kQ4_K, {100}).code(),
            Code::kInvalidArgument);  // not 256-aligned
  EXPECT_EQ(writer.addTensor("a", TensorType::kF32, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(writer.addTensor("a", TensorType::kF32, {0}).code(), Code::kInvalidArgument);
  EXPECT_TRUE(writer.addTensor("a", TensorType::kF32, {4}).isOk());
  EXPECT_EQ(writer.addTensor("a", TensorType::kF32, {4}).code(), Code::kAlreadyExists);
  EXPECT_EQ(writer.tensorBytes(0), 16u);
}

}  // namespace
}  // namespace tokenfab
