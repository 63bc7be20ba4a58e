// GGUF writer: header, metadata, tensor infos, alignment padding, tensor data.
#include <cstring>

#include "tokenfab/file_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = m_out.size();
    m_out.resize(at + sizeof(T));
    std::memcpy(m_out.data() + at, &v, sizeof(T));
  }
  void putString(const std::string& s) {
    put<uint64_t>(s.size());
    m_out.insert(m_out.end(), s.begin(), s.end());
  }
  void putBytes(const std::vector<uint8_t>& b) { m_out.insert(m_out.end(), b.begin(), b.end()); }
  void padTo(uint64_t alignment) {
    const size_t rem = m_out.size() % alignment;
    if (rem != 0) m_out.resize(m_out.size() + (alignment - rem), 0);
  }
  std::vector<uint8_t> take() { return std::move(m_out); }

 private:
  std::vector<uint8_t> m_out;
};

Status putValue(ByteSink& sink, const Value& v) {
  switch (v.type()) {
    case ValueType::kUint8: sink.put<uint8_t>(static_cast<uint8_t>(*v.toUint())); return {};
    case ValueType::kUint16: sink.put<uint16_t>(static_cast<uint16_t>(*v.toUint())); return {};
    case ValueType::kUint32: sink.put<uint32_t>(static_cast<uint32_t>(*v.toUint())); return {};
    case ValueType::kUint64: sink.put<uint64_t>(*v.toUint()); return {};
    case ValueType::kInt8: sink.put<int8_t>(static_cast<int8_t>(*v.toInt())); return {};
    case ValueType::kInt16: sink.put<int16_t>(static_cast<int16_t>(*v.toInt())); return {};
    case ValueType::kInt32: sink.put<int32_t>(static_cast<int32_t>(*v.toInt())); return {};
    case ValueType::kInt64: sink.put<int64_t>(*v.toInt()); return {};
    case ValueType::kFloat32: sink.put<float>(static_cast<float>(*v.toDouble())); return {};
    case ValueType::kFloat64: sink.put<double>(*v.toDouble()); return {};
    case ValueType::kBool: sink.put<uint8_t>(*v.toBool() ? 1 : 0); return {};
    case ValueType::kString: sink.putString(*v.asString()); return {};
    case ValueType::kArray: {
      const Value::Array* arr = v.asArray();
      sink.put<uint32_t>(static_cast<uint32_t>(arr->element_type));
      sink.put<uint64_t>(arr->items.size());
      for (const Value& item : arr->items) {
        if (item.type() != arr->element_type)
          return Status(Code::kInvalidArgument, "array of " + std::string(valueTypeName(arr->element_type)) +
                                                    " holds a " + std::string(valueTypeName(item.type())));
        TF_RETURN_IF_ERROR(putValue(sink, item));
      }
      return {};
    }
  }
  return Status(Code::kInvalidArgument, "value has an unknown type");
}

}  // namespace

GgufWriter::GgufWriter(uint32_t version) : m_version(version) {}

void GgufWriter::setAlignment(uint64_t alignment) { m_alignment = alignment; }

void GgufWriter::set(std::string key, Value value) {
  for (auto& [k, v] : m_kv) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  m_kv.emplace_back(std::move(key), std::move(value));
}

Status GgufWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> ne, std::vector<uint8_t> data) {
  if (name.empty()) return Status(Code::kInvalidArgument, "tensor name is empty");
  for (const Pending& p : m_tensors)
    if (p.name == name) return Status(Code::kAlreadyExists, "tensor '" + name + "' added twice");
  const TypeTraits* traits = typeTraits(type);
  if (traits == nullptr) return Status(Code::kInvalidArgument, "tensor '" + name + "' has an unknown type");
  if (ne.empty() || ne.size() > 4)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' must have 1 to 4 dimensions");
  uint64_t n = 1;
  for (uint64_t d : ne) {
    if (d == 0 || __builtin_mul_overflow(n, d, &n))
      return Status(Code::kInvalidArgument, "tensor '" + name + "' has a zero or overflowing dimension");
  }
  if (ne[0] % traits->block_size != 0)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' row length is not a multiple of the block size");
  const uint64_t bytes = n / traits->block_size * traits->type_size;
  if (data.size() != bytes)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' needs " + std::to_string(bytes) + " bytes, got " +
                                              std::to_string(data.size()));
  m_tensors.push_back({std::move(name), type, std::move(ne), std::move(data)});
  return Status::ok();
}

Result<std::vector<uint8_t>> GgufWriter::toBytes() const {
  if (m_version != 2 && m_version != 3)
    return Status(Code::kInvalidArgument, "can only write GGUF v2 or v3, not v" + std::to_string(m_version));
  if (m_alignment == 0 || (m_alignment & (m_alignment - 1)) != 0 || m_alignment > UINT32_MAX)
    return Status(Code::kInvalidArgument, "alignment " + std::to_string(m_alignment) + " is not a u32 power of two");
  bool has_alignment_key = false;
  for (const auto& kv : m_kv) has_alignment_key |= kv.first == "general.alignment";
  const bool add_alignment_key = m_alignment != 32 && !has_alignment_key;

  ByteSink sink;
  sink.put<uint8_t>('G');
  sink.put<uint8_t>('G');
  sink.put<uint8_t>('U');
  sink.put<uint8_t>('F');
  sink.put<uint32_t>(m_version);
  sink.put<uint64_t>(m_tensors.size());
  sink.put<uint64_t>(m_kv.size() + (add_alignment_key ? 1 : 0));
  for (const auto& [key, value] : m_kv) {
    sink.putString(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type()));
    TF_RETURN_IF_ERROR(putValue(sink, value).withContext("key '" + key + "'"));
  }
  if (add_alignment_key) {
    sink.putString("general.alignment");
    sink.put<uint32_t>(static_cast<uint32_t>(ValueType::kUint32));
    sink.put<uint32_t>(static_cast<uint32_t>(m_alignment));
  }
  uint64_t offset = 0;
  for (const Pending& t : m_tensors) {
    sink.putString(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) sink.put<uint64_t>(d);
    sink.put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.put<uint64_t>(offset);
    offset += (t.data.size() + m_alignment - 1) / m_alignment * m_alignment;
  }
  sink.padTo(m_alignment);
  // Every tensor is padded to the alignment, the last one too (as ggml writes it).
  for (const Pending& t : m_tensors) {
    sink.putBytes(t.data);
    sink.padTo(m_alignment);
  }
  return sink.take();
}

Status GgufWriter::writeFile(const std::filesystem::path& path) const {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, toBytes());
  return writeFileAtomic(path, std::span<const uint8_t>(bytes));
}

}  // namespace tokenfab::gguf
