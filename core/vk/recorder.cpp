// Command recording: dispatches with descriptors (pushed or pooled), barriers, copies,
// timestamps; submission with a fence.
#include <mutex>
#include <set>
#include <string>

#include "vk/internal.h"

namespace tokenfab::vk {
namespace {
std::mutex g_waiters_mutex;
std::set<std::thread::id> g_waiters;  // every thread that waited on a fence

void noteWaitingThread() {
  std::lock_guard<std::mutex> lock(g_waiters_mutex);
  g_waiters.insert(std::this_thread::get_id());
}

constexpr uint32_t kMaxTimestamps = 512;
constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kMaxBindings = 8;
}  // namespace

Result<Recorder> Device::newRecorder() {
  Recorder rec;
  rec.m_device = this;
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = m_command_pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  TF_VK_CHECK(vkAllocateCommandBuffers(m_device, &ai, &rec.m_cmd));
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  TF_VK_CHECK(vkCreateFence(m_device, &fi, nullptr, &rec.m_fence));
  if (m_report.timestamps) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = kMaxTimestamps;
    TF_VK_CHECK(vkCreateQueryPool(m_device, &qi, nullptr, &rec.m_queries));
  }
  TF_RETURN_IF_ERROR(rec.begin());
  return rec;
}

Recorder::Recorder(Recorder&& other) noexcept { *this = std::move(other); }

Recorder& Recorder::operator=(Recorder&& other) noexcept {
  if (this != &other) {
    release();
    m_device = other.m_device;
    m_cmd = other.m_cmd;
    m_fence = other.m_fence;
    m_pools = std::move(other.m_pools);
    m_queries = other.m_queries;
    m_query_count = other.m_query_count;
    m_dispatches = other.m_dispatches;
    m_sets_in_pool = other.m_sets_in_pool;
    m_recording = other.m_recording;
    m_submitted = other.m_submitted;
    other.m_device = nullptr;
    other.m_cmd = VK_NULL_HANDLE;
    other.m_fence = VK_NULL_HANDLE;
    other.m_pools.clear();
    other.m_queries = VK_NULL_HANDLE;
  }
  return *this;
}

Recorder::~Recorder() { release(); }

void Recorder::release() {
  if (!m_device) return;
  VkDevice d = m_device->handle();
  if (m_recording) vkEndCommandBuffer(m_cmd);
  if (m_cmd) vkFreeCommandBuffers(d, m_device->commandPool(), 1, &m_cmd);
  if (m_fence) vkDestroyFence(d, m_fence, nullptr);
  for (VkDescriptorPool p : m_pools) vkDestroyDescriptorPool(d, p, nullptr);
  if (m_queries) vkDestroyQueryPool(d, m_queries, nullptr);
  m_device = nullptr;
  m_pools.clear();
}

Status Recorder::begin() {
  // Not one-time: a recording can be submitted again (replay()).
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  TF_VK_CHECK(vkBeginCommandBuffer(m_cmd, &bi));
  m_recording = true;
  if (m_queries) vkCmdResetQueryPool(m_cmd, m_queries, 0, kMaxTimestamps);
  m_query_count = 0;
  m_dispatches = 0;
  return Status::ok();
}

Status Recorder::reset() {
  if (!m_device) return Status(Code::kInvalidArgument, "Recorder::reset on an empty recorder");
  if (m_recording) vkEndCommandBuffer(m_cmd);
  m_recording = false;
  m_submitted = false;
  TF_VK_CHECK(vkResetCommandBuffer(m_cmd, 0));
  for (VkDescriptorPool p : m_pools) TF_VK_CHECK(vkResetDescriptorPool(m_device->handle(), p, 0));
  // Keep one pool, drop the rest.
  for (size_t i = 1; i < m_pools.size(); ++i) vkDestroyDescriptorPool(m_device->handle(), m_pools[i], nullptr);
  if (m_pools.size() > 1) m_pools.erase(m_pools.begin() + 1, m_pools.end());
  m_sets_in_pool = 0;
  return begin();
}

Status Recorder::allocateDescriptorPool() {
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBindings};
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = kSetsPerPool;
  pi.poolSizeCount = 1;
  pi.pPoolSizes = &size;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  TF_VK_CHECK(vkCreateDescriptorPool(m_device->handle(), &pi, nullptr, &pool));
  m_pools.push_back(pool);
  m_sets_in_pool = 0;
  return Status::ok();
}

Status Recorder::dispatch(const Pipeline& pipe, std::initializer_list<BufferView> views, const void* push,
                          uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  return dispatch(pipe, std::span<const BufferView>(views.begin(), views.size()), push, push_bytes, gx, gy, gz);
}

Status Recorder::dispatch(const Pipeline& pipe, std::span<const BufferView> views, const void* push,
                          uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  if (!m_recording) return Status(Code::kInvalidArgument, "dispatch: recorder is not recording (submitted?)");
  const DeviceReport& r = m_device->report();
  if (gx == 0 || gy == 0 || gz == 0) return checkBindings(pipe, views, push_bytes);  // nothing to do
  if (gx > r.max_workgroup_count[0] || gy > r.max_workgroup_count[1] || gz > r.max_workgroup_count[2])
    return Status(Code::kLimitExceeded, pipe.name + ": workgroup count (" + std::to_string(gx) + ", " +
                                            std::to_string(gy) + ", " + std::to_string(gz) +
                                            ") exceeds maxComputeWorkGroupCount");
  TF_RETURN_IF_ERROR(bind(pipe, views, push, push_bytes));
  vkCmdDispatch(m_cmd, gx, gy, gz);
  ++m_dispatches;
  return Status::ok();
}

Status Recorder::dispatchIndirect(const Pipeline& pipe, std::span<const BufferView> views, const void* push,
                                  uint32_t push_bytes, const BufferView& args) {
  if (!m_recording) return Status(Code::kInvalidArgument, "dispatchIndirect: recorder is not recording (submitted?)");
  if (!args.valid() || args.size < 12 || args.offset % 4 != 0)
    return Status(Code::kInvalidArgument, pipe.name + ": indirect arguments need 12 bytes at a 4-byte aligned offset");
  TF_RETURN_IF_ERROR(bind(pipe, views, push, push_bytes));
  vkCmdDispatchIndirect(m_cmd, args.buffer, args.offset);
  ++m_dispatches;
  return Status::ok();
}

Status Recorder::checkBindings(const Pipeline& pipe, std::span<const BufferView> views, uint32_t push_bytes) const {
  if (views.size() != pipe.bindings || views.size() > kMaxBindings)
    return Status(Code::kInvalidArgument, pipe.name + ": " + std::to_string(views.size()) + " buffers bound, shader has " +
                                              std::to_string(pipe.bindings));
  if (push_bytes != pipe.push_bytes)
    return Status(Code::kInvalidArgument, pipe.name + ": push-constant size mismatch");
  return Status::ok();
}

Status Recorder::bind(const Pipeline& pipe, std::span<const BufferView> views, const void* push, uint32_t push_bytes) {
  TF_RETURN_IF_ERROR(checkBindings(pipe, views, push_bytes));
  const DeviceReport& r = m_device->report();
  VkDescriptorBufferInfo infos[kMaxBindings];
  VkWriteDescriptorSet writes[kMaxBindings];
  for (size_t i = 0; i < views.size(); ++i) {
    const BufferView& v = views[i];
    if (!v.valid() || v.size == 0) return Status(Code::kInvalidArgument, pipe.name + ": binding " + std::to_string(i) + " is empty");
    if (v.size > r.max_storage_buffer_range)
      return Status(Code::kLimitExceeded, pipe.name + ": binding " + std::to_string(i) + " of " + std::to_string(v.size) +
                                              " bytes exceeds maxStorageBufferRange " +
                                              std::to_string(r.max_storage_buffer_range) + " (split it)");
    if (v.offset % r.min_storage_buffer_offset_alignment != 0)
      return Status(Code::kInvalidArgument, pipe.name + ": binding " + std::to_string(i) + " offset " +
                                                std::to_string(v.offset) + " is not a multiple of " +
                                                std::to_string(r.min_storage_buffer_offset_alignment));
    infos[i] = {v.buffer, v.offset, v.size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkCmdBindPipeline(m_cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.pipeline);
  const uint32_t n = static_cast<uint32_t>(views.size());
  if (m_device->features().push_descriptors) {
    m_device->pushDescriptorFn()(m_cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.layout, 0, n, writes);
  } else {
    if (m_pools.empty() || m_sets_in_pool >= kSetsPerPool) TF_RETURN_IF_ERROR(allocateDescriptorPool());
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = m_pools.back();
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &pipe.set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    TF_VK_CHECK(vkAllocateDescriptorSets(m_device->handle(), &ai, &set));
    ++m_sets_in_pool;
    for (uint32_t i = 0; i < n; ++i) writes[i].dstSet = set;
    vkUpdateDescriptorSets(m_device->handle(), n, writes, 0, nullptr);
    vkCmdBindDescriptorSets(m_cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe.layout, 0, 1, &set, 0, nullptr);
  }
  if (push_bytes) vkCmdPushConstants(m_cmd, pipe.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  return Status::ok();
}

void Recorder::barrier() {
  if (!m_recording) return;
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(m_cmd, stages, stages | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

Status Recorder::copy(const BufferView& src, const BufferView& dst) {
  if (!m_recording) return Status(Code::kInvalidArgument, "copy: recorder is not recording");
  if (src.size != dst.size) return Status(Code::kInvalidArgument, "copy: size mismatch");
  if (src.size == 0) return Status::ok();
  VkBufferCopy region{src.offset, dst.offset, src.size};
  vkCmdCopyBuffer(m_cmd, src.buffer, dst.buffer, 1, &region);
  return Status::ok();
}

Status Recorder::fill(const BufferView& view, uint32_t pattern) {
  if (!m_recording) return Status(Code::kInvalidArgument, "fill: recorder is not recording");
  if (view.size % 4 != 0 || view.offset % 4 != 0) return Status(Code::kInvalidArgument, "fill: size/offset not a multiple of 4");
  if (view.size == 0) return Status::ok();
  vkCmdFillBuffer(m_cmd, view.buffer, view.offset, view.size, pattern);
  return Status::ok();
}

Result<uint32_t> Recorder::timestamp() {
  if (!m_queries) return Status(Code::kUnsupported, "device has no timestamp support");
  if (m_query_count >= kMaxTimestamps) return Status(Code::kLimitExceeded, "too many timestamps in one recording");
  vkCmdWriteTimestamp(m_cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, m_queries, m_query_count);
  return m_query_count++;
}

Status Recorder::submitAndWait() {
  if (!m_recording) return Status(Code::kInvalidArgument, "submitAndWait: nothing recorded (call reset())");
  m_recording = false;
  TF_VK_CHECK(vkEndCommandBuffer(m_cmd));
  m_submitted = true;
  return submitRecorded();
}

Status Recorder::replay() {
  if (m_recording || !m_submitted) return Status(Code::kInvalidArgument, "replay: no finished recording to submit again");
  return submitRecorded();
}

Status Recorder::submitRecorded() {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &m_cmd;
  VkDevice d = m_device->handle();
  TF_VK_CHECK(vkResetFences(d, 1, &m_fence));
  TF_VK_CHECK(vkQueueSubmit(m_device->queue(), 1, &si, m_fence));
  noteWaitingThread();
  // A finite wait (10 minutes): a hung GPU becomes a Status, never a hang forever.
  const VkResult w = vkWaitForFences(d, 1, &m_fence, VK_TRUE, 600ull * 1000 * 1000 * 1000);
  if (w == VK_TIMEOUT) return Status(Code::kVkDeviceLost, "vkWaitForFences timed out after 600 s");
  return vkStatus(w, "vkWaitForFences");
}

bool threadHasWaitedForGpu(std::thread::id id) {
  std::lock_guard<std::mutex> lock(g_waiters_mutex);
  return g_waiters.count(id) > 0;
}

size_t threadsThatWaitedForGpu() {
  std::lock_guard<std::mutex> lock(g_waiters_mutex);
  return g_waiters.size();
}

Result<std::vector<double>> Recorder::timestampsNs() const {
  std::vector<double> out;
  if (!m_queries || m_query_count == 0) return out;
  std::vector<uint64_t> raw(m_query_count);
  TF_VK_CHECK(vkGetQueryPoolResults(m_device->handle(), m_queries, 0, m_query_count, raw.size() * sizeof(uint64_t),
                                    raw.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  for (uint64_t t : raw) out.push_back(static_cast<double>(t) * m_device->report().timestamp_period_ns);
  return out;
}

}  // namespace tokenfab::vk
