// renderChatTemplate(): the public entry to the Jinja subset, plus llama.cpp's optional
// conveniences (system-role polyfill, leading-BOS removal).
#include "tokenfab/chat_template.h"

#include "template/jinja_template.h"

namespace tokenfab {

namespace {

constexpr const char* kSystemNeedle = "<System Needle 7f3a>";

jinja::Limits toJinjaLimits(const TemplateLimits& l) {
  jinja::Limits out;
  static_cast<TemplateLimits&>(out) = l;
  return out;
}

// The template's variables. JSON nested deeper than values may nest is refused here, before
// the template runs.
Status setVariables(jinja::ValueDict& vars, const nlohmann::ordered_json& messages, const RenderOptions& opts) {
  try {
    vars.set("messages", jinja::Value::fromJson(messages));
    vars.set("bos_token", jinja::Value::string(opts.bos_token));
    vars.set("eos_token", jinja::Value::string(opts.eos_token));
    vars.set("add_generation_prompt", jinja::Value::boolean(opts.add_generation_prompt));
    vars.set("tools", jinja::Value::fromJson(opts.tools));
    if (opts.extra_context.is_object()) {
      for (auto it = opts.extra_context.begin(); it != opts.extra_context.end(); ++it)
        vars.set(it.key(), jinja::Value::fromJson(it.value()));
    }
  } catch (const jinja::JinjaError& e) {
    return Status(Code::kInvalidArgument, "template variables: " + e.message);
  }
  return Status::ok();
}

Result<std::string> renderParsed(const jinja::Template& tmpl, const nlohmann::ordered_json& messages,
                                 const RenderOptions& opts) {
  jinja::RenderContext ctx;
  ctx.limits = toJinjaLimits(opts.limits);
  if (opts.now) ctx.now = *opts.now;
  TF_RETURN_IF_ERROR(setVariables(ctx.variables, messages, opts));
  return jinja::renderTemplate(tmpl, ctx, opts.usage);
}

// A template "supports" the system role when a system message's text reaches its output.
bool supportsSystemRole(const jinja::Template& tmpl, const RenderOptions& opts) {
  nlohmann::ordered_json probe = nlohmann::ordered_json::array();
  probe.push_back({{"role", "system"}, {"content", kSystemNeedle}});
  probe.push_back({{"role", "user"}, {"content", "Hey"}});
  Result<std::string> out = renderParsed(tmpl, probe, opts);
  return out.isOk() && out->find(kSystemNeedle) != std::string::npos;
}

// System messages are held back and prepended ("\n"-joined) to the next user message; one
// with no user message after it becomes a user message of its own.
nlohmann::ordered_json foldSystemIntoUser(const nlohmann::ordered_json& messages) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::string pending;
  auto flush = [&] {
    if (pending.empty()) return;
    out.push_back({{"role", "user"}, {"content", pending}});
    pending.clear();
  };
  for (const auto& m : messages) {
    std::string role = m.is_object() && m.contains("role") && m["role"].is_string() ? m["role"].get<std::string>() : "";
    std::string content =
        m.is_object() && m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
    if (role == "system") {
      if (!pending.empty()) pending += "\n";
      pending += content;
      continue;
    }
    if (role == "user" && !pending.empty()) {
      nlohmann::ordered_json merged = m;
      merged["content"] = content.empty() ? pending : pending + "\n" + content;
      pending.clear();
      out.push_back(std::move(merged));
      continue;
    }
    flush();
    out.push_back(m);
  }
  flush();
  return out;
}

}  // namespace

nlohmann::ordered_json toJson(const std::vector<ChatMessage>& messages) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["role"] = m.role;
    j["content"] = m.content;
    if (m.extra.is_object())
      for (auto it = m.extra.begin(); it != m.extra.end(); ++it) j[it.key()] = it.value();
    out.push_back(std::move(j));
  }
  return out;
}

Status checkChatTemplate(const std::string& tmpl) {
  auto parsed = jinja::parseTemplate(tmpl, toJinjaLimits(TemplateLimits{}));
  return parsed.isOk() ? Status::ok() : parsed.status();
}

Result<ChatTemplate> ChatTemplate::parse(const std::string& source, bool llama_cpp_compat) {
  jinja::LexOptions lex;
  lex.lstrip_variables = llama_cpp_compat;
  TF_ASSIGN_OR_RETURN(std::shared_ptr<const jinja::Template> parsed,
                      jinja::parseTemplate(source, toJinjaLimits(TemplateLimits{}), lex));
  return ChatTemplate(std::move(parsed));
}

Result<std::string> renderChatTemplate(const std::string& tmpl, const nlohmann::ordered_json& messages,
                                       const RenderOptions& opts) {
  if (!messages.is_array()) return Status(Code::kInvalidArgument, "messages must be a JSON array");
  TF_ASSIGN_OR_RETURN(ChatTemplate parsed, ChatTemplate::parse(tmpl, opts.llama_cpp_compat));
  return parsed.render(messages, opts);
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages, const RenderOptions& opts) const {
  if (!messages.is_array()) return Status(Code::kInvalidArgument, "messages must be a JSON array");
  const jinja::Template* parsed = m_tmpl.get();
  if (!opts.llama_cpp_compat) return renderParsed(*parsed, messages, opts);
  nlohmann::ordered_json actual = supportsSystemRole(*parsed, opts) ? messages : foldSystemIntoUser(messages);
  TF_ASSIGN_OR_RETURN(std::string out, renderParsed(*parsed, actual, opts));
  const std::string& bos = opts.bos_token;
  const std::string& eos = opts.eos_token;
  if (!bos.empty() && out.compare(0, bos.size(), bos) == 0) out.erase(0, bos.size());
  if (!eos.empty() && out.size() >= eos.size() && out.compare(out.size() - eos.size(), eos.size(), eos) == 0)
    out.erase(out.size() - eos.size());
  return out;
}

Result<std::string> renderChatTemplate(const std::string& tmpl, const std::vector<ChatMessage>& messages,
                                       const RenderOptions& opts) {
  return renderChatTemplate(tmpl, toJson(messages), opts);
}

}  // namespace tokenfab
