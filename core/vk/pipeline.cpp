// Compute pipelines from embedded SPIR-V with specialization constants, cached by key.
#include <string>
#include <vector>

#include "tokenfab/shaders.h"
#include "vk/internal.h"

namespace tokenfab::vk {

std::string PipelineDesc::key() const {
  std::string k = shader + "|" + std::to_string(bindings) + "|" + std::to_string(push_bytes);
  for (uint32_t s : spec) k.append("|").append(std::to_string(s));
  return k;
}

PipelineCache::~PipelineCache() {
  VkDevice d = m_device.handle();
  for (auto& [key, p] : m_pipelines) {
    if (p->pipeline) vkDestroyPipeline(d, p->pipeline, nullptr);
    if (p->layout) vkDestroyPipelineLayout(d, p->layout, nullptr);
    if (p->set_layout) vkDestroyDescriptorSetLayout(d, p->set_layout, nullptr);
  }
}

Result<const Pipeline*> PipelineCache::get(const PipelineDesc& desc) {
  const std::string key = desc.key();
  if (auto it = m_pipelines.find(key); it != m_pipelines.end()) return it->second.get();
  const auto words = shaders::find(desc.shader);
  if (words.empty()) return Status(Code::kNotFound, "no embedded shader named '" + desc.shader + "'");
  if (desc.push_bytes > m_device.report().max_push_constants_size)
    return Status(Code::kLimitExceeded, desc.shader + ": push constants exceed maxPushConstantsSize");
  VkDevice d = m_device.handle();
  auto p = std::make_unique<Pipeline>();
  p->name = desc.shader;
  p->bindings = desc.bindings;
  p->push_bytes = desc.push_bytes;
  // On an error return the partially built pipeline is destroyed via this guard.
  struct Guard {
    VkDevice d;
    Pipeline* p;
    ~Guard() {
      if (!p) return;
      if (p->pipeline) vkDestroyPipeline(d, p->pipeline, nullptr);
      if (p->layout) vkDestroyPipelineLayout(d, p->layout, nullptr);
      if (p->set_layout) vkDestroyDescriptorSetLayout(d, p->set_layout, nullptr);
    }
  } guard{d, p.get()};

  std::vector<VkDescriptorSetLayoutBinding> bindings(desc.bindings);
  for (uint32_t i = 0; i < desc.bindings; ++i) {
    bindings[i] = {};
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dsl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  if (m_device.features().push_descriptors) dsl.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  dsl.bindingCount = desc.bindings;
  dsl.pBindings = bindings.data();
  TF_VK_CHECK(vkCreateDescriptorSetLayout(d, &dsl, nullptr, &p->set_layout));

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &p->set_layout;
  pl.pushConstantRangeCount = desc.push_bytes ? 1 : 0;
  pl.pPushConstantRanges = &range;
  TF_VK_CHECK(vkCreatePipelineLayout(d, &pl, nullptr, &p->layout));

  VkShaderModuleCreateInfo smi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smi.codeSize = words.size() * sizeof(uint32_t);
  smi.pCode = words.data();
  VkShaderModule module = VK_NULL_HANDLE;
  TF_VK_CHECK(vkCreateShaderModule(d, &smi, nullptr, &module));

  std::vector<VkSpecializationMapEntry> entries(desc.spec.size());
  for (uint32_t i = 0; i < desc.spec.size(); ++i)
    entries[i] = {i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo spec{static_cast<uint32_t>(entries.size()), entries.data(),
                            desc.spec.size() * sizeof(uint32_t), desc.spec.data()};
  VkComputePipelineCreateInfo cpi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = module;
  cpi.stage.pName = "main";
  cpi.stage.pSpecializationInfo = desc.spec.empty() ? nullptr : &spec;
  cpi.layout = p->layout;
  VkResult r = vkCreateComputePipelines(d, VK_NULL_HANDLE, 1, &cpi, nullptr, &p->pipeline);
  vkDestroyShaderModule(d, module, nullptr);
  TF_RETURN_IF_ERROR(vkStatus(r, std::string("vkCreateComputePipelines(").append(desc.shader).append(")")));
  guard.p = nullptr;
  const Pipeline* out = p.get();
  m_pipelines.emplace(key, std::move(p));
  return out;
}

}  // namespace tokenfab::vk
