// The runtime itself: device report, buffers, staging, pipelines, dispatch, splitting, errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "gpu_test_util.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::test {
namespace {

using vk::BufferView;

class VkRuntime : public GpuTest {};

TEST_F(VkRuntime, ReportDescribesTheDevice) {
  const vk::DeviceReport& r = device().report();
  EXPECT_FALSE(r.name.empty());
  EXPECT_GE(r.api_version, VK_API_VERSION_1_2);
  EXPECT_GT(r.max_storage_buffer_range, 0u);
  EXPECT_GT(r.subgroup_size, 0u);
  EXPECT_FALSE(r.heaps.empty());
  EXPECT_NE(r.toText().find(r.name), std::string::npos);
  EXPECT_NE(r.toJson().find("\"max_storage_buffer_range\""), std::string::npos);
  const char* off = std::getenv("TOKENFAB_DISABLE_OPTIONAL");
  if (off && std::strcmp(off, "1") == 0) {
    EXPECT_FALSE(device().features().push_descriptors);
    EXPECT_FALSE(device().features().storage_16bit);
  }
}

TEST_F(VkRuntime, ChooseHonoursIndexNameAndType) {
  std::vector<vk::DeviceReport> devs(3);
  devs[0].index = 0, devs[0].name = "llvmpipe", devs[0].type = "cpu";
  devs[1].index = 1, devs[1].name = "Intel UHD", devs[1].type = "integrated";
  devs[2].index = 2, devs[2].name = "Radeon RX", devs[2].type = "discrete";
  vk::DeviceOptions opt;
  // The environment could override the default choice; the explicit options below never are.
  opt.index = 0;
  EXPECT_EQ(*vk::Device::choose(devs, opt), 0u);
  opt.index.reset();
  opt.name_contains = "intel";
  EXPECT_EQ(*vk::Device::choose(devs, opt), 1u);
  opt.name_contains = "nvidia";
  EXPECT_EQ(vk::Device::choose(devs, opt).status().code(), Code::kVkNoDevice);
  opt.name_contains.clear();
  opt.index = 7;
  EXPECT_EQ(vk::Device::choose(devs, opt).status().code(), Code::kVkNoDevice);
  if (!std::getenv("TOKENFAB_DEVICE")) {
    EXPECT_EQ(*vk::Device::choose(devs, vk::DeviceOptions{}), 2u);
    devs.pop_back();
    EXPECT_EQ(*vk::Device::choose(devs, vk::DeviceOptions{}), 1u);
  }
  EXPECT_EQ(vk::Device::choose({}, vk::DeviceOptions{}).status().code(), Code::kVkNoDevice);
}

TEST_F(VkRuntime, EnvironmentPicksTheDevice) {
  std::vector<vk::DeviceReport> devs(2);
  devs[0].index = 0, devs[0].name = "llvmpipe", devs[0].type = "cpu";
  devs[1].index = 1, devs[1].name = "Radeon RX", devs[1].type = "discrete";
  const char* old = std::getenv("TOKENFAB_DEVICE");
  const std::string saved = old ? old : "";
  setenv("TOKENFAB_DEVICE", "0", 1);
  EXPECT_EQ(*vk::Device::choose(devs, vk::DeviceOptions{}), 0u);
  setenv("TOKENFAB_DEVICE", "LLVM", 1);
  EXPECT_EQ(*vk::Device::choose(devs, vk::DeviceOptions{}), 0u);
  setenv("TOKENFAB_DEVICE", "9", 1);
  EXPECT_EQ(vk::Device::choose(devs, vk::DeviceOptions{}).status().code(), Code::kVkNoDevice);
  if (old) setenv("TOKENFAB_DEVICE", saved.c_str(), 1);
  else unsetenv("TOKENFAB_DEVICE");
}

TEST(VkStatus, ResultsMapToCodes) {
  EXPECT_TRUE(vk::vkStatus(VK_SUCCESS, "vkX").isOk());
  EXPECT_EQ(vk::vkStatus(VK_ERROR_DEVICE_LOST, "vkQueueSubmit").code(), Code::kVkDeviceLost);
  EXPECT_EQ(vk::vkStatus(VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory").code(), Code::kVkOutOfDeviceMemory);
  EXPECT_EQ(vk::vkStatus(VK_ERROR_OUT_OF_HOST_MEMORY, "vkAllocateMemory").code(), Code::kVkOutOfDeviceMemory);
  EXPECT_EQ(vk::vkStatus(VK_ERROR_INITIALIZATION_FAILED, "vkCreateDevice").code(), Code::kVkError);
  EXPECT_NE(vk::vkStatus(VK_ERROR_DEVICE_LOST, "vkQueueSubmit").message().find("vkQueueSubmit"), std::string::npos);
}

// The validation capture works: a deliberately invalid call is reported (then cleared so the
// fixture does not fail this test).
TEST_F(VkRuntime, ValidationMessagesAreCaptured) {
  ASSERT_TRUE(device().validationEnabled());
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = 0;  // VUID-VkBufferCreateInfo-size-00912
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  const VkResult r = vkCreateBuffer(device().handle(), &bci, nullptr, &buffer);
  if (r == VK_SUCCESS && buffer != VK_NULL_HANDLE) vkDestroyBuffer(device().handle(), buffer, nullptr);
  EXPECT_GT(device().validationMessageCount(), 0u);
  device().clearValidationMessages();
}

TEST_F(VkRuntime, UploadDownloadRoundTripAcrossStagingChunks) {
  // 40 MiB: more than one staging chunk, at an odd element count.
  const size_t n = (40u << 20) / 4 + 7;
  std::vector<uint32_t> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint32_t>(i * 2654435761u);
  vk::Buffer b = upload(device(), data);
  std::vector<uint32_t> back(n);
  TF_ASSERT_OK(device().download(b.view(), back.data(), n * 4));
  EXPECT_TRUE(back == data);
}

TEST_F(VkRuntime, FillDispatchWritesExactlyItsRange) {
  const uint64_t seed = 11;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  TestRng rng(seed);
  for (int iter = 0; iter < 4; ++iter) {
    const uint32_t n = 1 + rng.below(5000);  // rarely a multiple of the workgroup size
    const uint32_t wg = device().report().subgroup_size * 4;
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), n * 4));
    TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* pipe,
                            device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {wg}}));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    abi::FillParams p{n, 0, 1.5f + float(iter)};
    TF_ASSERT_OK(rec.dispatch(*pipe, {out.view()}, p, (n + wg - 1) / wg));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    ASSERT_EQ(got.size(), n);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(got[i], 1.5f + float(iter)) << "i=" << i << " n=" << n;
  }
}

// Many dispatches in one recording: the descriptor-pool fallback (TOKENFAB_DISABLE_OPTIONAL=1)
// must grow past one pool; barriers order the writes so the last value wins.
TEST_F(VkRuntime, ManyDispatchesInOneRecording) {
  const uint32_t n = 1000, wg = 64;
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), n * 4));
  TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* pipe, device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {wg}}));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  for (int round = 0; round < 2; ++round) {
    for (uint32_t i = 0; i < 600; ++i) {
      abi::FillParams p{n - i, i, float(i)};  // element j ends up max(j) over i <= j: j itself
      TF_ASSERT_OK(rec.dispatch(*pipe, {out.view()}, p, (n - i + wg - 1) / wg));
      rec.barrier();  // the next fill overwrites this one's tail
    }
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    for (uint32_t j = 0; j < n; ++j) ASSERT_EQ(got[j], float(std::min(j, 599u))) << "j=" << j << " round " << round;
    TF_ASSERT_OK(rec.reset());  // the recorder is reusable
  }
}

TEST_F(VkRuntime, PipelinesAreCached) {
  TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* a, device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {64}}));
  TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* b, device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {64}}));
  TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* c, device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {32}}));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(device().pipeline({"no_such_shader", 1, 0, {}}).status().code(), Code::kNotFound);
}

TEST_F(VkRuntime, DispatchRejectsBadBindings) {
  TF_ASSERT_OK_AND_ASSIGN(const vk::Pipeline* pipe, device().pipeline({"fill_f32", 1, sizeof(abi::FillParams), {64}}));
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(4096));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  abi::FillParams p{4, 0, 0.f};
  EXPECT_EQ(rec.dispatch(*pipe, {buf.view(), buf.view()}, p, 1).code(), Code::kInvalidArgument);
  const uint64_t align = device().report().min_storage_buffer_offset_alignment;
  if (align > 4) {
    EXPECT_EQ(rec.dispatch(*pipe, {buf.view(4, 64)}, p, 1).code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(rec.dispatch(*pipe, {buf.view()}, p, device().report().max_workgroup_count[0] + 1u).code(),
            Code::kLimitExceeded);
  BufferView too_big{buf.handle(), 0, device().report().max_storage_buffer_range + 4};
  EXPECT_EQ(rec.dispatch(*pipe, {too_big}, p, 1).code(), Code::kLimitExceeded);
  TF_ASSERT_OK(rec.submitAndWait());
  EXPECT_EQ(rec.dispatch(*pipe, {buf.view()}, p, 1).code(), Code::kInvalidArgument);  // not recording
}

TEST_F(VkRuntime, BufferLimitsAreStatuses) {
  EXPECT_EQ(device().createBuffer(0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(device().createBuffer(device().report().max_memory_allocation_size + 1).status().code(),
            Code::kLimitExceeded);
}

TEST_F(VkRuntime, SubAllocationsDoNotOverlapAndMemoryIsReused) {
  std::vector<vk::Buffer> bufs;
  for (uint32_t i = 0; i < 40; ++i) {
    const uint32_t n = 17 + i * 13;
    std::vector<uint32_t> v(n, i);
    bufs.push_back(upload(device(), v));
  }
  const uint64_t held = device().allocatedBytes();
  for (uint32_t i = 0; i < bufs.size(); ++i) {
    std::vector<uint32_t> back(17 + i * 13);
    TF_ASSERT_OK(device().download(bufs[i].view(), back.data(), back.size() * 4));
    for (uint32_t x : back) ASSERT_EQ(x, i);
  }
  bufs.clear();
  for (int i = 0; i < 40; ++i) bufs.push_back(upload(device(), std::vector<uint32_t>(100, 1)));
  EXPECT_EQ(device().allocatedBytes(), held) << "small buffers must reuse freed block space";
}

TEST(VkSplitRows, PiecesAreAlignedAndCoverEverything) {
  const BufferView v{reinterpret_cast<VkBuffer>(uintptr_t{1}), 0, 1000 * 12};
  auto pieces = vk::splitRows(v, 12, 1000, 1000, 16);
  ASSERT_TRUE(pieces.isOk()) << pieces.status().toString();
  uint64_t next = 0;
  for (const auto& p : *pieces) {
    EXPECT_EQ(p.first_row, next);
    EXPECT_LE(p.view.size, 1000u);
    EXPECT_EQ(p.view.offset % 16, 0u);
    EXPECT_EQ(p.view.offset, p.first_row * 12);
    EXPECT_EQ(p.view.size, p.rows * 12);
    next += p.rows;
  }
  EXPECT_EQ(next, 1000u);
  EXPECT_EQ(vk::splitRows(v, 2000, 3, 1000, 16).status().code(), Code::kLimitExceeded);
  EXPECT_EQ(vk::splitRows(v, 12, 1001, 1000, 16).status().code(), Code::kOutOfRange);
  auto one = vk::splitRows(v, 12, 10, 1000, 16);
  ASSERT_TRUE(one.isOk());
  EXPECT_EQ(one->size(), 1u);
}

TEST_F(VkRuntime, TimestampsAreMonotonic) {
  if (!device().report().timestamps) GTEST_SKIP() << "device has no timestamps";
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer a, device().createBuffer(1 << 20));
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer b, device().createBuffer(1 << 20));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  ASSERT_TRUE(rec.timestamp().isOk());
  TF_ASSERT_OK(rec.copy(a.view(), b.view()));
  ASSERT_TRUE(rec.timestamp().isOk());
  TF_ASSERT_OK(rec.submitAndWait());
  TF_ASSERT_OK_AND_ASSIGN(auto ts, rec.timestampsNs());
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_GE(ts[1], ts[0]);
}

}  // namespace
}  // namespace tokenfab::test
