#include "engine_worker.h"

#include <QElapsedTimer>

#include <algorithm>

#include "tokenfab/gguf.h"

namespace tokenfab::gui {

namespace {


}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}

EngineWorker::~EngineWorker() {
  m_session.reset();
  m_engine.reset();
}

void EngineWorker::registerMetaTypes() {
  qRegisterMetaType<tokenfab::gui::ModelInfo>("tokenfab::gui::ModelInfo");
  qRegisterMetaType<tokenfab::gui::TokenStep>("tokenfab::gui::TokenStep");
  qRegisterMetaType<tokenfab::gui::GenerateRequest>("tokenfab::gui::GenerateRequest");
  qRegisterMetaType<tokenfab::gui::GenerateSummary>("tokenfab::gui::GenerateSummary");
  qRegisterMetaType<tokenfab::gui::LogitsRequest>("tokenfab::gui::LogitsRequest");
  qRegisterMetaType<tokenfab::gui::LogitsResult>("tokenfab::gui::LogitsResult");
}

void EngineWorker::unloadModel() {
  m_session.reset();
  m_engine.reset();
}

void EngineWorker::loadModel(const QString& path, int backend, const QString& device) {
  m_cancel_load.store(false);
  m_session.reset();
  m_engine.reset();
  QElapsedTimer clock;
  clock.start();
  EngineOptions options;
  options.backend = backend == int(Backend::kReference) ? Backend::kReference : Backend::kVulkan;
  options.device = device.toStdString();
  const std::filesystem::path file = path.toStdString();
  ProgressFn progress = [this](const LoadProgress& p) {
    const double fraction = p.total > 0 ? double(p.done) / double(p.total) : 0.0;
    emit loadProgressed(QString::fromUtf8(p.stage.data(), qsizetype(p.stage.size())), fraction);
    return !m_cancel_load.load();
  };
  auto engine = Engine::open(file, options, progress);
  if (!engine.isOk() && options.backend == Backend::kVulkan && engine.status().code() == Code::kVkNoDevice) {
    // No Vulkan device at all (e.g. no driver): the exact CPU reference still runs small models.
    emit loadProgressed(tr("no Vulkan device, using the CPU reference"), 0.0);
    options.backend = Backend::kReference;
    engine = Engine::open(file, options, progress);
  }
  if (!engine.isOk()) {
    emit loadFailed(statusText(engine.status()));
    return;
  }
  auto session = (*engine)->newSession(0);
  if (!session.isOk()) {
    emit loadFailed(statusText(session.status()));
    return;
  }
  // A second tokenizer for the GUI thread, so no engine object is ever shared between threads.
  auto gguf_file = gguf::GgufFile::open(file);
  if (!gguf_file.isOk()) {
    emit loadFailed(statusText(gguf_file.status()));
    return;
  }
  auto tokenizer = Tokenizer::fromGguf(*gguf_file);
  if (!tokenizer.isOk()) {
    emit loadFailed(statusText(tokenizer.status()));
    return;
  }
  m_engine = std::move(*engine);
  m_session = std::move(*session);

  ModelInfo info;
  const auto& config = m_engine->config();
  info.path = path;
  info.name = QString::fromStdString(config.name.empty() ? file.stem().string() : config.name);
  info.arch = QString::fromStdString(config.arch);
  info.n_vocab = config.n_vocab;
  info.n_ctx = m_session->contextSize();
  info.n_layer = config.n_layer;
  info.n_embd = config.n_embd;
  info.n_params = config.n_params;
  info.weight_bytes = m_engine->weightBytes();
  // Core decides whether the model's template works or a built-in one replaces it (also when the
  // model has none: chat is offered on every model, as the CLI's --chat does).
  if (auto chosen = chatTemplateForModel(*gguf_file); chosen.isOk())
    info.chat_template = std::move(chosen).value();
  const Tokenizer& tok = *tokenizer;
  if (tok.bos() >= 0) info.bos_token = tok.tokenText(tok.bos());
  if (tok.eos() >= 0) info.eos_token = tok.tokenText(tok.eos());
  info.device = m_engine->device();
  info.backend = m_engine->backend();
  info.load_ms = double(clock.elapsed());
  info.tokenizer = std::make_shared<const Tokenizer>(std::move(*tokenizer));
  emit modelLoaded(info);
}

void EngineWorker::measureBandwidth() {
  if (!m_engine) return;
  auto gbps = m_engine->measureStreamBandwidth();
  if (gbps.isOk()) emit bandwidthMeasured(*gbps);
}

Result<size_t> EngineWorker::keepCommonPrefix(const std::vector<int32_t>& context) {
  const auto& held = m_session->tokens();
  size_t common = 0;
  while (common < held.size() && common < context.size() && held[common] == context[common]) ++common;
  common = std::min(common, context.size() - 1);
  TF_RETURN_IF_ERROR(m_session->rewind(int32_t(common)));
  return common;
}

void EngineWorker::recomputeLogits(const LogitsRequest& request) {
  LogitsResult result;
  result.request_id = request.request_id;
  const auto fail = [&](const QString& message) {
    result.error = message;
    emit logitsRecomputed(result);
  };
  if (!m_session || !m_engine) return fail(tr("No model is loaded."));
  if (request.context.empty()) return fail(tr("The step has no context."));
  auto kept = keepCommonPrefix(request.context);
  if (!kept.isOk()) return fail(statusText(kept.status()));
  // The uncached tokens but the last in one prefill, then the last alone: the step's logits
  // come from a single-token decode, as they did when it was generated.
  const std::span<const int32_t> context(request.context);
  const size_t last = context.size() - 1;
  if (*kept < last) {
    if (auto r = m_session->decode(context.subspan(*kept, last - *kept)); !r.isOk()) return fail(statusText(r.status()));
  }
  auto logits = m_session->decode(context.subspan(last, 1));
  if (!logits.isOk()) return fail(statusText(logits.status()));
  result.logits.assign(logits->begin(), logits->end());
  emit logitsRecomputed(result);
}

void EngineWorker::generate(const GenerateRequest& request) {
  if (!m_session || !m_engine) {
    emit generationFailed(request.request_id, tr("No model is loaded."));
    return;
  }
  if (request.context.empty()) {
    emit generationFailed(request.request_id, tr("Nothing to generate from: the prompt is empty."));
    return;
  }
  emit generationStarted(request.request_id);
  auto kept = keepCommonPrefix(request.context);
  if (!kept.isOk()) {
    emit generationFailed(request.request_id, statusText(kept.status()));
    return;
  }
  const size_t common = *kept;
  m_session->resetTimings();
  GenerateOptions options;
  options.sampler = request.sampler;
  options.seed = request.seed;
  options.max_tokens = request.max_tokens;
  options.stop = &m_stop;
  options.keep_full_logits = request.keep_full_logits;
  int32_t generated = 0;
  const uint64_t id = request.request_id;
  StepFn on_step = [&](const StepEvent& event) {
    TokenStep step;
    step.trace = event.trace;
    step.text = event.text;
    step.step_ms = event.step_ms;
    if (request.keep_full_logits) step.logits.assign(event.logits.begin(), event.logits.end());
    ++generated;
    emit tokenGenerated(id, step);
    return true;
  };
  const std::span<const int32_t> prompt(request.context.data() + common, request.context.size() - common);
  auto result = m_session->generate(prompt, options, on_step);
  if (!result.isOk()) {
    emit generationFailed(id, statusText(result.status()));
    return;
  }
  GenerateSummary summary;
  summary.request_id = id;
  summary.reason = result->reason;
  summary.generated = generated;
  summary.timings = m_session->timings();
  summary.position = m_session->position();
  summary.context_size = m_session->contextSize();
  emit generationFinished(summary);
}

}  // namespace tokenfab::gui
