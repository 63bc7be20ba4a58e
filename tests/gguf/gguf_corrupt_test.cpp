// Hostile input: every truncation of a valid file and hand-made corruptions of single fields.
// Each corruption asserts its own error code and the byte offset of the field that was patched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "gguf_test_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

using test::f32Bytes;
using test::fillerBytes;

// A small valid file. Names are distinctive so their bytes can be found in the image.
// The last tensor's size is a multiple of the alignment, so the file ends exactly at its last
// byte and every truncation cuts something the reader needs.
std::vector<uint8_t> baseFile() {
  GgufWriter w;
  w.set("general.architecture", Value::string("llama"));
  w.set("key.u32", Value::u32(7));
  w.set("key.arr", Value::array(ValueType::kUint32, {Value::u32(1), Value::u32(2), Value::u32(3)}));
  w.set("key.bool", Value::boolean(true));
  w.set("key.text", Value::string("hello"));
  w.set("key.nest", Value::array(ValueType::kArray, {Value::array(ValueType::kUint8, {Value::u8(5)})}));
  w.set("general.alignment", Value::u32(32));
  EXPECT_TRUE(w.addTensor("tensor.zero", TensorType::kF32, {4, 2}, f32Bytes({1, 2, 3, 4, 5, 6, 7, 8})).isOk());
  EXPECT_TRUE(w.addTensor("tensor.one_", TensorType::kQ8_0, {32}, fillerBytes(34, 3)).isOk());
  EXPECT_TRUE(w.addTensor("tensor.two_", TensorType::kF32, {16}, fillerBytes(64, 5)).isOk());
  auto bytes = w.toBytes();
  EXPECT_TRUE(bytes.isOk());
  return *bytes;
}

// Position of the first byte of `s`'s content (after its u64 length) in the image.
size_t find(const std::vector<uint8_t>& b, std::string_view s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
  EXPECT_NE(it, b.end()) << s;
  return static_cast<size_t>(it - b.begin());
}

template <typename T>
void put(std::vector<uint8_t>& b, size_t at, T v) {
  ASSERT_LE(at + sizeof(T), b.size());
  std::memcpy(b.data() + at, &v, sizeof(T));
}

template <typename T>
T get(const std::vector<uint8_t>& b, size_t at) {
  T v{};
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

void expectError(const std::vector<uint8_t>& bytes, Code code, uint64_t offset, const ReadLimits& limits = {}) {
  auto f = GgufFile::parse(bytes, limits);
  ASSERT_FALSE(f.isOk()) << "expected " << codeName(code) << " but the file parsed";
  EXPECT_EQ(f.status().code(), code) << f.status().toString();
  ASSERT_TRUE(f.status().offset().has_value()) << f.status().toString();
  EXPECT_EQ(*f.status().offset(), offset) << f.status().toString();
  EXPECT_FALSE(f.status().message().empty());
}

// Layout helpers (GGUF spec): a kv is key(u64 len + bytes), u32 type, value; a tensor info is
// name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset.
struct Kv {
  size_t key_len_at, type_at, value_at;
};
Kv kvAt(const std::vector<uint8_t>& b, std::string_view key) {
  const size_t p = find(b, key);
  return {p - 8, p + key.size(), p + key.size() + 4};
}
struct Ti {
  size_t name_len_at, n_dims_at, ne_at, type_at, offset_at;
};
Ti tensorAt(const std::vector<uint8_t>& b, std::string_view name) {
  const size_t p = find(b, name);
  const size_t n_dims_at = p + name.size();
  const uint32_t n_dims = get<uint32_t>(b, n_dims_at);
  const size_t type_at = n_dims_at + 4 + 8 * n_dims;
  return {p - 8, n_dims_at, n_dims_at + 4, type_at, type_at + 4};
}

TEST(GgufCorrupt, BaseFileIsValid) {
  const auto b = baseFile();
  auto f = GgufFile::parse(b);
  ASSERT_TRUE(f.isOk()) << f.status().toString();
  EXPECT_EQ(f->tensors().size(), 3u);
  const TensorInfo* last = f->tensor("tensor.two_");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(f->dataOffset() + last->offset + last->n_bytes, b.size());
}

// Every prefix of a valid file fails cleanly with a specific code and an offset inside it.
TEST(GgufCorrupt, EveryTruncationFails) {
  const auto b = baseFile();
  const std::set<Code> allowed = {Code::kGgufTruncated,     Code::kGgufStringTooLong,  Code::kGgufArrayTooLong,
                                  Code::kGgufTooManyKeys,   Code::kGgufTooManyTensors, Code::kGgufTensorOutOfBounds};
  for (size_t len = 0; len < b.size(); ++len) {
    auto f = GgufFile::parse(std::span<const uint8_t>(b.data(), len));
    ASSERT_FALSE(f.isOk()) << "truncated to " << len << " of " << b.size() << " bytes, yet parsed";
    EXPECT_TRUE(allowed.count(f.status().code())) << "length " << len << ": " << f.status().toString();
    ASSERT_TRUE(f.status().offset().has_value()) << "length " << len;
    EXPECT_LE(*f.status().offset(), len) << "length " << len << ": " << f.status().toString();
  }
}

TEST(GgufCorrupt, BadMagic) {
  auto b = baseFile();
  b[3] = 'X';
  expectError(b, Code::kGgufBadMagic, 0);
}

TEST(GgufCorrupt, VersionOneRefused) {
  auto b = baseFile();
  put<uint32_t>(b, 4, 1);
  expectError(b, Code::kGgufUnsupportedVersion, 4);
}

TEST(GgufCorrupt, FutureVersionRefused) {
  auto b = baseFile();
  put<uint32_t>(b, 4, 4);
  expectError(b, Code::kGgufUnsupportedVersion, 4);
}

TEST(GgufCorrupt, BigEndianDetected) {
  auto b = baseFile();
  const uint8_t be3[4] = {0, 0, 0, 3};
  std::memcpy(b.data() + 4, be3, 4);
  expectError(b, Code::kGgufBigEndian, 4);
}

TEST(GgufCorrupt, TensorCountTooLarge) {
  auto b = baseFile();
  put<uint64_t>(b, 8, 1ull << 40);
  expectError(b, Code::kGgufTooManyTensors, 8);
}

TEST(GgufCorrupt, KvCountTooLarge) {
  auto b = baseFile();
  put<uint64_t>(b, 16, ~0ull);
  expectError(b, Code::kGgufTooManyKeys, 16);
}

TEST(GgufCorrupt, KeyLengthPastEndOfFile) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.u32");
  put<uint64_t>(b, kv.key_len_at, 1ull << 50);
  expectError(b, Code::kGgufStringTooLong, kv.key_len_at);
}

TEST(GgufCorrupt, EmptyKey) {
  // Patching a key length to 0 would make its bytes read as type and value, so build the case
  // with the writer instead: a zero-length key followed by a valid value.
  GgufWriter w;
  w.set("", Value::u8(1));
  auto bytes = w.toBytes();
  ASSERT_TRUE(bytes.isOk());
  expectError(*bytes, Code::kGgufBadKey, 24);
}

TEST(GgufCorrupt, KeyNotUtf8) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.u32");
  b[kv.key_len_at + 8 + 3] = 0xC0;  // "key" + an overlong lead byte
  expectError(b, Code::kGgufBadKey, kv.key_len_at);
}

TEST(GgufCorrupt, DuplicateKey) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.arr");
  std::memcpy(b.data() + kv.key_len_at + 8, "key.u32", 7);
  expectError(b, Code::kGgufDuplicateKey, kv.key_len_at);
}

TEST(GgufCorrupt, UnknownValueType) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.u32");
  put<uint32_t>(b, kv.type_at, 13);
  expectError(b, Code::kGgufBadValueType, kv.type_at);
}

TEST(GgufCorrupt, UnknownArrayElementType) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.arr");
  put<uint32_t>(b, kv.value_at, 0xFFFFFFFFu);
  expectError(b, Code::kGgufBadValueType, kv.value_at);
}

TEST(GgufCorrupt, ArrayLengthPastEndOfFile) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.arr");
  put<uint64_t>(b, kv.value_at + 4, 1ull << 61);  // * 4 bytes would overflow a naive check
  expectError(b, Code::kGgufArrayTooLong, kv.value_at + 4);
}

TEST(GgufCorrupt, ArrayLongerThanLimit) {
  const auto b = baseFile();
  ReadLimits limits;
  limits.max_array_elements = 2;
  expectError(b, Code::kGgufArrayTooLong, kvAt(b, "key.arr").value_at + 4, limits);
}

TEST(GgufCorrupt, StringValuePastEndOfFile) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.text");
  put<uint64_t>(b, kv.value_at, b.size());
  expectError(b, Code::kGgufStringTooLong, kv.value_at);
}

TEST(GgufCorrupt, BoolNeitherZeroNorOne) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "key.bool");
  b[kv.value_at] = 2;
  expectError(b, Code::kCorruptData, kv.value_at);
}

TEST(GgufCorrupt, NestingTooDeep) {
  // The base file nests two levels; a limit of one refuses the inner array.
  const auto b = baseFile();
  ReadLimits limits;
  limits.max_array_depth = 1;
  const Kv kv = kvAt(b, "key.nest");
  expectError(b, Code::kGgufNestingTooDeep, kv.value_at + 4 + 8, limits);
  // And the default limit (4) refuses five levels.
  Value v = Value::u8(1);
  for (int i = 0; i < 5; ++i) v = Value::array(i == 0 ? ValueType::kUint8 : ValueType::kArray, {v});
  GgufWriter w;
  w.set("deep", v);
  auto deep = w.toBytes();
  ASSERT_TRUE(deep.isOk());
  auto f = GgufFile::parse(*deep);
  ASSERT_FALSE(f.isOk());
  EXPECT_EQ(f.status().code(), Code::kGgufNestingTooDeep) << f.status().toString();
}

TEST(GgufCorrupt, AlignmentNotPowerOfTwo) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "general.alignment");
  put<uint32_t>(b, kv.value_at, 24);
  expectError(b, Code::kGgufBadAlignment, kv.key_len_at);
}

TEST(GgufCorrupt, AlignmentZero) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "general.alignment");
  put<uint32_t>(b, kv.value_at, 0);
  expectError(b, Code::kGgufBadAlignment, kv.key_len_at);
}

TEST(GgufCorrupt, AlignmentWrongType) {
  auto b = baseFile();
  const Kv kv = kvAt(b, "general.alignment");
  put<uint32_t>(b, kv.type_at, static_cast<uint32_t>(ValueType::kInt32));
  expectError(b, Code::kGgufBadAlignment, kv.key_len_at);
}

TEST(GgufCorrupt, EmptyTensorName) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.one_");
  // Length 0, then the 11 name bytes are read as n_dims etc.: reading must stop at the name.
  put<uint64_t>(b, t.name_len_at, 0);
  expectError(b, Code::kGgufEmptyName, t.name_len_at);
}

TEST(GgufCorrupt, DuplicateTensorName) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.two_");
  std::memcpy(b.data() + t.name_len_at + 8, "tensor.one_", 11);
  expectError(b, Code::kGgufDuplicateTensor, t.name_len_at);
}

TEST(GgufCorrupt, TooManyDims) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.zero");
  put<uint32_t>(b, t.n_dims_at, 5);
  expectError(b, Code::kGgufTooManyDims, t.n_dims_at);
}

TEST(GgufCorrupt, ZeroDims) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.zero");
  put<uint32_t>(b, t.n_dims_at, 0);
  expectError(b, Code::kGgufBadDimension, t.n_dims_at);
}

TEST(GgufCorrupt, ZeroDimension) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.zero");
  put<uint64_t>(b, t.ne_at + 8, 0);
  expectError(b, Code::kGgufBadDimension, t.ne_at + 8);
}

TEST(GgufCorrupt, NegativeDimension) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.zero");
  put<int64_t>(b, t.ne_at, -4);
  expectError(b, Code::kGgufBadDimension, t.ne_at);
}

TEST(GgufCorrupt, ElementCountOverflows) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.zero");
  put<uint64_t>(b, t.ne_at, 1ull << 62);
  put<uint64_t>(b, t.ne_at + 8, 8);
  expectError(b, Code::kGgufBadDimension, t.ne_at + 8);
}

TEST(GgufCorrupt, UnknownTensorType) {
  for (uint32_t id : {4u, 31u, 36u, 42u, 0xFFFFFFFFu}) {
    SCOPED_TRACE(id);
    auto b = baseFile();
    const Ti t = tensorAt(b, "tensor.zero");
    put<uint32_t>(b, t.type_at, id);
    expectError(b, Code::kGgufBadTensorType, t.type_at);
  }
}

TEST(GgufCorrupt, RowNotMultipleOfBlock) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.one_");  // Q8_0, block of 32
  put<uint64_t>(b, t.ne_at, 48);
  expectError(b, Code::kGgufBadRowSize, t.ne_at);
}

TEST(GgufCorrupt, MisalignedTensor) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.two_");
  put<uint64_t>(b, t.offset_at, get<uint64_t>(b, t.offset_at) + 4);
  expectError(b, Code::kGgufMisalignedTensor, t.offset_at);
}

TEST(GgufCorrupt, TensorPastEndOfFile) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.two_");
  put<uint64_t>(b, t.offset_at, get<uint64_t>(b, t.offset_at) + 32);
  expectError(b, Code::kGgufTensorOutOfBounds, t.name_len_at);
}

TEST(GgufCorrupt, TensorOffsetWrapsAround) {
  auto b = baseFile();
  const Ti t = tensorAt(b, "tensor.two_");
  put<uint64_t>(b, t.offset_at, ~0ull - 31);  // aligned, and data_offset + offset overflows
  expectError(b, Code::kGgufTensorOutOfBounds, t.name_len_at);
}

TEST(GgufCorrupt, OverlappingTensors) {
  auto b = baseFile();
  const Ti one = tensorAt(b, "tensor.one_");
  const Ti two = tensorAt(b, "tensor.two_");
  put<uint64_t>(b, two.offset_at, get<uint64_t>(b, one.offset_at));
  auto f = GgufFile::parse(b);
  ASSERT_FALSE(f.isOk());
  EXPECT_EQ(f.status().code(), Code::kGgufOverlappingTensors) << f.status().toString();
  ASSERT_TRUE(f.status().offset());
  EXPECT_TRUE(*f.status().offset() == one.name_len_at || *f.status().offset() == two.name_len_at) << f.status().toString();
}

TEST(GgufCorrupt, TooManyTensorsForLimit) {
  const auto b = baseFile();
  ReadLimits limits;
  limits.max_tensors = 2;
  expectError(b, Code::kGgufTooManyTensors, 8, limits);
}

TEST(GgufCorrupt, StringLongerThanLimit) {
  const auto b = baseFile();
  ReadLimits limits;
  limits.max_string_bytes = 4;
  // The first key, general.architecture (20 bytes), starts right after the 24-byte header.
  expectError(b, Code::kGgufStringTooLong, 24, limits);
}

TEST(GgufCorrupt, EmptyInput) {
  auto f = GgufFile::parse({});
  ASSERT_FALSE(f.isOk());
  EXPECT_EQ(f.status().code(), Code::kGgufTruncated);
}

// Random byte flips never crash; whatever parses must have self-consistent tensor bounds.
TEST(GgufCorrupt, RandomByteFlipsAreHandled) {
  const auto base = baseFile();
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
  };
  for (int iter = 0; iter < 5000; ++iter) {
    auto b = base;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < flips; ++k) b[next() % b.size()] = static_cast<uint8_t>(next());
    auto f = GgufFile::parse(b);
    if (!f.isOk()) {
      EXPECT_TRUE(f.status().offset().has_value()) << "seed 12345 iter " << iter << ": " << f.status().toString();
      continue;
    }
    for (const TensorInfo& t : f->tensors())
      EXPECT_LE(f->dataOffset() + t.offset + t.n_bytes, b.size()) << "seed 12345 iter " << iter;
  }
}

}  // namespace
}  // namespace tokenfab::gguf
