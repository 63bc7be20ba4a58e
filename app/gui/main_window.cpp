#include "main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QShortcut>
#include <QStatusBar>

#include "chat_panel.h"
#include "sampler_panel.h"
#include "timeline_panel.h"
#include "token_inspector.h"
#include "tokenfab/chat_template.h"

namespace tokenfab::gui {

namespace {

// Full logits ride along with each step (exact what-if) while they are small.
constexpr int32_t kMaxVocabForFullLogits = 65536;
constexpr int kRefreshMs = 40;
constexpr int kSamplerRefreshMs = 300;

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  EngineWorker::registerMetaTypes();
  setWindowTitle(QStringLiteral("tokenfab"));
  resize(1280, 800);
  setAcceptDrops(true);

  m_worker = new EngineWorker();
  m_worker->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(m_worker, &EngineWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(m_worker, &EngineWorker::loadFailed, this, &MainWindow::onLoadFailed);
  connect(m_worker, &EngineWorker::tokenGenerated, this, &MainWindow::onTokenGenerated);
  connect(m_worker, &EngineWorker::generationFinished, this, &MainWindow::onGenerationFinished);
  connect(m_worker, &EngineWorker::generationFailed, this, &MainWindow::onGenerationFailed);
  connect(m_worker, &EngineWorker::logitsRecomputed, this, &MainWindow::onLogitsRecomputed);
  connect(m_worker, &EngineWorker::bandwidthMeasured, this, [this](double gbps) {
    m_stream_gbps = gbps;
    m_efficiency->setText(efficiencyText());
  });
  connect(m_worker, &EngineWorker::loadProgressed, this, [this](const QString& stage, double fraction) {
    if (!isLoading()) return;
    m_progress->setFormat(stage + QStringLiteral(" %p%"));
    m_progress->setValue(int(fraction * 100.0));
  });
  m_thread.setObjectName(QStringLiteral("tokenfab-engine"));
  m_thread.start();

  m_chat = new ChatPanel(this);
  setCentralWidget(m_chat);
  buildDocks();

  m_efficiency = new QLabel(this);
  m_efficiency->setTextInteractionFlags(Qt::TextSelectableByMouse);
  statusBar()->addPermanentWidget(m_efficiency, 1);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 100);
  m_progress->setMaximumWidth(260);
  m_progress->setVisible(false);
  m_cancel_load = new QPushButton(tr("Cancel"), this);
  m_cancel_load->setVisible(false);
  statusBar()->addPermanentWidget(m_progress);
  statusBar()->addPermanentWidget(m_cancel_load);
  connect(m_cancel_load, &QPushButton::clicked, this, [this] { m_worker->cancelLoad(); });

  m_refresh.setSingleShot(true);
  m_refresh.setInterval(kRefreshMs);
  connect(&m_refresh, &QTimer::timeout, this, &MainWindow::refreshNow);
  m_sampler_timer.setSingleShot(true);
  connect(&m_sampler_timer, &QTimer::timeout, this, [this] { refreshSelection(m_generating && m_follow_latest); });

  connect(m_chat, &ChatPanel::sendRequested, this, [this](const QString& text, bool edit) { send(text, edit); });
  connect(m_chat, &ChatPanel::stopRequested, this, &MainWindow::stopGeneration);
  connect(m_chat, &ChatPanel::regenerateRequested, this, &MainWindow::regenerate);
  connect(m_chat, &ChatPanel::tokenClicked, this, [this](int turn, int step) {
    if (turn == -2) {
      refreshNow();  // token view toggled
    } else {
      selectStep(turn, step);
    }
  });
  connect(m_chat, &ChatPanel::alternativeRequested, this, [this](int turn) {
    if (m_generating) return;
    m_conversation.select(turn);
    m_selected_turn = m_conversation.leaf();
    m_selected_step = m_selected_turn >= 0 ? int(m_conversation.turn(m_selected_turn).steps.size()) - 1 : -1;
    refreshSelection();
    refreshNow();
  });
  connect(m_chat, &ChatPanel::modeChanged, this, [this](bool chat) {
    if (m_conversation.empty()) m_conversation.chat_mode = chat;
  });
  connect(m_timeline, &TimelinePanel::stepClicked, this, [this](int step) { selectStep(m_selected_turn, step); });
  connect(m_inspector, &TokenInspector::branchRequested, this, &MainWindow::branchFrom);

  auto* send_key = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
  connect(send_key, &QShortcut::activated, this, [this] { send(m_chat->inputText(), m_chat->editing()); });
  auto* send_key2 = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Enter), this);
  connect(send_key2, &QShortcut::activated, this, [this] { send(m_chat->inputText(), m_chat->editing()); });
  auto* stop_key = new QShortcut(QKeySequence(Qt::Key_Escape), this);
  connect(stop_key, &QShortcut::activated, this, &MainWindow::stopGeneration);
  auto* regen_key = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_R), this);
  connect(regen_key, &QShortcut::activated, this, &MainWindow::regenerate);
  auto* next_key = new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Right), this);
  connect(next_key, &QShortcut::activated, this, [this] { moveSelection(+1); });
  auto* prev_key = new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Left), this);
  connect(prev_key, &QShortcut::activated, this, [this] { moveSelection(-1); });

  buildMenus();
  loadSettings();
  m_efficiency->setText(efficiencyText());
  refreshNow();
}

MainWindow::~MainWindow() {
  m_worker->stop();
  m_worker->cancelLoad();
  m_thread.quit();
  m_thread.wait();
}

void MainWindow::buildDocks() {
  m_sampler = new SamplerPanel(this);
  m_inspector = new TokenInspector(this);
  m_timeline = new TimelinePanel(this);
  auto dock = [this](QWidget* widget, const QString& title, const QString& name, Qt::DockWidgetArea area) {
    auto* d = new QDockWidget(title, this);
    d->setObjectName(name);
    d->setWidget(widget);
    addDockWidget(area, d);
    return d;
  };
  dock(m_sampler, tr("Sampler"), QStringLiteral("sampler"), Qt::LeftDockWidgetArea);
  dock(m_inspector, tr("Token inspector"), QStringLiteral("inspector"), Qt::RightDockWidgetArea);
  dock(m_timeline, tr("Timeline"), QStringLiteral("timeline"), Qt::BottomDockWidgetArea);
  resizeDocks({findChild<QDockWidget*>(QStringLiteral("sampler")), findChild<QDockWidget*>(QStringLiteral("inspector"))},
              {330, 420}, Qt::Horizontal);
  resizeDocks({findChild<QDockWidget*>(QStringLiteral("timeline"))}, {190}, Qt::Vertical);
}

void MainWindow::openModel(const QString& path) {
  if (isLoading()) return;
  if (m_generating) stopGeneration();
  m_model_state = ModelState::kLoading;
  m_chat->setModelReady(false);
  m_progress->setValue(0);
  m_progress->setFormat(tr("loading %p%"));
  m_progress->setVisible(true);
  m_cancel_load->setVisible(true);
  statusBar()->showMessage(tr("Loading %1...").arg(path));
  emit modelReadyChanged(false);
  QMetaObject::invokeMethod(m_worker, "loadModel", Qt::QueuedConnection, Q_ARG(QString, path),
                            Q_ARG(int, int(m_backend)), Q_ARG(QString, m_device));
}

void MainWindow::onModelLoaded(const ModelInfo& info) {
  m_progress->setVisible(false);
  m_cancel_load->setVisible(false);
  m_model = info;
  m_model_state = ModelState::kReady;
  m_recomputed.clear();
  m_logits_request = 0;
  m_conversation.clear();
  m_conversation.model_name = info.name.toStdString();
  m_selected_turn = m_selected_step = -1;
  m_last_summary.reset();
  m_stream_gbps = 0.0;
  m_chat->setTokenizer(info.tokenizer.get());
  m_inspector->setTokenizer(info.tokenizer.get());
  m_sampler->setTokenizer(info.tokenizer.get());
  m_chat->setChatAvailable(info.chat_template.has_value(),
                           info.chat_template.has_value() && info.chat_template->has_own_template);
  m_conversation.chat_mode = m_chat->chatMode();
  m_chat->setModelReady(true);
  setWindowTitle(QStringLiteral("tokenfab — %1").arg(info.name));
  statusBar()->showMessage(tr("Loaded %1 in %2 ms").arg(info.name).arg(info.load_ms, 0, 'f', 0), 5000);
  m_template_notice.clear();
  if (info.chat_template && !info.chat_template->fallback_reason.empty()) {
    showTemplateNotice(tr("The model's chat template fails (%1); chat uses the built-in '%2' template.")
                           .arg(QString::fromStdString(info.chat_template->fallback_reason),
                                QString::fromStdString(info.chat_template->builtin_name)));
  } else if (info.chat_template && !info.chat_template->has_own_template) {
    showTemplateNotice(tr("The model has no chat template: completion mode; chat mode uses the built-in '%1' template.")
                           .arg(QString::fromStdString(info.chat_template->builtin_name)));
  }
  addRecent(info.path);
  QMetaObject::invokeMethod(m_worker, "measureBandwidth", Qt::QueuedConnection);
  refreshSelection();
  refreshNow();
  emit modelReadyChanged(true);
}

void MainWindow::onLoadFailed(const QString& message) {
  m_model_state = ModelState::kNone;
  m_progress->setVisible(false);
  m_cancel_load->setVisible(false);
  m_model = ModelInfo();
  m_chat->setTokenizer(nullptr);
  m_inspector->setTokenizer(nullptr);
  m_sampler->setTokenizer(nullptr);
  m_conversation.clear();
  refreshSelection();
  refreshNow();
  showError(tr("Could not load the model: %1").arg(message));
  emit modelReadyChanged(false);
}

void MainWindow::showError(const QString& message) {
  m_last_error = message;
  statusBar()->showMessage(message, 15000);
  emit errorShown(message);
  if (qEnvironmentVariableIsEmpty("TOKENFAB_NO_DIALOGS") && isVisible()) {
    QMessageBox::warning(this, tr("tokenfab"), message);
  }
}

// One line in the status bar, not a dialog: the model still works, with another prompt format.
void MainWindow::showTemplateNotice(const QString& message) {
  m_template_notice = message;
  statusBar()->showMessage(message, 30000);
}

Result<std::vector<int32_t>> MainWindow::buildContext(int index, std::string* template_note) const {
  const Tokenizer* tok = m_model.tokenizer.get();
  if (!tok) return Status(Code::kInvalidArgument, "no model loaded");
  const Turn& turn = m_conversation.turn(index);
  if (m_conversation.chat_mode && m_model.chat_template) {
    std::vector<ChatMessage> messages;
    if (!m_conversation.system_prompt.empty()) messages.push_back({"system", m_conversation.system_prompt, {}});
    std::vector<int> chain;
    for (int i = index; i >= 0; i = m_conversation.turn(i).parent) chain.insert(chain.begin(), i);
    for (int i : chain) {
      messages.push_back({"user", m_conversation.turn(i).user, {}});
      if (i != index) messages.push_back({"assistant", m_conversation.turn(i).reply(), {}});
    }
    RenderOptions options;
    options.bos_token = m_model.bos_token;
    options.eos_token = m_model.eos_token;
    options.add_generation_prompt = true;
    TF_ASSIGN_OR_RETURN(std::string text,
                        renderModelChatTemplate(*m_model.chat_template, messages, options, template_note));
    EncodeOptions encode;
    encode.parse_special = true;
    // Templates that write the BOS text themselves must not get a second one.
    encode.add_special = m_model.bos_token.empty() || text.rfind(m_model.bos_token, 0) != 0;
    return tok->encode(text, encode);
  }
  if (turn.parent < 0) return tok->encode(turn.user, EncodeOptions{true, false});
  std::vector<int32_t> context = m_conversation.turn(turn.parent).tokensAfter(tok->eogIds());
  if (!turn.user.empty()) {
    TF_ASSIGN_OR_RETURN(std::vector<int32_t> more, tok->encode(turn.user, EncodeOptions{false, false}));
    context.insert(context.end(), more.begin(), more.end());
  }
  return context;
}

void MainWindow::send(const QString& text, bool edit) {
  if (!modelReady() || m_generating) return;
  m_conversation.system_prompt = m_chat->systemPrompt().toStdString();
  const int leaf = m_conversation.leaf();
  const int parent = edit && leaf >= 0 ? m_conversation.turn(leaf).parent : leaf;
  if (m_conversation.empty()) m_conversation.chat_mode = m_chat->chatMode();
  const int turn = m_conversation.addTurn(parent, text.toStdString());
  std::string template_note;
  auto context = buildContext(turn, &template_note);
  if (!template_note.empty()) showTemplateNotice(QString::fromStdString(template_note));
  m_chat->clearEditing();
  m_chat->setInputText(QString());
  if (!context.isOk()) {
    showError(tr("Could not build the prompt: %1").arg(QString::fromStdString(context.status().toString())));
    refreshNow();
    return;
  }
  startGeneration(turn, *context);
}

void MainWindow::regenerate() {
  if (!modelReady() || m_generating) return;
  const int leaf = m_conversation.leaf();
  if (leaf < 0) return;
  const Turn& old = m_conversation.turn(leaf);
  const int turn = m_conversation.addTurn(old.parent, old.user);
  std::string template_note;
  auto context = buildContext(turn, &template_note);
  if (!template_note.empty()) showTemplateNotice(QString::fromStdString(template_note));
  if (!context.isOk()) {
    showError(tr("Could not build the prompt: %1").arg(QString::fromStdString(context.status().toString())));
    return;
  }
  startGeneration(turn, *context);
}

void MainWindow::branchFrom(int turn_index, int step, int candidate) {
  if (!modelReady() || m_generating) return;
  if (turn_index < 0 || turn_index >= m_conversation.size()) return;
  const Turn& source = m_conversation.turn(turn_index);
  if (step < 0 || size_t(step) >= source.steps.size()) return;
  const Tokenizer* tok = m_model.tokenizer.get();
  if (!tok || candidate < 0 || candidate >= tok->vocabSize()) return;
  // Copy what the new turn needs before addTurn() grows the vector.
  const int parent = source.parent;
  const std::string user = source.user;
  const std::vector<int32_t> context = source.context;
  std::vector<TokenStep> steps(source.steps.begin(), source.steps.begin() + step);
  TokenStep forced = source.steps[size_t(step)];
  double final_p = 0.0;
  for (size_t i = 0; i < forced.trace.raw_top.size(); ++i) {
    if (forced.trace.raw_top[i].id == candidate) final_p = TokenInspector::finalProb(forced.trace, i);
  }
  forced.trace.token = candidate;
  forced.trace.chosen_prob = final_p;
  forced.trace.text = tok->piece(candidate);
  forced.text = tok->tokenBytes(candidate);
  forced.forced = true;
  const SamplerConfig settings = source.settings;
  const uint64_t seed = source.seed;

  const int branch = m_conversation.addTurn(parent, user);
  Turn& turn = m_conversation.turn(branch);
  turn.context = context;
  turn.steps = std::move(steps);
  turn.steps.push_back(std::move(forced));
  turn.settings = settings;
  turn.seed = seed;
  if (tok->isEog(candidate)) {  // nothing follows an end-of-generation token
    m_selected_turn = branch;
    m_selected_step = step;
    refreshSelection();
    refreshNow();
    return;
  }
  std::vector<int32_t> full = turn.history(turn.steps.size());
  m_follow_latest = true;
  startGeneration(branch, full);
}

void MainWindow::startGeneration(int turn_index, const std::vector<int32_t>& context) {
  Turn& turn = m_conversation.turn(turn_index);
  if (turn.steps.empty()) {
    turn.context = context;
    turn.settings = m_sampler->config();
    // Every alternative gets its own seed, so regenerating gives a different reply.
    turn.seed = m_sampler->seed() + uint64_t(turn_index);
  }
  GenerateRequest request;
  request.request_id = ++m_request_id;
  request.context = context;
  request.sampler = turn.settings;
  request.seed = turn.seed + turn.steps.size();
  request.max_tokens = m_sampler->maxTokens();
  request.keep_full_logits = m_model.n_vocab <= kMaxVocabForFullLogits;
  m_generating_turn = turn_index;
  m_generating = true;
  m_follow_latest = true;
  m_selected_turn = turn_index;
  m_selected_step = int(turn.steps.size()) - 1;
  m_chat->setGenerating(true);
  m_inspector->setBranchEnabled(false);
  m_worker->clearStop();  // safe: no generation is running
  QMetaObject::invokeMethod(m_worker, "generate", Qt::QueuedConnection,
                            Q_ARG(tokenfab::gui::GenerateRequest, request));
  refreshSelection();
  refreshNow();
}

void MainWindow::stopGeneration() {
  if (m_generating) m_worker->stop();
  if (isLoading()) m_worker->cancelLoad();
}

void MainWindow::onTokenGenerated(quint64 request_id, const TokenStep& step) {
  if (request_id != m_request_id || m_generating_turn < 0) return;
  Turn& turn = m_conversation.turn(m_generating_turn);
  turn.steps.push_back(step);
  if (m_follow_latest) {
    m_selected_turn = m_generating_turn;
    m_selected_step = int(turn.steps.size()) - 1;
  }
  scheduleRefresh();
}

void MainWindow::onGenerationFinished(const GenerateSummary& summary) {
  if (summary.request_id != m_request_id) return;
  m_generating = false;
  m_generating_turn = -1;
  m_last_summary = summary;
  m_chat->setGenerating(false);
  m_inspector->setBranchEnabled(true);
  static const char* const kReasons[] = {"max tokens", "end of text", "stopped", "context full"};
  statusBar()->showMessage(tr("Generated %1 tokens (%2)").arg(summary.generated).arg(kReasons[int(summary.reason)]),
                           5000);
  refreshSelection();
  refreshNow();
  emit generationDone();
}

void MainWindow::onGenerationFailed(quint64 request_id, const QString& message) {
  if (request_id != m_request_id) return;
  m_generating = false;
  m_generating_turn = -1;
  m_chat->setGenerating(false);
  m_inspector->setBranchEnabled(true);
  refreshNow();
  showError(tr("Generation failed: %1").arg(message));
  emit generationDone();
}

const TokenStep* MainWindow::selectedTokenStep() const {
  if (m_selected_turn < 0 || m_selected_turn >= m_conversation.size()) return nullptr;
  const Turn& turn = m_conversation.turn(m_selected_turn);
  if (m_selected_step < 0 || size_t(m_selected_step) >= turn.steps.size()) return nullptr;
  return &turn.steps[size_t(m_selected_step)];
}

void MainWindow::selectStep(int turn, int step) {
  if (turn < 0 || turn >= m_conversation.size()) return;
  const int n = int(m_conversation.turn(turn).steps.size());
  if (n == 0) return;
  m_selected_turn = turn;
  m_selected_step = std::clamp(step, 0, n - 1);
  m_follow_latest = m_generating && turn == m_generating_turn && m_selected_step == n - 1;
  refreshSelection();
  refreshNow();
}

void MainWindow::moveSelection(int delta) {
  if (m_selected_turn < 0) {
    const int leaf = m_conversation.leaf();
    if (leaf >= 0) selectStep(leaf, 0);
    return;
  }
  selectStep(m_selected_turn, m_selected_step + delta);
}

void MainWindow::scheduleRefresh() {
  if (!m_refresh.isActive()) m_refresh.start();
}

void MainWindow::refreshSelection(bool throttled) {
  const TokenStep* step = selectedTokenStep();
  m_inspector->showStep(step, m_selected_turn, m_selected_step);
  m_inspector->setBranchEnabled(!m_generating);
  // While tokens stream in, the what-if funnel (a chain run per stage) follows at a slower pace.
  if (throttled && m_sampler_clock.isValid() && m_sampler_clock.elapsed() < kSamplerRefreshMs) {
    if (!m_sampler_timer.isActive()) m_sampler_timer.start(kSamplerRefreshMs);
    return;
  }
  m_sampler_timer.stop();
  m_sampler_clock.start();
  std::vector<int32_t> history;
  if (step) history = m_conversation.turn(m_selected_turn).history(size_t(m_selected_step));
  // A step without its full logits (a large vocabulary, or read from a session file) gets them
  // computed again, so the what-if is exact for every model; until then it is approximate.
  TokenStep with_logits;
  bool pending = false;
  if (step && step->logits.empty() && !throttled) {
    if (const std::vector<float>* logits = fullLogitsFor(history, &pending)) {
      with_logits = *step;
      with_logits.logits = *logits;
      step = &with_logits;
    }
  }
  m_sampler->setStep(step, std::move(history), /*live=*/throttled, pending);
}

const std::vector<float>* MainWindow::fullLogitsFor(const std::vector<int32_t>& history, bool* pending) {
  for (const auto& [context, logits] : m_recomputed)
    if (context == history) return &logits;
  *pending = m_logits_request != 0 && m_logits_pending == history;
  // The worker computes them between generations (the next generate() keeps what it can of
  // the cache); while it generates, the step stays approximate until it is selected again.
  if (*pending || m_generating || m_model_state != ModelState::kReady || history.empty()) return nullptr;
  LogitsRequest request;
  request.request_id = ++m_request_id;
  request.context = history;
  m_logits_request = request.request_id;
  m_logits_pending = history;
  *pending = true;
  QMetaObject::invokeMethod(m_worker, "recomputeLogits", Qt::QueuedConnection,
                            Q_ARG(tokenfab::gui::LogitsRequest, request));
  return nullptr;
}

void MainWindow::onLogitsRecomputed(const LogitsResult& result) {
  if (result.request_id != m_logits_request) return;  // superseded, or from another model
  m_logits_request = 0;
  if (!result.error.isEmpty()) {
    statusBar()->showMessage(tr("Could not compute the step's full logits: %1").arg(result.error), 10000);
    return;
  }
  constexpr size_t kKept = 8;
  if (m_recomputed.size() == kKept) m_recomputed.pop_front();
  m_recomputed.emplace_back(std::move(m_logits_pending), result.logits);
  m_logits_pending.clear();
  refreshSelection();
}

void MainWindow::refreshNow() {
  m_refresh.stop();
  m_chat->render(m_conversation, m_selected_turn, m_selected_step);
  static const std::vector<TokenStep> kNone;
  const auto& steps = m_selected_turn >= 0 ? m_conversation.turn(m_selected_turn).steps : kNone;
  m_timeline->setSteps(steps);
  m_timeline->setSelected(m_selected_step);
  if (m_generating && m_follow_latest) refreshSelection(/*throttled=*/true);
  m_efficiency->setText(efficiencyText());
}

QString MainWindow::efficiencyText() const {
  if (!modelReady()) return isLoading() ? tr("Loading...") : tr("No model loaded.");
  const DeviceSummary& d = m_model.device;
  QStringList parts;
  parts << tr("%1 (%2)").arg(QString::fromStdString(d.name), m_model.backend == Backend::kVulkan ? tr("Vulkan") : tr("CPU reference"));
  int32_t used = 0;
  if (m_generating && m_generating_turn >= 0) {
    const Turn& turn = m_conversation.turn(m_generating_turn);
    used = int32_t(turn.context.size() + turn.steps.size());
  } else if (m_last_summary) {
    used = m_last_summary->position;
  }
  if (m_last_summary) {
    const Timings& t = m_last_summary->timings;
    parts << tr("%1 tok/s").arg(t.generateTokensPerSecond(), 0, 'f', 1);
    parts << tr("prompt %1 tok/s").arg(t.promptTokensPerSecond(), 0, 'f', 1);
    parts << tr("first token %1 ms").arg(t.first_token_ms, 0, 'f', 1);
    const double gbps = t.achievedGBps();
    QString bw = tr("%1 GB/s").arg(gbps, 0, 'f', 3);
    if (m_stream_gbps > 0)
      bw += tr(" (%1% of the measured %2 GB/s)").arg(100.0 * gbps / m_stream_gbps, 0, 'f', 1).arg(m_stream_gbps, 0, 'f', 1);
    parts << bw;
  } else if (m_generating) {
    parts << tr("generating...");
  }
  parts << tr("context %1 / %2").arg(used).arg(m_model.n_ctx);
  parts << tr("weights %1 MiB / device %2 MiB")
               .arg(double(m_model.weight_bytes) / (1 << 20), 0, 'f', 1)
               .arg(double(d.device_local_bytes) / (1 << 20), 0, 'f', 0);
  return parts.join(QStringLiteral("  |  "));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  m_worker->stop();
  m_worker->cancelLoad();
  QMainWindow::closeEvent(event);
}

}  // namespace tokenfab::gui
