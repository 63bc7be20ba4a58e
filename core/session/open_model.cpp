#include "session/open_model.h"

#include "tokenfab/support.h"

namespace tokenfab::detail {

Result<Opened> openModelFile(const std::filesystem::path& path, const ProgressFn& progress) {
  if (progress && !progress({"reading", 0, 1})) return Status(Code::kCancelled, "loading cancelled");
  TF_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(path));
  TF_RETURN_IF_ERROR(checkRunnable(file));
  TF_ASSIGN_OR_RETURN(model::ModelConfig config, model::ModelConfig::fromGguf(file));
  TF_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::fromGguf(file));
  if (tokenizer.vocabSize() < config.n_vocab)
    return Status(Code::kModelBadShape, "the vocabulary has " + std::to_string(tokenizer.vocabSize()) +
                                            " tokens but the output projection has " + std::to_string(config.n_vocab) + " rows");
  std::optional<std::string> tmpl;
  if (auto t = file.getString("tokenizer.chat_template"); t.isOk()) tmpl = *t;
  return Opened{std::move(file), std::move(config), std::move(tokenizer), std::move(tmpl)};
}

Result<std::unique_ptr<model::GpuModel>> loadGpuModel(const Opened& opened, const EngineOptions& options,
                                                      const ProgressFn& progress) {
  vk::DeviceOptions dev_options;
  dev_options.validation = options.validation;
  dev_options.disable_optional = options.disable_optional;
  dev_options.setChoice(options.device);
  TF_ASSIGN_OR_RETURN(std::unique_ptr<vk::Device> device, vk::Device::create(dev_options));
  return model::GpuModel::load(opened.file, opened.config, std::move(device), options.kv_f16, progress);
}

}  // namespace tokenfab::detail
