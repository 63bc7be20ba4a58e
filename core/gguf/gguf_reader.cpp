// GGUF reader: parses and validates the header, metadata and tensor infos of a GGUF v2/v3 file.
// The input is hostile: every read is bounds-checked and every count is checked against the bytes
// left before anything is allocated. Tensor bytes are never copied (open() maps the file).
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include "tokenfab/file_util.h"
#include "tokenfab/gguf.h"
#include "tokenfab/json_text.h"

namespace tokenfab::gguf {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint64_t kDefaultAlignment = 32;
// Smallest possible encodings, used to reject counts the file could not hold.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, ne[0], type, offset
constexpr uint32_t kMaxDims = 4;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Bytes of one element of a scalar value type; 0 for string/array (variable size).
uint64_t scalarSize(ValueType t) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    case ValueType::kString: case ValueType::kArray: return 0;
  }
  return 0;
}

// Smallest encoding of one array element of type t.
uint64_t minElementSize(ValueType t) {
  if (t == ValueType::kString) return 8;
  if (t == ValueType::kArray) return 4 + 8;
  return scalarSize(t);
}

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : m_bytes(bytes) {}
  uint64_t pos() const { return m_pos; }
  uint64_t left() const { return m_bytes.size() - m_pos; }

  Status need(uint64_t n, std::string_view what) const {
    if (n > left())
      return Status(Code::kGgufTruncated,
                    "file ends inside " + std::string(what) + " (" + std::to_string(n) + " bytes needed, " +
                        std::to_string(left()) + " left)",
                    m_pos);
    return Status::ok();
  }

  template <typename T>
  Status read(T& out, std::string_view what) {
    TF_RETURN_IF_ERROR(need(sizeof(T), what));
    std::memcpy(&out, m_bytes.data() + m_pos, sizeof(T));  // GGUF is little-endian, so is the host
    m_pos += sizeof(T);
    return Status::ok();
  }

  Status readString(std::string& out, uint64_t max_bytes, std::string_view what) {
    const uint64_t at = m_pos;
    uint64_t len = 0;
    TF_RETURN_IF_ERROR(read(len, what));
    if (len > left())
      return Status(Code::kGgufStringTooLong,
                    std::string(what) + " length " + std::to_string(len) + " exceeds the " + std::to_string(left()) +
                        " bytes left in the file",
                    at);
    if (len > max_bytes)
      return Status(Code::kGgufStringTooLong,
                    std::string(what) + " length " + std::to_string(len) + " exceeds the limit of " +
                        std::to_string(max_bytes) + " bytes",
                    at);
    out.assign(reinterpret_cast<const char*>(m_bytes.data() + m_pos), len);
    m_pos += len;
    return Status::ok();
  }

 private:
  std::span<const uint8_t> m_bytes;
  uint64_t m_pos = 0;
};

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const ReadLimits& limits) : m_cur(bytes), m_limits(limits) {}

  // Charges what the parse is about to materialise against the per-file budget, before it is
  // allocated. `at` is the file offset to report.
  Status charge(uint64_t elements, uint64_t bytes, uint64_t at) {
    if (elements > m_limits.max_metadata_elements - m_elements)
      return Status(Code::kGgufMetadataTooLarge,
                    "metadata budget exceeded: " + std::to_string(elements) + " more array elements would bring the file to " +
                        std::to_string(m_elements + elements) + ", over the budget of " +
                        std::to_string(m_limits.max_metadata_elements) + " per file (ReadLimits::max_metadata_elements)",
                    at);
    if (bytes > m_limits.max_metadata_bytes - m_bytes)
      return Status(Code::kGgufMetadataTooLarge,
                    "metadata budget exceeded: parsing " + std::to_string(bytes) + " more bytes would bring the file's " +
                        "metadata to " + std::to_string(m_bytes + bytes) + " bytes in memory, over the budget of " +
                        std::to_string(m_limits.max_metadata_bytes) + " per file (ReadLimits::max_metadata_bytes)",
                    at);
    m_elements += elements;
    m_bytes += bytes;
    return {};
  }

  // A string (key, value, tensor name) charged to the budget.
  Status readCharged(std::string& out, std::string_view what) {
    const uint64_t at = m_cur.pos();
    TF_RETURN_IF_ERROR(m_cur.readString(out, m_limits.max_string_bytes, what));
    return charge(0, out.size(), at);
  }

  Status readValue(ValueType type, uint32_t depth, Value& out) {
    switch (type) {
      case ValueType::kUint8: { uint8_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "a u8 value")); out = Value::u8(v); return {}; }
      case ValueType::kInt8: { int8_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "an i8 value")); out = Value::i8(v); return {}; }
      case ValueType::kUint16: { uint16_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "a u16 value")); out = Value::u16(v); return {}; }
      case ValueType::kInt16: { int16_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "an i16 value")); out = Value::i16(v); return {}; }
      case ValueType::kUint32: { uint32_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "a u32 value")); out = Value::u32(v); return {}; }
      case ValueType::kInt32: { int32_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "an i32 value")); out = Value::i32(v); return {}; }
      case ValueType::kUint64: { uint64_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "a u64 value")); out = Value::u64(v); return {}; }
      case ValueType::kInt64: { int64_t v; TF_RETURN_IF_ERROR(m_cur.read(v, "an i64 value")); out = Value::i64(v); return {}; }
      case ValueType::kFloat32: { float v; TF_RETURN_IF_ERROR(m_cur.read(v, "an f32 value")); out = Value::f32(v); return {}; }
      case ValueType::kFloat64: { double v; TF_RETURN_IF_ERROR(m_cur.read(v, "an f64 value")); out = Value::f64(v); return {}; }
      case ValueType::kBool: {
        const uint64_t at = m_cur.pos();
        uint8_t v;
        TF_RETURN_IF_ERROR(m_cur.read(v, "a bool value"));
        if (v > 1) return Status(Code::kCorruptData, "bool value " + std::to_string(v) + " is neither 0 nor 1", at);
        out = Value::boolean(v != 0);
        return {};
      }
      case ValueType::kString: {
        std::string s;
        TF_RETURN_IF_ERROR(readCharged(s, "a string value"));
        out = Value::string(std::move(s));
        return {};
      }
      case ValueType::kArray: return readArray(depth + 1, out);
    }
    return Status(Code::kInternal, "unhandled value type");
  }

  Status readValueType(ValueType& out, std::string_view what) {
    const uint64_t at = m_cur.pos();
    uint32_t raw = 0;
    TF_RETURN_IF_ERROR(m_cur.read(raw, what));
    if (raw > static_cast<uint32_t>(ValueType::kFloat64))
      return Status(Code::kGgufBadValueType, std::string(what) + " " + std::to_string(raw) + " is not a GGUF value type", at);
    out = static_cast<ValueType>(raw);
    return {};
  }

  Status readArray(uint32_t depth, Value& out) {
    const uint64_t at = m_cur.pos();
    if (depth > m_limits.max_array_depth)
      return Status(Code::kGgufNestingTooDeep,
                    "arrays nested deeper than " + std::to_string(m_limits.max_array_depth) + " levels", at);
    ValueType elem = ValueType::kUint8;
    TF_RETURN_IF_ERROR(readValueType(elem, "array element type"));
    const uint64_t count_at = m_cur.pos();
    uint64_t count = 0;
    TF_RETURN_IF_ERROR(m_cur.read(count, "an array length"));
    if (count > m_cur.left() / minElementSize(elem))
      return Status(Code::kGgufArrayTooLong,
                    "array of " + std::to_string(count) + " " + std::string(valueTypeName(elem)) +
                        " elements cannot fit in the " + std::to_string(m_cur.left()) + " bytes left",
                    count_at);
    if (count > m_limits.max_array_elements)
      return Status(Code::kGgufArrayTooLong,
                    "array of " + std::to_string(count) + " elements exceeds the limit of " +
                        std::to_string(m_limits.max_array_elements),
                    count_at);
    TF_RETURN_IF_ERROR(charge(count, count * sizeof(Value), count_at));  // count <= file size: no overflow
    std::vector<Value> items(count);
    for (uint64_t k = 0; k < count; ++k) TF_RETURN_IF_ERROR(readValue(elem, depth, items[k]));
    out = Value::array(elem, std::move(items));
    return {};
  }

  Cursor m_cur;
  const ReadLimits& m_limits;
  uint64_t m_elements = 0;  // array elements parsed so far (whole file)
  uint64_t m_bytes = 0;     // memory materialised so far (whole file)
};

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

struct GgufFile::Impl {
  MappedFile mapping;
  std::vector<uint8_t> owned;
  std::span<const uint8_t> bytes;
  std::filesystem::path path;
  uint32_t version = 0;
  uint64_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;
  std::vector<KeyValue> kv;
  std::map<std::string, size_t, std::less<>> kv_index;
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t, std::less<>> tensor_index;

  Status parse(const ReadLimits& limits);
};

Status GgufFile::Impl::parse(const ReadLimits& limits) {
  Parser p(bytes, limits);
  Cursor& cur = p.m_cur;

  // Header: magic, version, tensor count, kv count.
  TF_RETURN_IF_ERROR(cur.need(4, "the magic"));
  if (std::memcmp(bytes.data(), kMagic, 4) != 0)
    return Status(Code::kGgufBadMagic, "not a GGUF file (the first four bytes are not \"GGUF\")", 0);
  uint8_t magic[4];
  TF_RETURN_IF_ERROR(cur.read(magic, "the magic"));
  TF_RETURN_IF_ERROR(cur.read(version, "the version"));
  if ((version & 0xFFFFu) == 0 && __builtin_bswap32(version) >= 1 && __builtin_bswap32(version) <= 3)
    return Status(Code::kGgufBigEndian,
                  "big-endian GGUF (version reads as " + hex32(version) + ") is not supported", 4);
  if (version == 1)
    return Status(Code::kGgufUnsupportedVersion, "GGUF v1 is not supported (only v2 and v3 are); re-convert the model", 4);
  if (version != 2 && version != 3)
    return Status(Code::kGgufUnsupportedVersion, "GGUF version " + std::to_string(version) + " is not supported (only v2 and v3 are)", 4);

  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  TF_RETURN_IF_ERROR(cur.read(n_tensors, "the tensor count"));
  TF_RETURN_IF_ERROR(cur.read(n_kv, "the key/value count"));
  if (n_tensors > limits.max_tensors || n_tensors > cur.left() / kMinTensorInfoBytes)
    return Status(Code::kGgufTooManyTensors,
                  "tensor count " + std::to_string(n_tensors) + " is more than the file could hold", 8);
  if (n_kv > limits.max_kv || n_kv > cur.left() / kMinKvBytes)
    return Status(Code::kGgufTooManyKeys,
                  "key/value count " + std::to_string(n_kv) + " is more than the file could hold", 16);

  // Metadata. Counts were checked against the bytes left; the entries (and their index) are
  // charged to the memory budget before they are allocated.
  TF_RETURN_IF_ERROR(p.charge(0, n_kv * sizeof(KeyValue), 16));
  TF_RETURN_IF_ERROR(p.charge(0, n_tensors * sizeof(TensorInfo), 8));
  kv.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    KeyValue entry;
    entry.file_offset = cur.pos();
    TF_RETURN_IF_ERROR(p.readCharged(entry.key, "a key"));
    if (entry.key.empty()) return Status(Code::kGgufBadKey, "empty key", entry.file_offset);
    if (!isValidUtf8(entry.key)) return Status(Code::kGgufBadKey, "key is not valid UTF-8", entry.file_offset);
    if (kv_index.count(entry.key) != 0)
      return Status(Code::kGgufDuplicateKey, "duplicate key '" + entry.key + "'", entry.file_offset);
    ValueType type = ValueType::kUint8;
    TF_RETURN_IF_ERROR(p.readValueType(type, "value type of '" + entry.key + "'"));
    TF_RETURN_IF_ERROR(p.readValue(type, 0, entry.value));
    kv_index.emplace(entry.key, kv.size());
    kv.push_back(std::move(entry));
  }

  if (auto it = kv_index.find("general.alignment"); it != kv_index.end()) {
    const KeyValue& a = kv[it->second];
    if (a.value.type() != ValueType::kUint32)
      return Status(Code::kGgufBadAlignment,
                    "general.alignment must be a u32, not " + std::string(valueTypeName(a.value.type())), a.file_offset);
    const uint64_t v = *a.value.toUint();
    if (v == 0 || (v & (v - 1)) != 0)
      return Status(Code::kGgufBadAlignment, "general.alignment " + std::to_string(v) + " is not a power of two",
                    a.file_offset);
    alignment = v;
  }

  // Tensor infos.
  tensors.reserve(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    TensorInfo info;
    info.info_offset = cur.pos();
    TF_RETURN_IF_ERROR(p.readCharged(info.name, "a tensor name"));
    if (info.name.empty()) return Status(Code::kGgufEmptyName, "tensor " + std::to_string(t) + " has an empty name", info.info_offset);
    if (tensor_index.count(info.name) != 0)
      return Status(Code::kGgufDuplicateTensor, "duplicate tensor '" + info.name + "'", info.info_offset);
    const uint64_t dims_at = cur.pos();
    TF_RETURN_IF_ERROR(cur.read(info.n_dims, "a tensor's dimension count"));
    if (info.n_dims > kMaxDims)
      return Status(Code::kGgufTooManyDims,
                    "tensor '" + info.name + "' has " + std::to_string(info.n_dims) + " dimensions (at most 4)", dims_at);
    if (info.n_dims == 0)
      return Status(Code::kGgufBadDimension, "tensor '" + info.name + "' has no dimensions", dims_at);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < info.n_dims; ++d) {
      const uint64_t ne_at = cur.pos();
      TF_RETURN_IF_ERROR(cur.read(info.ne[d], "a tensor dimension"));
      if (info.ne[d] == 0 || info.ne[d] > static_cast<uint64_t>(INT64_MAX))
        return Status(Code::kGgufBadDimension,
                      "tensor '" + info.name + "' dimension " + std::to_string(d) + " is " +
                          std::to_string(static_cast<int64_t>(info.ne[d])),
                      ne_at);
      if (__builtin_mul_overflow(n_elements, info.ne[d], &n_elements) || n_elements > static_cast<uint64_t>(INT64_MAX))
        return Status(Code::kGgufBadDimension, "tensor '" + info.name + "' element count overflows", ne_at);
    }
    info.n_elements = n_elements;
    const uint64_t type_at = cur.pos();
    uint32_t type_id = 0;
    TF_RETURN_IF_ERROR(cur.read(type_id, "a tensor type"));
    const TypeTraits* traits = typeTraits(type_id);
    if (traits == nullptr)
      return Status(Code::kGgufBadTensorType,
                    "tensor '" + info.name + "' has type id " + std::to_string(type_id) + ", unknown to ggml", type_at);
    info.type = traits->type;
    if (info.ne[0] % traits->block_size != 0)
      return Status(Code::kGgufBadRowSize,
                    "tensor '" + info.name + "' row length " + std::to_string(info.ne[0]) + " is not a multiple of " +
                        std::string(traits->name) + "'s block size " + std::to_string(traits->block_size),
                    dims_at + 4);
    if (__builtin_mul_overflow(n_elements / traits->block_size, uint64_t{traits->type_size}, &info.n_bytes))
      return Status(Code::kGgufBadDimension, "tensor '" + info.name + "' byte size overflows", dims_at);
    const uint64_t offset_at = cur.pos();
    TF_RETURN_IF_ERROR(cur.read(info.offset, "a tensor data offset"));
    if (info.offset % alignment != 0)
      return Status(Code::kGgufMisalignedTensor,
                    "tensor '" + info.name + "' offset " + std::to_string(info.offset) + " is not a multiple of the alignment " +
                        std::to_string(alignment),
                    offset_at);
    tensor_index.emplace(info.name, tensors.size());
    tensors.push_back(std::move(info));
  }

  // Data section: starts at the next multiple of the alignment.
  data_offset = alignUp(cur.pos(), alignment);
  const uint64_t file_size = bytes.size();
  for (const TensorInfo& info : tensors) {
    uint64_t end = 0;
    if (__builtin_add_overflow(data_offset, info.offset, &end) || __builtin_add_overflow(end, info.n_bytes, &end) ||
        end > file_size)
      return Status(Code::kGgufTensorOutOfBounds,
                    "tensor '" + info.name + "' data (" + std::to_string(info.n_bytes) + " bytes at data offset " +
                        std::to_string(info.offset) + ") extends past the end of the file (" + std::to_string(file_size) +
                        " bytes)",
                    info.info_offset);
  }
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& prev = tensors[order[k - 1]];
    const TensorInfo& next = tensors[order[k]];
    if (prev.offset + prev.n_bytes > next.offset)
      return Status(Code::kGgufOverlappingTensors, "tensors '" + prev.name + "' and '" + next.name + "' share bytes",
                    next.info_offset);
  }
  return Status::ok();
}

GgufFile::GgufFile(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

Result<GgufFile> GgufFile::open(const std::filesystem::path& path, const ReadLimits& limits) {
  auto impl = std::make_unique<Impl>();
  TF_ASSIGN_OR_RETURN(impl->mapping, MappedFile::open(path));
  impl->bytes = impl->mapping.bytes();
  impl->path = path;
  TF_RETURN_IF_ERROR(impl->parse(limits).withContext(path.string()));
  return GgufFile(std::move(impl));
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, const ReadLimits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->owned.assign(bytes.begin(), bytes.end());
  impl->bytes = impl->owned;
  TF_RETURN_IF_ERROR(impl->parse(limits));
  return GgufFile(std::move(impl));
}

uint32_t GgufFile::version() const { return m_impl->version; }
uint64_t GgufFile::alignment() const { return m_impl->alignment; }
uint64_t GgufFile::dataOffset() const { return m_impl->data_offset; }
uint64_t GgufFile::fileSize() const { return m_impl->bytes.size(); }
const std::filesystem::path& GgufFile::path() const { return m_impl->path; }
const std::vector<KeyValue>& GgufFile::metadata() const { return m_impl->kv; }
const std::vector<TensorInfo>& GgufFile::tensors() const { return m_impl->tensors; }

const Value* GgufFile::find(std::string_view key) const {
  auto it = m_impl->kv_index.find(key);
  return it == m_impl->kv_index.end() ? nullptr : &m_impl->kv[it->second].value;
}

namespace {
Status notFound(std::string_view key) { return Status(Code::kNotFound, "key '" + std::string(key) + "' not found"); }
}  // namespace

Result<std::string> GgufFile::getString(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return notFound(key);
  if (const std::string* s = v->asString()) return *s;
  return Status(Code::kGgufWrongValueType,
                "key '" + std::string(key) + "' holds a " + std::string(valueTypeName(v->type())) + ", not a string");
}

Result<uint64_t> GgufFile::getUint(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return notFound(key);
  auto r = v->toUint();
  if (!r) return r.status().withContext("key '" + std::string(key) + "'");
  return r;
}

Result<int64_t> GgufFile::getInt(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return notFound(key);
  auto r = v->toInt();
  if (!r) return r.status().withContext("key '" + std::string(key) + "'");
  return r;
}

Result<double> GgufFile::getFloat(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return notFound(key);
  auto r = v->toDouble();
  if (!r) return r.status().withContext("key '" + std::string(key) + "'");
  return r;
}

Result<bool> GgufFile::getBool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return notFound(key);
  auto r = v->toBool();
  if (!r) return r.status().withContext("key '" + std::string(key) + "'");
  return r;
}

const Value::Array* GgufFile::getArray(std::string_view key) const {
  const Value* v = find(key);
  return v == nullptr ? nullptr : v->asArray();
}

const TensorInfo* GgufFile::tensor(std::string_view name) const {
  auto it = m_impl->tensor_index.find(name);
  return it == m_impl->tensor_index.end() ? nullptr : &m_impl->tensors[it->second];
}

std::span<const uint8_t> GgufFile::tensorData(const TensorInfo& info) const {
  // Bounds were validated at open; the span lies inside the mapping.
  return m_impl->bytes.subspan(m_impl->data_offset + info.offset, info.n_bytes);
}

}  // namespace tokenfab::gguf
