// Instance, physical-device enumeration and choice, logical device with optional features.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vk/allocator.h"
#include "vk/internal.h"

namespace tokenfab::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool hasExtension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

VKAPI_ATTR VkBool32 VKAPI_CALL onValidationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
  auto* sink = static_cast<Device::ValidationSink*>(user);
  std::lock_guard<std::mutex> lock(sink->mutex);
  std::string msg = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error: " : "warning: ";
  msg += data && data->pMessage ? data->pMessage : "(no message)";
  if (sink->messages.size() < 1000) sink->messages.push_back(std::move(msg));
  return VK_FALSE;
}

struct InstanceHandle {
  VkInstance instance = VK_NULL_HANDLE;
  ~InstanceHandle() {
    if (instance) vkDestroyInstance(instance, nullptr);
  }
};

Status createInstance(bool validation, VkInstance* out, bool* has_debug_utils) {
  uint32_t count = 0;
  TF_VK_CHECK(vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr));
  std::vector<VkExtensionProperties> exts(count);
  TF_VK_CHECK(vkEnumerateInstanceExtensionProperties(nullptr, &count, exts.data()));
  std::vector<const char*> enabled;
  std::vector<const char*> layers;
  VkInstanceCreateFlags flags = 0;
  if (hasExtension(exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    enabled.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  *has_debug_utils = false;
  if (validation) {
    uint32_t n = 0;
    TF_VK_CHECK(vkEnumerateInstanceLayerProperties(&n, nullptr));
    std::vector<VkLayerProperties> props(n);
    TF_VK_CHECK(vkEnumerateInstanceLayerProperties(&n, props.data()));
    bool found = false;
    for (const auto& p : props) found = found || std::strcmp(p.layerName, kValidationLayer) == 0;
    if (!found)
      return Status(Code::kVkMissingFeature, std::string(kValidationLayer) +
                                                 " requested but not installed (package vulkan-validationlayers)");
    layers.push_back(kValidationLayer);
    enabled.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    *has_debug_utils = true;
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "tokenfab";
  app.pEngineName = "tokenfab";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledExtensionCount = static_cast<uint32_t>(enabled.size());
  info.ppEnabledExtensionNames = enabled.data();
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  TF_VK_CHECK(vkCreateInstance(&info, nullptr, out));
  return Status::ok();
}

const char* typeName(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

int typeRank(const std::string& t) {
  if (t == "discrete") return 4;
  if (t == "integrated") return 3;
  if (t == "virtual") return 2;
  if (t == "cpu") return 1;
  return 0;
}

// The f16 x f16 + f32 subgroup shapes VK_NV_cooperative_matrix offers, in the device's order.
Result<std::vector<CoopMatrixShape>> coopMatrixShapes(VkInstance instance, VkPhysicalDevice pd) {
  auto fn = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  std::vector<CoopMatrixShape> shapes;
  if (!fn) return shapes;
  uint32_t n = 0;
  TF_VK_CHECK(fn(pd, &n, nullptr));
  std::vector<VkCooperativeMatrixPropertiesNV> props(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  TF_VK_CHECK(fn(pd, &n, props.data()));
  for (uint32_t i = 0; i < n; ++i) {
    const VkCooperativeMatrixPropertiesNV& p = props[i];
    if (p.AType == VK_COMPONENT_TYPE_FLOAT16_NV && p.BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        p.CType == VK_COMPONENT_TYPE_FLOAT32_NV && p.DType == VK_COMPONENT_TYPE_FLOAT32_NV && p.scope == VK_SCOPE_SUBGROUP_NV)
      shapes.push_back({p.MSize, p.NSize, p.KSize});
  }
  return shapes;
}

Result<DeviceReport> describe(VkInstance instance, VkPhysicalDevice pd, uint32_t index) {
  uint32_t n = 0;
  TF_VK_CHECK(vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr));
  std::vector<VkExtensionProperties> exts(n);
  TF_VK_CHECK(vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data()));

  VkPhysicalDeviceProperties base;
  vkGetPhysicalDeviceProperties(pd, &base);
  const bool v12 = base.apiVersion >= VK_API_VERSION_1_2;

  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceCooperativeMatrixPropertiesNV coop_props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  const bool has_coop_nv = hasExtension(exts, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  props.pNext = &subgroup;
  subgroup.pNext = &maint3;
  if (v12) maint3.pNext = &driver;
  if (has_coop_nv) {
    coop_props.pNext = props.pNext;
    props.pNext = &coop_props;
  }
  vkGetPhysicalDeviceProperties2(pd, &props);

  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  const bool has_dot_ext = hasExtension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  if (v12) {
    feats.pNext = &f11;
    f11.pNext = &f12;
    if (has_dot_ext) f12.pNext = &dot;
    if (has_coop_nv) {
      coop.pNext = f12.pNext;
      f12.pNext = &coop;
    }
    vkGetPhysicalDeviceFeatures2(pd, &feats);
  }

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);

  DeviceReport r;
  r.index = index;
  r.name = base.deviceName;
  r.type = typeName(base.deviceType);
  if (v12) {
    r.driver_name = driver.driverName;
    r.driver_info = driver.driverInfo;
  }
  r.api_version = base.apiVersion;
  r.driver_version = base.driverVersion;
  r.vendor_id = base.vendorID;
  r.device_id = base.deviceID;
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    r.heaps.push_back({mem.memoryHeaps[i].size, (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  const VkPhysicalDeviceLimits& l = base.limits;
  r.max_storage_buffer_range = l.maxStorageBufferRange;
  r.max_memory_allocation_size = maint3.maxMemoryAllocationSize;
  r.min_storage_buffer_offset_alignment = l.minStorageBufferOffsetAlignment;
  r.max_compute_shared_memory = l.maxComputeSharedMemorySize;
  r.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    r.max_workgroup_size[i] = l.maxComputeWorkGroupSize[i];
    r.max_workgroup_count[i] = l.maxComputeWorkGroupCount[i];
  }
  r.max_push_constants_size = l.maxPushConstantsSize;
  r.timestamp_period_ns = l.timestampPeriod;
  r.timestamps = l.timestampComputeAndGraphics == VK_TRUE;
  r.subgroup_size = subgroup.subgroupSize;
  r.subgroup_in_compute = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  const std::pair<VkSubgroupFeatureFlagBits, const char*> ops[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},         {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"}, {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},     {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"}, {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"}};
  for (const auto& [bit, name] : ops)
    if (subgroup.supportedOperations & bit) r.subgroup_operations.emplace_back(name);
  r.fp16_arithmetic = f12.shaderFloat16 == VK_TRUE;
  r.int8_arithmetic = f12.shaderInt8 == VK_TRUE;
  r.storage_16bit = f11.storageBuffer16BitAccess == VK_TRUE;
  r.storage_8bit = f12.storageBuffer8BitAccess == VK_TRUE;
  r.integer_dot_product = has_dot_ext && dot.shaderIntegerDotProduct == VK_TRUE;
  r.cooperative_matrix =
      hasExtension(exts, "VK_KHR_cooperative_matrix") || hasExtension(exts, "VK_NV_cooperative_matrix");
  r.vulkan_memory_model = f12.vulkanMemoryModel == VK_TRUE;
  if (v12 && has_coop_nv && coop.cooperativeMatrix == VK_TRUE &&
      (coop_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT)) {
    TF_ASSIGN_OR_RETURN(r.coop_matrix_shapes, coopMatrixShapes(instance, pd));
  }
  r.push_descriptors = hasExtension(exts, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  return r;
}

Result<std::vector<VkPhysicalDevice>> physicalDevices(VkInstance instance) {
  uint32_t n = 0;
  TF_VK_CHECK(vkEnumeratePhysicalDevices(instance, &n, nullptr));
  std::vector<VkPhysicalDevice> out(n);
  TF_VK_CHECK(vkEnumeratePhysicalDevices(instance, &n, out.data()));
  out.resize(n);
  if (out.empty()) return Status(Code::kVkNoDevice, "no Vulkan device found (install mesa-vulkan-drivers for lavapipe)");
  return out;
}

}  // namespace

bool envFlag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0 && std::strcmp(v, "false") != 0;
}

Result<std::vector<DeviceReport>> Device::enumerate() {
  InstanceHandle inst;
  bool debug = false;
  TF_RETURN_IF_ERROR(createInstance(false, &inst.instance, &debug));
  TF_ASSIGN_OR_RETURN(auto pds, physicalDevices(inst.instance));
  std::vector<DeviceReport> out;
  for (uint32_t i = 0; i < pds.size(); ++i) {
    TF_ASSIGN_OR_RETURN(DeviceReport r, describe(inst.instance, pds[i], i));
    out.push_back(std::move(r));
  }
  return out;
}

void DeviceOptions::setChoice(std::string_view choice) {
  index.reset();
  name_contains.clear();
  if (choice.empty()) return;
  const bool digits = std::all_of(choice.begin(), choice.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && choice.size() <= 8) {
    index = static_cast<uint32_t>(std::stoul(std::string(choice)));
  } else {
    name_contains = std::string(choice);
  }
}

Result<uint32_t> Device::choose(const std::vector<DeviceReport>& devices, const DeviceOptions& options) {
  if (devices.empty()) return Status(Code::kVkNoDevice, "no Vulkan device found");
  DeviceOptions pick = options;
  if (!pick.index && pick.name_contains.empty()) {
    if (const char* env = std::getenv("TOKENFAB_DEVICE"); env && *env) pick.setChoice(env);
  }
  const std::optional<uint32_t> index = pick.index;
  const std::string needle = pick.name_contains;
  if (index) {
    if (*index >= devices.size())
      return Status(Code::kVkNoDevice, "device index " + std::to_string(*index) + " out of range (" +
                                           std::to_string(devices.size()) + " devices)");
    return *index;
  }
  if (!needle.empty()) {
    for (const DeviceReport& d : devices)
      if (lower(d.name).find(lower(needle)) != std::string::npos) return d.index;
    return Status(Code::kVkNoDevice, "no device name contains '" + needle + "'");
  }
  uint32_t best = 0;
  for (uint32_t i = 1; i < devices.size(); ++i)
    if (typeRank(devices[i].type) > typeRank(devices[best].type)) best = i;
  return best;
}

Result<std::unique_ptr<Device>> Device::create(const DeviceOptions& options) {
  std::unique_ptr<Device> dev(new Device());
  dev->m_validation = options.validation || envFlag("TOKENFAB_VALIDATION");
  const bool disable_optional = options.disable_optional || envFlag("TOKENFAB_DISABLE_OPTIONAL");
  bool debug_utils = false;
  TF_RETURN_IF_ERROR(createInstance(dev->m_validation, &dev->m_instance, &debug_utils));
  dev->m_sink = std::make_unique<ValidationSink>();
  if (debug_utils) {
    auto create_fn = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(dev->m_instance, "vkCreateDebugUtilsMessengerEXT"));
    if (!create_fn) return Status(Code::kVkMissingFeature, "vkCreateDebugUtilsMessengerEXT not available");
    VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    info.pfnUserCallback = onValidationMessage;
    info.pUserData = dev->m_sink.get();
    TF_VK_CHECK(create_fn(dev->m_instance, &info, nullptr, &dev->m_messenger));
  }
  TF_ASSIGN_OR_RETURN(auto pds, physicalDevices(dev->m_instance));
  std::vector<DeviceReport> reports;
  for (uint32_t i = 0; i < pds.size(); ++i) {
    TF_ASSIGN_OR_RETURN(DeviceReport r, describe(dev->m_instance, pds[i], i));
    reports.push_back(std::move(r));
  }
  TF_ASSIGN_OR_RETURN(uint32_t chosen, choose(reports, options));
  dev->m_physical = pds[chosen];
  dev->m_report = reports[chosen];
  const DeviceReport& r = dev->m_report;
  if (r.api_version < VK_API_VERSION_1_2)
    return Status(Code::kVkMissingFeature, r.name + " supports only Vulkan " + std::to_string(VK_API_VERSION_MAJOR(r.api_version)) +
                                               "." + std::to_string(VK_API_VERSION_MINOR(r.api_version)) +
                                               "; tokenfab needs 1.2");

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(dev->m_physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(dev->m_physical, &nq, qf.data());
  int family = -1;
  for (uint32_t i = 0; i < nq; ++i) {
    if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    // Prefer a compute queue with timestamps.
    if (family < 0 || (qf[static_cast<uint32_t>(family)].timestampValidBits == 0 && qf[i].timestampValidBits > 0))
      family = static_cast<int>(i);
  }
  if (family < 0) return Status(Code::kVkMissingFeature, r.name + " has no compute queue");
  dev->m_queue_family = static_cast<uint32_t>(family);
  dev->m_report.timestamps = dev->m_report.timestamps || qf[dev->m_queue_family].timestampValidBits > 0;
  if (qf[dev->m_queue_family].timestampValidBits == 0) dev->m_report.timestamps = false;

  EnabledFeatures& en = dev->m_features;
  if (!disable_optional) {
    en.push_descriptors = r.push_descriptors;
    en.storage_16bit = r.storage_16bit;
    en.storage_8bit = r.storage_8bit;
    en.fp16_arithmetic = r.fp16_arithmetic;
    en.int8_arithmetic = r.int8_arithmetic;
    en.integer_dot_product = r.integer_dot_product;
    const auto has_op = [&](const char* op) {
      return r.subgroup_in_compute &&
             std::find(r.subgroup_operations.begin(), r.subgroup_operations.end(), op) != r.subgroup_operations.end();
    };
    en.subgroup_arithmetic = has_op("arithmetic");
    en.subgroup_shuffle = has_op("shuffle");
    // The matmul_coop shaders declare f16 matrices (Float16) and use the Vulkan memory model.
    const char* coop_env = std::getenv("TOKENFAB_COOPMAT");
    const bool coop_off = coop_env && (std::strcmp(coop_env, "0") == 0 || std::strcmp(coop_env, "false") == 0);
    en.cooperative_matrix = !coop_off && !r.coop_matrix_shapes.empty() && r.fp16_arithmetic && r.vulkan_memory_model &&
                            r.subgroup_in_compute;
  }
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  f11.pNext = &f12;
  f11.storageBuffer16BitAccess = en.storage_16bit;
  f12.storageBuffer8BitAccess = en.storage_8bit;
  f12.shaderFloat16 = en.fp16_arithmetic;
  f12.shaderInt8 = en.int8_arithmetic;
  std::vector<const char*> exts;
  if (en.push_descriptors) exts.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  if (en.integer_dot_product) {
    exts.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    dot.shaderIntegerDotProduct = VK_TRUE;
    f12.pNext = &dot;
  }
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  if (en.cooperative_matrix) {
    exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    coop.cooperativeMatrix = VK_TRUE;
    coop.pNext = f12.pNext;
    f12.pNext = &coop;
    f12.vulkanMemoryModel = VK_TRUE;
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = dev->m_queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &f11;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  dci.ppEnabledExtensionNames = exts.data();
  TF_VK_CHECK(vkCreateDevice(dev->m_physical, &dci, nullptr, &dev->m_device));
  vkGetDeviceQueue(dev->m_device, dev->m_queue_family, 0, &dev->m_queue);
  if (en.push_descriptors) {
    dev->m_push_descriptor_fn = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
        vkGetDeviceProcAddr(dev->m_device, "vkCmdPushDescriptorSetKHR"));
    if (!dev->m_push_descriptor_fn) en.push_descriptors = false;
  }
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = dev->m_queue_family;
  TF_VK_CHECK(vkCreateCommandPool(dev->m_device, &pci, nullptr, &dev->m_command_pool));
  dev->m_allocator = std::make_unique<Allocator>(dev->m_device, dev->m_physical, dev->m_report);
  dev->m_pipelines = std::make_unique<PipelineCache>(*dev);
  dev->m_staging = std::make_unique<StagingPath>(*dev);
  return dev;
}

Device::~Device() {
  if (m_device) vkDeviceWaitIdle(m_device);
  m_staging.reset();
  m_pipelines.reset();
  m_allocator.reset();
  if (m_command_pool) vkDestroyCommandPool(m_device, m_command_pool, nullptr);
  if (m_device) vkDestroyDevice(m_device, nullptr);
  if (m_messenger) {
    auto destroy_fn = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(m_instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy_fn) destroy_fn(m_instance, m_messenger, nullptr);
  }
  if (m_instance) vkDestroyInstance(m_instance, nullptr);
}

size_t Device::validationMessageCount() const {
  std::lock_guard<std::mutex> lock(m_sink->mutex);
  return m_sink->messages.size();
}

std::vector<std::string> Device::validationMessages() const {
  std::lock_guard<std::mutex> lock(m_sink->mutex);
  return m_sink->messages;
}

void Device::clearValidationMessages() {
  std::lock_guard<std::mutex> lock(m_sink->mutex);
  m_sink->messages.clear();
}

Result<Buffer> Device::createBuffer(uint64_t bytes, MemoryKind kind) { return m_allocator->createBuffer(bytes, kind); }
uint64_t Device::allocatedBytes() const { return m_allocator->allocatedBytes(); }
Status Device::upload(const BufferView& dst, const void* data, uint64_t bytes) { return m_staging->upload(dst, data, bytes); }
Status Device::download(const BufferView& src, void* data, uint64_t bytes) { return m_staging->download(src, data, bytes); }
Result<const Pipeline*> Device::pipeline(const PipelineDesc& desc) { return m_pipelines->get(desc); }

}  // namespace tokenfab::vk
