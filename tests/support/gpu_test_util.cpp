#include "gpu_test_util.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>

namespace tokenfab::test {

namespace {
// One device per test process (creation with validation is slow on lavapipe).
struct SharedDevice {
  std::unique_ptr<vk::Device> device;
  Status status;
  SharedDevice() {
    vk::DeviceOptions opt;
    opt.validation = true;
    auto r = vk::Device::create(opt);
    if (r.isOk()) device = std::move(r).value();
    else status = r.status();
  }
};
SharedDevice& shared() {
  static SharedDevice s;
  return s;
}
}  // namespace

vk::Device& GpuTest::device() { return *shared().device; }

void GpuTest::SetUp() {
  if (!shared().device) GTEST_FAIL() << "cannot create a Vulkan device: " << shared().status.toString();
  device().clearValidationMessages();
}

void GpuTest::TearDown() {
  if (!shared().device) return;
  const auto msgs = device().validationMessages();
  for (const auto& m : msgs) ADD_FAILURE() << "validation: " << m;
  device().clearValidationMessages();
}

Result<GuardedBuffer> GuardedBuffer::create(vk::Device& device, uint64_t payload_bytes, uint64_t guard_bytes) {
  const uint64_t align = std::max<uint64_t>(device.report().min_storage_buffer_offset_alignment, 16);
  guard_bytes = (guard_bytes + align - 1) / align * align;
  const uint64_t padded = (payload_bytes + 3) / 4 * 4;
  GuardedBuffer g;
  g.m_device = &device;
  g.m_guard = guard_bytes;
  g.m_payload = payload_bytes;
  TF_ASSIGN_OR_RETURN(g.m_buffer, device.createBuffer(padded + 2 * guard_bytes));
  std::vector<uint32_t> poison((padded + 2 * guard_bytes) / 4, kPoisonBits);
  TF_RETURN_IF_ERROR(device.upload(g.m_buffer.view(), poison.data(), poison.size() * 4));
  return g;
}

::testing::AssertionResult GuardedBuffer::readBytes(std::vector<uint8_t>& out) const {
  std::vector<uint32_t> all(m_buffer.size() / 4);
  Status s = m_device->download(m_buffer.view(), all.data(), all.size() * 4);
  if (!s.isOk()) return ::testing::AssertionFailure() << "download: " << s.toString();
  const uint64_t padded = (m_payload + 3) / 4 * 4;
  const uint64_t g = m_guard / 4;
  for (uint64_t i = 0; i < all.size(); ++i) {
    const bool in_guard = i < g || i >= g + padded / 4;
    if (in_guard && all[i] != kPoisonBits)
      return ::testing::AssertionFailure() << "guard word " << i << " (" << (i < g ? "before" : "after")
                                           << " the output) was overwritten: 0x" << std::hex << all[i];
  }
  // Bytes between payload and the 4-byte padding belong to the guard too.
  const auto* bytes = reinterpret_cast<const uint8_t*>(all.data());
  for (uint64_t b = m_guard + m_payload; b < m_guard + padded; ++b) {
    const uint8_t want = reinterpret_cast<const uint8_t*>(&kPoisonBits)[b % 4];
    if (bytes[b] != want) return ::testing::AssertionFailure() << "padding byte after the output was overwritten";
  }
  out.assign(bytes + m_guard, bytes + m_guard + m_payload);
  return ::testing::AssertionSuccess();
}

vk::Buffer uploadBytes(vk::Device& device, const void* data, uint64_t bytes) {
  const uint64_t padded = std::max<uint64_t>((bytes + 3) / 4 * 4, 4);
  auto r = device.createBuffer(padded);
  if (!r.isOk()) {
    ADD_FAILURE() << "createBuffer: " << r.status().toString();
    return {};
  }
  vk::Buffer b = std::move(r).value();
  std::vector<uint8_t> tmp(padded, 0);
  if (bytes) std::memcpy(tmp.data(), data, bytes);
  Status s = device.upload(b.view(), tmp.data(), padded);
  if (!s.isOk()) ADD_FAILURE() << "upload: " << s.toString();
  return b;
}

vk::Buffer uploadMatrix(vk::Device& device, gguf::TensorType type, uint64_t rows, uint64_t cols,
                        std::span<const uint8_t> ggml) {
  auto r = device.createBuffer(std::max<uint64_t>(16, ops::gpuMatrixBytes(type, rows, cols)));
  if (!r.isOk()) {
    ADD_FAILURE() << "createBuffer: " << r.status().toString();
    return {};
  }
  vk::Buffer b = std::move(r).value();
  Status s = ops::uploadMatrix(device, b.view(), type, rows, cols, ggml);
  if (!s.isOk()) ADD_FAILURE() << "uploadMatrix: " << s.toString();
  return b;
}

::testing::AssertionResult allWritten(std::span<const float> got) {
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &got[i], 4);
    if (bits == kPoisonBits) return ::testing::AssertionFailure() << "element " << i << " was never written";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult expectClose(std::span<const float> got, std::span<const double> want, double bound,
                                       double scale) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != reference size " << want.size();
  if (auto w = allWritten(got); !w) return w;
  if (scale <= 0) {
    scale = 1.0;
    for (double w : want)
      if (std::isfinite(static_cast<float>(w))) scale = std::max(scale, std::fabs(w));
  }
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i];
    // The ideal f32 result is the reference rounded to f32: beyond FLT_MAX that is +-Inf.
    const double w = std::isfinite(want[i]) && std::isinf(static_cast<float>(want[i]))
                         ? static_cast<double>(static_cast<float>(want[i]))
                         : want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g))
        return ::testing::AssertionFailure() << "NaN disagreement at " << i << ": got " << g << ", want " << w;
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) return ::testing::AssertionFailure() << "Inf disagreement at " << i << ": got " << g << ", want " << w;
      continue;
    }
    const double e = std::fabs(g - w) / scale;
    if (e > worst) worst = e, worst_i = i;
  }
  if (worst > bound)
    return ::testing::AssertionFailure() << "normalised error " << worst << " > bound " << bound << " at " << worst_i
                                         << ": got " << got[worst_i] << ", want " << want[worst_i] << " (scale " << scale
                                         << ", n " << got.size() << ")";
  return ::testing::AssertionSuccess() << "max normalised error " << worst;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xFF);
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? 0x200u : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: correct
  return static_cast<uint16_t>(sign | h);
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FFu;
  double v;
  if (exp == 0) v = std::ldexp(static_cast<double>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<double>(mant | 0x400u), static_cast<int>(exp) - 25);
  float f = static_cast<float>(v);
  return sign ? -f : f;
}

}  // namespace tokenfab::test
