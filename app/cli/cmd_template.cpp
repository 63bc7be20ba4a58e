// tokenfab-cli template (-m MODEL | --template FILE.jinja [--bos S] [--eos S]) --messages FILE.json
//                       [--tools FILE.json] [--no-generation-prompt] [--llama-cpp]
// Prints the rendered prompt exactly as the model will see it (no newline added), or the
// template's error on stderr with exit status 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "cli.h"
#include "tokenfab/chat_template.h"
#include "tokenfab/gguf.h"

namespace tokenfab::cli {
namespace {

constexpr const char* kUsage =
    "usage: tokenfab-cli template (-m MODEL | --template FILE.jinja [--bos S] [--eos S])\n"
    "                             --messages FILE.json [--tools FILE.json] [--no-generation-prompt] [--llama-cpp]\n"
    "  -m MODEL                 use the model's tokenizer.chat_template (or a built-in one\n"
    "                           picked from its vocabulary) and its BOS/EOS texts\n"
    "  --template FILE          a Jinja chat template file\n"
    "  --bos S, --eos S         bos_token / eos_token texts (with --template; override with -m)\n"
    "  --messages FILE          JSON array of {\"role\": ..., \"content\": ...} messages\n"
    "  --tools FILE             JSON array of tool definitions, passed as `tools`\n"
    "  --no-generation-prompt   add_generation_prompt = false\n"
    "  --llama-cpp              render as llama.cpp does (system-role polyfill, BOS/EOS removal)\n";

bool readText(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

Result<nlohmann::ordered_json> readJson(const std::string& path) {
  std::string text;
  if (!readText(path, text)) return Status(Code::kIoError, "cannot read " + path);
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::kInvalidArgument, path + ": not valid JSON");
  return j;
}

int runTemplate(std::span<const std::string> raw_args) {
  Args args(raw_args);
  if (args.flag("--help", "-h")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::optional<std::string> model = args.value("--model", "-m");
  const std::optional<std::string> template_file = args.value("--template");
  const std::optional<std::string> bos = args.value("--bos");
  const std::optional<std::string> eos = args.value("--eos");
  const std::optional<std::string> messages_file = args.value("--messages");
  const std::optional<std::string> tools_file = args.value("--tools");
  const bool no_generation_prompt = args.flag("--no-generation-prompt");
  const bool llama_cpp = args.flag("--llama-cpp");
  if (const auto unknown = args.unknownOptions(); !unknown.empty()) return usageError("unknown option " + unknown[0]);
  if (!args.positionals().empty()) return usageError("unexpected argument " + args.positionals()[0]);
  if (model.has_value() == template_file.has_value())
    return usageError(std::string("template needs exactly one of -m MODEL or --template FILE\n") + kUsage);
  if (!messages_file) return usageError(std::string("template needs --messages FILE.json\n") + kUsage);

  RenderOptions opts;
  std::optional<ModelChatTemplate> model_template;
  std::string source;
  if (model) {
    auto file = gguf::GgufFile::open(*model);
    if (!file) return failure(*model + ": " + file.status().toString());
    auto info = chatTemplateForModel(file.value());
    if (!info) return failure(*model + ": " + info.status().toString());
    if (!info->fallback_reason.empty())
      std::cerr << "tokenfab-cli: " << *model << ": its chat template fails (" << info->fallback_reason
                << "); using the built-in '" << info->builtin_name << "' template\n";
    else if (!info->builtin_name.empty())
      std::cerr << "tokenfab-cli: " << *model << " has no chat template; using the built-in '"
                << info->builtin_name << "' template\n";
    opts.bos_token = info->bos_token;
    opts.eos_token = info->eos_token;
    model_template = std::move(info).value();
  } else if (!readText(*template_file, source)) {
    return failure("cannot read " + *template_file);
  }
  if (bos) opts.bos_token = *bos;
  if (eos) opts.eos_token = *eos;
  opts.add_generation_prompt = !no_generation_prompt;
  opts.llama_cpp_compat = llama_cpp;

  auto messages = readJson(*messages_file);
  if (!messages) return failure(messages.status().toString());
  if (tools_file) {
    auto tools = readJson(*tools_file);
    if (!tools) return failure(tools.status().toString());
    opts.tools = std::move(tools).value();
  }
  // A model's template falls back to the built-in one when it fails; a --template file is shown
  // as it is, errors included.
  std::string note;
  auto out = model_template ? renderModelChatTemplate(*model_template, messages.value(), opts, &note)
                            : renderChatTemplate(source, messages.value(), opts);
  if (!note.empty()) std::cerr << "tokenfab-cli: " << note << "\n";
  if (!out) return failure(out.status().toString());
  std::fwrite(out->data(), 1, out->size(), stdout);
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("template", "render a chat template for a conversation", runTemplate);

}  // namespace tokenfab::cli
