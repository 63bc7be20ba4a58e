// GGUF v2/v3 reading (mmap, validated, no copies of tensor data) and writing.
// Format facts follow the GGUF spec (ggml/docs/gguf.md) and ggml's type table.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::gguf {

// Metadata value types, ids as in the GGUF spec.
enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
std::string_view valueTypeName(ValueType type);

// ggml tensor types, ids as in ggml.h (gaps are ids ggml removed).
enum class TensorType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
  kNVFP4 = 40, kQ1_0 = 41,
};

// tokenfab's GPU layout of a type (core/ops/weight_pack.cpp writes it, shaders/include/tokenfab/
// dequant.glsl reads it): per unit of 32 elements q_bits * 4 bytes of low quant bits and h_bits * 4
// bytes of high bits, then per s_block elements a scale record of s_bytes. q_bits == 0: float
// rows, stored as in the file.
struct GpuPlanes {
  uint32_t q_bits = 0, h_bits = 0, s_block = 0, s_bytes = 0;
};

// One ggml type: its layout (ggml's type_traits: `block_size` elements stored in `type_size`
// bytes) and what tokenfab decodes. This is the engine's one type table (gguf_value.cpp): the
// support check, the CPU reference, the GPU recorders and weight layout, bench-matmul and the
// tests read it; nothing else lists types.
struct TypeTraits {
  TensorType type;
  std::string_view name;  // "Q4_K", as ggml prints it
  uint32_t block_size;
  uint32_t type_size;
  bool cpu_decode = false;  // core/ref dequantizes it (bit-exact with ggml's to_float)
  bool gpu_decode = false;  // the shaders decode it (variants <op>_<suffix> in shaders/lists/matmul.cmake)
  std::string_view suffix = {};  // shader variant suffix: "q4_k"
  GpuPlanes planes = {};          // the GPU layout, when gpu_decode
};
// nullptr for an id ggml does not define (or has removed).
const TypeTraits* typeTraits(uint32_t type_id);
// Every type ggml defines, in id order.
std::span<const TypeTraits> typeTable();
inline const TypeTraits* typeTraits(TensorType t) { return typeTraits(static_cast<uint32_t>(t)); }
std::string_view typeName(TensorType t);  // "?" for unknown

// A metadata value. Arrays may nest (array of arrays).
class Value {
 public:
  struct Array {
    ValueType element_type = ValueType::kUint8;
    std::vector<Value> items;
  };

  Value() = default;
  static Value u8(uint8_t v), i8(int8_t v), u16(uint16_t v), i16(int16_t v), u32(uint32_t v),
      i32(int32_t v), u64(uint64_t v), i64(int64_t v), f32(float v), f64(double v), boolean(bool v);
  static Value string(std::string v);
  static Value array(ValueType element_type, std::vector<Value> items);

  ValueType type() const { return m_type; }
  bool isInteger() const;  // any of the 8 integer types
  bool isFloat() const;    // f32 or f64
  // Conversions; return an error if the type does not fit (e.g. negative into unsigned).
  Result<uint64_t> toUint() const;
  Result<int64_t> toInt() const;
  Result<double> toDouble() const;  // floats and integers
  Result<bool> toBool() const;
  const std::string* asString() const;  // nullptr if not a string
  const Array* asArray() const;         // nullptr if not an array
  // Short human rendering ("[151936 strings]" for long arrays), for `info`.
  std::string describe(size_t max_items = 8) const;

  bool operator==(const Value& other) const;

 private:
  ValueType m_type = ValueType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<const Array>> m_data;
};

struct KeyValue {
  std::string key;
  Value value;
  uint64_t file_offset = 0;  // where the key starts in the file
};

struct TensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne = {1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
  TensorType type = TensorType::kF32;
  uint64_t offset = 0;      // relative to the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t info_offset = 0;  // where this tensor's info starts in the file
};

// Bounds that protect the process from hostile files (all checked before allocating).
struct ReadLimits {
  uint64_t max_string_bytes = 1ull << 30;
  uint32_t max_array_depth = 4;
  uint64_t max_tensors = 1ull << 20;
  uint64_t max_kv = 1ull << 20;
  uint64_t max_array_elements = 1ull << 24;  // per array; a parsed element costs ~50 bytes of RAM
  // Per file, over all metadata: array elements parsed, and the memory the parse materialises
  // (sizeof(Value) per element, the bytes of every string, each key/value and tensor info).
  // Without them twelve arrays of 16 M one-byte elements (a 192 MB file) took ~9 GB to open.
  // The largest real tokenizers are far below: Gemma 3 (262,144 tokens + scores + types) is
  // ~0.8 M elements and ~45 MB, Llama 3 (128,256 tokens + 280,147 merges + types) ~0.54 M and
  // ~30 MB, Qwen2.5 (151,936 tokens + 151,387 merges + types) ~0.46 M.
  uint64_t max_metadata_elements = 1ull << 22;  // 4,194,304
  uint64_t max_metadata_bytes = 256ull << 20;    // 256 MiB
};

class GgufFile {
 public:
  // Maps the file read-only and validates everything but the tensor bytes themselves.
  static Result<GgufFile> open(const std::filesystem::path& path, const ReadLimits& limits = {});
  // Parses an in-memory image (tests, fuzzing). The bytes are copied and owned by the result.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes, const ReadLimits& limits = {});

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  uint32_t version() const;
  uint64_t alignment() const;   // general.alignment or 32
  uint64_t dataOffset() const;  // start of the tensor data section in the file
  uint64_t fileSize() const;
  const std::filesystem::path& path() const;  // empty for parse()

  const std::vector<KeyValue>& metadata() const;
  const Value* find(std::string_view key) const;
  // Typed look-ups: kNotFound when absent, kGgufWrongValueType when the type does not fit.
  Result<std::string> getString(std::string_view key) const;
  Result<uint64_t> getUint(std::string_view key) const;
  Result<int64_t> getInt(std::string_view key) const;
  Result<double> getFloat(std::string_view key) const;
  Result<bool> getBool(std::string_view key) const;
  const Value::Array* getArray(std::string_view key) const;  // nullptr if absent / not an array

  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* tensor(std::string_view name) const;
  // The tensor's bytes inside the mapping: valid while this GgufFile lives.
  std::span<const uint8_t> tensorData(const TensorInfo& info) const;

 private:
  struct Impl;
  explicit GgufFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Builds GGUF files: any metadata, any tensors. Used by tests (tiny and corrupt files), tools
// (synth, demo model export) and quantization.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3);
  void setAlignment(uint64_t alignment);  // also writes general.alignment when != 32
  void set(std::string key, Value value);  // appends (keeps insertion order), or replaces
  // `data` must hold exactly the bytes for `ne` elements of `type`.
  Status addTensor(std::string name, TensorType type, std::vector<uint64_t> ne, std::vector<uint8_t> data);
  Result<std::vector<uint8_t>> toBytes() const;
  // Written to a temporary file in the same folder, then renamed: never a half file.
  Status writeFile(const std::filesystem::path& path) const;

 private:
  struct Pending {
    std::string name;
    TensorType type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> data;
  };
  uint32_t m_version;
  uint64_t m_alignment = 32;
  std::vector<std::pair<std::string, Value>> m_kv;
  std::vector<Pending> m_tensors;
};

// Writes a GGUF file whose tensor bytes are produced one tensor at a time, in order, so a model
// larger than RAM can be written (synth). For the same keys, tensors and bytes the file equals
// GgufWriter::toBytes(). Written to a temporary file in the same folder, renamed at the end:
// a failed write (fill error, short tensor, disk full) leaves no file at the destination.
class GgufStreamWriter {
 public:
  // Receives one tensor's bytes in pieces; the pieces must add up to exactly its size.
  class Sink {
   public:
    virtual Status write(std::span<const uint8_t> bytes) = 0;
    // `n` zero bytes; the file is left sparse there (a hole) instead of writing them.
    virtual Status writeZeros(uint64_t n) = 0;

   protected:
    ~Sink() = default;
  };
  // Called once per tensor, in the order they were added.
  using FillFn = std::function<Status(size_t index, Sink& sink)>;

  explicit GgufStreamWriter(uint32_t version = 3);
  void setAlignment(uint64_t alignment);   // as GgufWriter::setAlignment
  void set(std::string key, Value value);  // as GgufWriter::set
  // Checks as GgufWriter::addTensor does, without the data.
  Status addTensor(std::string name, TensorType type, std::vector<uint64_t> ne);
  size_t tensorCount() const { return m_tensors.size(); }
  uint64_t tensorBytes(size_t index) const { return m_tensors[index].n_bytes; }
  // Header, metadata and tensor infos, padded to the alignment (where the data section starts).
  Result<std::vector<uint8_t>> headerBytes() const;
  Result<uint64_t> fileSize() const;
  // Fails with kIoError before writing anything when the folder has less free space than the
  // file needs (the message says how much is needed).
  Status writeFile(const std::filesystem::path& path, const FillFn& fill) const;

 private:
  struct Planned {
    std::string name;
    TensorType type;
    std::vector<uint64_t> ne;
    uint64_t n_bytes;
  };
  uint32_t m_version;
  uint64_t m_alignment = 32;
  std::vector<std::pair<std::string, Value>> m_kv;
  std::vector<Planned> m_tensors;
};

}  // namespace tokenfab::gguf
