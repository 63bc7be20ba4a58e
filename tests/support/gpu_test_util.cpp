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
  TF_ASSIGN_OR_RETURN(lab::GuardedOutput output, lab::GuardedOutput::create(device, payload_bytes, guard_bytes));
  return GuardedBuffer(std::move(output));
}

::testing::AssertionResult GuardedBuffer::readBytes(std::vector<uint8_t>& out) const {
  Result<std::vector<uint8_t>> bytes = m_output.readBytes();
  if (!bytes.isOk()) return ::testing::AssertionFailure() << bytes.status().toString();
  out = std::move(bytes).value();
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
  const lab::Comparison c = lab::compare(got, want, scale);
  if (!c.within(bound)) return ::testing::AssertionFailure() << c.describe(got, want) << " (bound " << bound << ")";
  return ::testing::AssertionSuccess() << "max normalised error " << c.error;
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
