// tokenfab's GPU weight layout (see shaders/include/tokenfab/dequant.glsl for the reader).
//
// ggml's blocks interleave scales and quants in 18-, 34-, 98-, 110-, 136-, 144- or 210-byte records, so a GPU
// reading them cannot give neighbouring invocations neighbouring aligned words. At upload each
// row is rewritten as planes:
//   [Q: units x q_bits * 4 bytes][H: units x h_bits * 4 bytes][S: scale blocks x s_bytes] (pad to 16)
// where a unit is 32 consecutive elements. Q holds each element's low quant bits, H the high
// bits of 5- and 6-bit types (and Q3_K's hmask bit, IQ3_S's sign bit; IQ3_XXS: the unit's scale and
// signs word), S the block's scale bytes copied unchanged (IQ3_S: with its 9th grid-index bits).
// A b-bit field of a unit is b 32-bit words; element e = 4j + a (quad j, a = 0..3) sits in word
// j % b at bit 8a + b * (j / b), so one shift and mask give a quad as four bytes. The values
// decoded are exactly ggml's: only the byte order changes, and every row starts 16-byte aligned.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ops/matmul_internal.h"
#include "tokenfab/ops_matmul.h"

namespace tokenfab::ops {

using gguf::TensorType;

namespace {

constexpr uint64_t kRowAlign = 16;
constexpr uint32_t kUnit = 32;

uint64_t roundUp(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

// Byte ranges of one ggml block copied, in order, into its S plane record.
struct ScaleCopy {
  uint32_t offset, bytes;
};

// The per-element quant codes of one ggml block (block_size elements): lo -> Q plane,
// hi -> H plane, and which bytes form the scale record.
void blockCodes(TensorType type, const uint8_t* b, uint8_t* lo, uint8_t* hi) {
  auto le32 = [](const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; };
  // The nibble layout of the 32-element legacy blocks: element j < 16 in the low nibble of qs[j],
  // element j >= 16 in the high nibble of qs[j - 16].
  auto nibbles32 = [&](const uint8_t* qs) {
    for (uint32_t j = 0; j < 32; ++j) lo[j] = j < 16 ? (qs[j] & 15) : (qs[j - 16] >> 4);
  };
  switch (type) {
    case TensorType::kQ4_0:
    case TensorType::kIQ4_NL: nibbles32(b + 2); return;
    case TensorType::kQ4_1: nibbles32(b + 4); return;
    case TensorType::kQ5_0: {
      nibbles32(b + 6);
      const uint32_t qh = le32(b + 2);
      for (uint32_t j = 0; j < 32; ++j) hi[j] = (qh >> j) & 1;
      return;
    }
    case TensorType::kQ5_1: {
      nibbles32(b + 8);
      const uint32_t qh = le32(b + 4);
      for (uint32_t j = 0; j < 32; ++j) hi[j] = (qh >> j) & 1;
      return;
    }
    case TensorType::kQ8_0: std::memcpy(lo, b + 2, 32); return;
    case TensorType::kQ2_K:  // {scales[16], qs[64], d, dmin}
      for (uint32_t j = 0; j < 256; ++j) lo[j] = (b[16 + 32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3;
      return;
    case TensorType::kQ3_K:  // {hmask[32], qs[64], scales[12], d}
      for (uint32_t j = 0; j < 256; ++j) {
        lo[j] = (b[32 + 32 * (j / 128) + j % 32] >> (2 * ((j / 32) % 4))) & 3;
        hi[j] = (b[j % 32] >> (4 * (j / 128) + (j / 32) % 4)) & 1;
      }
      return;
    case TensorType::kQ4_K:  // {d, dmin, scales[12], qs[128]}
    case TensorType::kQ5_K:  // {d, dmin, scales[12], qh[32], qs[128]}
    {
      const uint8_t* qs = b + (type == TensorType::kQ4_K ? 16 : 48);
      for (uint32_t j = 0; j < 256; ++j) {
        const uint32_t s = j / 32;
        const uint8_t q = qs[32 * (s / 2) + j % 32];
        lo[j] = s % 2 == 0 ? (q & 15) : (q >> 4);
        if (type == TensorType::kQ5_K) hi[j] = (b[16 + j % 32] >> s) & 1;
      }
      return;
    }
    case TensorType::kIQ4_XS:  // {d, scales_h, scales_l[4], qs[128]}: 8 IQ4_NL-style nibble runs of 32
      for (uint32_t j = 0; j < 256; ++j) {
        const uint8_t* qs = b + 8 + 16 * (j / 32);
        lo[j] = j % 32 < 16 ? (qs[j % 32] & 15) : (qs[j % 32 - 16] >> 4);
      }
      return;
    case TensorType::kIQ3_S:  // {d, qs[64], qh[8], signs[32], scales[4]}
      // Q: the low 8 bits of quad g's grid index qs[g] spread over its 4 elements, 2 bits each
      // (element a of the quad holds bits 2a, 2a + 1), so a quad's byte lanes reassemble it; H: each
      // element's sign bit. The 9th index bits (qh) go into the scale record.
      for (uint32_t j = 0; j < 256; ++j) {
        lo[j] = (b[2 + j / 4] >> (2 * (j % 4))) & 3;
        hi[j] = (b[74 + j / 8] >> (j % 8)) & 1;
      }
      return;
    case TensorType::kIQ3_XXS:  // {d, qs[64], scales_and_signs[8] (u32)}
      // Q: the 8-bit grid index of quad g spread over its 4 elements as for IQ3_S; H: the unit's
      // scale-and-signs word unchanged (putField puts element 4g + a's bit at 8a + g).
      for (uint32_t j = 0; j < 256; ++j) {
        const uint32_t e = j % 32;
        lo[j] = (b[2 + j / 4] >> (2 * (j % 4))) & 3;
        hi[j] = (le32(b + 66 + 4 * (j / 32)) >> (8 * (e % 4) + e / 4)) & 1;
      }
      return;
    case TensorType::kQ6_K:  // {ql[128], qh[64], scales[16], d}
      for (uint32_t j = 0; j < 256; ++j) {
        const uint32_t h = j / 128, c = (j % 128) / 32, l = j % 32;
        const uint8_t q = b[64 * h + l + 32 * (c & 1)];
        lo[j] = c < 2 ? (q & 15) : (q >> 4);
        hi[j] = (b[128 + 32 * h + l] >> (2 * c)) & 3;
      }
      return;
    default: return;
  }
}

std::vector<ScaleCopy> scaleCopies(TensorType type) {
  switch (type) {
    case TensorType::kQ4_0: case TensorType::kQ5_0: case TensorType::kQ8_0: case TensorType::kIQ4_NL:
    case TensorType::kIQ3_XXS:
      return {{0, 2}};
    case TensorType::kQ4_1: case TensorType::kQ5_1: return {{0, 4}};
    case TensorType::kQ2_K: return {{0, 16}, {80, 4}};     // scales[16], d, dmin
    case TensorType::kQ3_K: return {{96, 14}};             // scales[12], d
    case TensorType::kQ4_K: case TensorType::kQ5_K: return {{0, 16}};  // d, dmin, scales[12]
    case TensorType::kQ6_K: return {{192, 18}};            // scales[16], d
    case TensorType::kIQ4_XS: return {{0, 8}};             // d, scales_h, scales_l[4]
    case TensorType::kIQ3_S: return {{0, 2}, {106, 4}, {66, 8}};  // d, scales[4], qh[8]
    default: return {};
  }
}

// Writes the b-bit codes of one unit (32 elements) as b words at `out`.
void putField(uint8_t* out, uint32_t bits, const uint8_t* codes) {
  uint32_t words[8] = {};
  for (uint32_t e = 0; e < kUnit; ++e) {
    const uint32_t j = e / 4, a = e % 4;
    words[j % bits] |= uint32_t(codes[e]) << (8 * a + bits * (j / bits));
  }
  for (uint32_t w = 0; w < bits; ++w)
    for (uint32_t i = 0; i < 4; ++i) out[4 * w + i] = static_cast<uint8_t>(words[w] >> (8 * i));
}

}  // namespace

uint64_t gpuRowBytes(TensorType type, uint64_t cols) {
  const uint64_t bytes = quantRowBytes(type, cols);
  return bytes == 0 ? 0 : roundUp(bytes, kRowAlign);
}

uint64_t gpuMatrixBytes(TensorType type, uint64_t rows, uint64_t cols) { return rows * gpuRowBytes(type, cols); }

Status packRows(TensorType type, uint64_t cols, std::span<const uint8_t> ggml, std::span<uint8_t> gpu) {
  const detail::TypeInfo* info = detail::typeInfo(type);
  const uint64_t src_row = quantRowBytes(type, cols), dst_row = gpuRowBytes(type, cols);
  if (info == nullptr || src_row == 0)
    return Status(Code::kInvalidArgument, "packRows: type " + std::string(gguf::typeName(type)) + " with " +
                                              std::to_string(cols) + " columns has no GPU layout");
  if (ggml.size() % src_row != 0 || gpu.size() != ggml.size() / src_row * dst_row)
    return Status(Code::kInvalidArgument, "packRows: " + std::to_string(ggml.size()) + " bytes are not whole rows of " +
                                              std::to_string(src_row) + " or the output is not " +
                                              std::to_string(dst_row) + " bytes a row");
  const uint64_t rows = ggml.size() / src_row;
  const detail::PlaneLayout* layout = &info->planes;
  std::fill(gpu.begin(), gpu.end(), uint8_t{0});
  if (layout->q_bits == 0) {  // float rows: unchanged, padded
    for (uint64_t r = 0; r < rows; ++r) std::memcpy(&gpu[r * dst_row], &ggml[r * src_row], src_row);
    return Status::ok();
  }
  const uint64_t units = cols / kUnit, blocks = cols / info->block_size;
  const uint64_t h_off = units * layout->q_bits * 4, s_off = h_off + units * layout->h_bits * 4;
  const uint32_t units_per_block = info->block_size / kUnit;
  const std::vector<ScaleCopy> copies = scaleCopies(type);
  std::vector<uint8_t> lo(info->block_size), hi(info->block_size);
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* src = &ggml[r * src_row];
    uint8_t* dst = &gpu[r * dst_row];
    for (uint64_t blk = 0; blk < blocks; ++blk) {
      const uint8_t* b = src + blk * info->type_size;
      std::fill(hi.begin(), hi.end(), uint8_t{0});
      blockCodes(type, b, lo.data(), hi.data());
      for (uint32_t i = 0; i < units_per_block; ++i) {
        const uint64_t u = blk * units_per_block + i;
        putField(dst + u * layout->q_bits * 4, layout->q_bits, &lo[i * kUnit]);
        if (layout->h_bits) putField(dst + h_off + u * layout->h_bits * 4, layout->h_bits, &hi[i * kUnit]);
      }
      uint8_t* s = dst + s_off + blk * layout->s_bytes;
      for (const ScaleCopy& c : copies) {
        std::memcpy(s, b + c.offset, c.bytes);
        s += c.bytes;
      }
    }
  }
  return Status::ok();
}

Status uploadMatrix(vk::Device& device, const vk::BufferView& dst, TensorType type, uint64_t rows, uint64_t cols,
                    std::span<const uint8_t> ggml, const std::function<Status(uint64_t)>& progress) {
  const uint64_t src_row = quantRowBytes(type, cols), dst_row = gpuRowBytes(type, cols);
  if (src_row == 0) return Status(Code::kUnsupported, "uploadMatrix: no GPU layout for " + std::string(gguf::typeName(type)));
  if (ggml.size() < rows * src_row || dst.size < rows * dst_row)
    return Status(Code::kOutOfRange, "uploadMatrix: " + std::to_string(rows) + " rows need " + std::to_string(rows * src_row) +
                                         " source and " + std::to_string(rows * dst_row) + " device bytes");
  // Pieces of about 16 MiB of whole rows: a bounded staging copy, and progress as it goes.
  const uint64_t rows_per_piece = std::max<uint64_t>(1, (16ull << 20) / dst_row);
  std::vector<uint8_t> packed;
  for (uint64_t r = 0; r < rows; r += rows_per_piece) {
    const uint64_t n = std::min(rows_per_piece, rows - r);
    packed.resize(n * dst_row);
    TF_RETURN_IF_ERROR(packRows(type, cols, ggml.subspan(r * src_row, n * src_row), packed));
    TF_RETURN_IF_ERROR(device.upload(dst.sub(r * dst_row, n * dst_row), packed.data(), packed.size()));
    if (progress) TF_RETURN_IF_ERROR(progress(n * src_row));
  }
  return Status::ok();
}

}  // namespace tokenfab::ops
