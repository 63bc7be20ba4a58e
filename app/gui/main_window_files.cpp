// MainWindow: menus, files (models, sessions, exports), settings, dialogs, drag and drop.
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QSettings>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "chat_panel.h"
#include "download_dialog.h"
#include "main_window.h"

#include <QMessageBox>
#include <QPointer>
#include <thread>

#include "tokenfab/file_util.h"
#include "tokenfab/self_test.h"
#include "sampler_panel.h"
#include "timeline_panel.h"
#include "token_inspector.h"
#include "tokenfab/trace.h"
#include "tokenfab/vk_device.h"

namespace tokenfab::gui {

namespace {

constexpr int kMaxRecent = 8;


}  // namespace

QString MainWindow::demoModelPath() {
  const std::filesystem::path exe = QCoreApplication::applicationDirPath().toStdString();
#ifdef TOKENFAB_RESOURCE_DIR
  const auto found = findDemoModel(exe, TOKENFAB_RESOURCE_DIR "/models");
#else
  const auto found = findDemoModel(exe);
#endif
  return found ? QString::fromStdString(found->string()) : QString();
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open model..."), QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open model"), QString(), tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
  });
  m_recent_menu = file->addMenu(tr("Open &recent"));
  file->addAction(tr("&Download model..."), this, [this] {
    auto* dialog = new DownloadDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &DownloadDialog::modelDownloaded, this, [this](const QString& path) { openModel(path); });
    dialog->show();
  });
  const QString demo = demoModelPath();
  if (!demo.isEmpty()) file->addAction(tr("Open &demo model"), this, [this, demo] { openModel(demo); });
  file->addAction(tr("Model &info..."), this, &MainWindow::showModelInfo);
  file->addAction(tr("&Device..."), this, &MainWindow::showDevicePicker);
  file->addSeparator();
  file->addAction(tr("Open &session..."), this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open session"), QString(), tr("tokenfab sessions (*.tfsession.json *.json)"));
    if (path.isEmpty()) return;
    if (Status s = openSession(path); !s.isOk()) showError(tr("Could not open the session: %1").arg(statusText(s)));
  });
  file->addAction(tr("&Save session..."), QKeySequence::Save, this, [this] {
    QString path = m_session_path;
    if (path.isEmpty()) path = QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.tfsession.json"));
    if (path.isEmpty()) return;
    if (Status s = saveSession(path); !s.isOk()) showError(tr("Could not save the session: %1").arg(statusText(s)));
  });
  file->addSeparator();
  file->addAction(tr("Export &trace (JSON/CSV)..."), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export trace"), QStringLiteral("trace.json"),
                                                      tr("Trace JSON (*.json);;Trace CSV (*.csv)"));
    if (path.isEmpty()) return;
    if (Status s = exportTrace(path); !s.isOk()) showError(tr("Could not export the trace: %1").arg(statusText(s)));
  });
  file->addAction(tr("Export &plots (PNG/PDF)..."), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export plots (file name stem)"), QStringLiteral("tokenfab"));
    if (path.isEmpty()) return;
    if (Status s = exportPlots(path); !s.isOk()) showError(tr("Could not export the plots: %1").arg(statusText(s)));
  });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* generate = menuBar()->addMenu(tr("&Generate"));
  generate->addAction(tr("Send (Ctrl+Enter)"), this, [this] { send(m_chat->inputText(), m_chat->editing()); });
  generate->addAction(tr("Stop (Esc)"), this, &MainWindow::stopGeneration);
  generate->addAction(tr("Regenerate (Ctrl+R)"), this, &MainWindow::regenerate);
  generate->addAction(tr("Next token (Alt+Right)"), this, [this] { selectStep(m_selected_turn, m_selected_step + 1); });
  generate->addAction(tr("Previous token (Alt+Left)"), this, [this] { selectStep(m_selected_turn, m_selected_step - 1); });
  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("Run &self-test..."), this, &MainWindow::runSelfTestDialog);
  rebuildRecentMenu();
}

void MainWindow::addRecent(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  m_recent.removeAll(absolute);
  m_recent.prepend(absolute);
  while (m_recent.size() > kMaxRecent) m_recent.removeLast();
  rebuildRecentMenu();
  saveSettings();
}

void MainWindow::rebuildRecentMenu() {
  if (!m_recent_menu) return;
  m_recent_menu->clear();
  for (const QString& path : m_recent) {
    m_recent_menu->addAction(QFileInfo(path).fileName(), this, [this, path] { openModel(path); })->setToolTip(path);
  }
  m_recent_menu->setEnabled(!m_recent.isEmpty());
}

void MainWindow::loadSettings() {
  QSettings settings;
  m_recent = settings.value(QStringLiteral("recentModels")).toStringList();
  m_backend = settings.value(QStringLiteral("backend"), QStringLiteral("vulkan")).toString() == QLatin1String("reference")
                  ? Backend::kReference
                  : Backend::kVulkan;
  m_device = settings.value(QStringLiteral("device")).toString();
  SamplerConfig config;
  if (auto order = parseSamplerOrder(settings.value(QStringLiteral("sampler/order"), QString()).toString().toStdString());
      order.isOk() && !order->empty()) {
    config.order = *order;
  }
  auto num = [&](const char* key, double fallback) {
    return settings.value(QStringLiteral("sampler/") + QLatin1String(key), fallback).toDouble();
  };
  config.temperature = num("temperature", config.temperature);
  config.top_k = int32_t(num("top_k", config.top_k));
  config.top_p = num("top_p", config.top_p);
  config.min_p = num("min_p", config.min_p);
  config.typical_p = num("typical_p", config.typical_p);
  config.top_n_sigma = num("top_n_sigma", config.top_n_sigma);
  config.repeat_last_n = int32_t(num("repeat_last_n", config.repeat_last_n));
  config.repeat_penalty = num("repeat_penalty", config.repeat_penalty);
  config.frequency_penalty = num("frequency_penalty", config.frequency_penalty);
  config.presence_penalty = num("presence_penalty", config.presence_penalty);
  config.dry_multiplier = num("dry_multiplier", config.dry_multiplier);
  config.dry_base = num("dry_base", config.dry_base);
  config.dry_allowed_length = int32_t(num("dry_allowed_length", config.dry_allowed_length));
  config.xtc_probability = num("xtc_probability", config.xtc_probability);
  config.xtc_threshold = num("xtc_threshold", config.xtc_threshold);
  config.mirostat = int32_t(num("mirostat", config.mirostat));
  config.mirostat_tau = num("mirostat_tau", config.mirostat_tau);
  config.mirostat_eta = num("mirostat_eta", config.mirostat_eta);
  if (validateSamplerConfig(config).isOk()) m_sampler->setConfig(config);
  m_sampler->setSeed(uint64_t(settings.value(QStringLiteral("sampler/seed"), 42).toLongLong()));
  m_chat->setTokenView(settings.value(QStringLiteral("tokenView"), false).toBool());
  rebuildRecentMenu();
}

void MainWindow::saveSettings() const {
  QSettings settings;
  settings.setValue(QStringLiteral("recentModels"), m_recent);
  settings.setValue(QStringLiteral("backend"), m_backend == Backend::kReference ? "reference" : "vulkan");
  settings.setValue(QStringLiteral("device"), m_device);
  const SamplerConfig c = m_sampler->config();
  settings.setValue(QStringLiteral("sampler/order"), QString::fromStdString(formatSamplerOrder(c.order)));
  settings.setValue(QStringLiteral("sampler/temperature"), c.temperature);
  settings.setValue(QStringLiteral("sampler/top_k"), c.top_k);
  settings.setValue(QStringLiteral("sampler/top_p"), c.top_p);
  settings.setValue(QStringLiteral("sampler/min_p"), c.min_p);
  settings.setValue(QStringLiteral("sampler/typical_p"), c.typical_p);
  settings.setValue(QStringLiteral("sampler/top_n_sigma"), c.top_n_sigma);
  settings.setValue(QStringLiteral("sampler/repeat_last_n"), c.repeat_last_n);
  settings.setValue(QStringLiteral("sampler/repeat_penalty"), c.repeat_penalty);
  settings.setValue(QStringLiteral("sampler/frequency_penalty"), c.frequency_penalty);
  settings.setValue(QStringLiteral("sampler/presence_penalty"), c.presence_penalty);
  settings.setValue(QStringLiteral("sampler/dry_multiplier"), c.dry_multiplier);
  settings.setValue(QStringLiteral("sampler/dry_base"), c.dry_base);
  settings.setValue(QStringLiteral("sampler/dry_allowed_length"), c.dry_allowed_length);
  settings.setValue(QStringLiteral("sampler/xtc_probability"), c.xtc_probability);
  settings.setValue(QStringLiteral("sampler/xtc_threshold"), c.xtc_threshold);
  settings.setValue(QStringLiteral("sampler/mirostat"), c.mirostat);
  settings.setValue(QStringLiteral("sampler/mirostat_tau"), c.mirostat_tau);
  settings.setValue(QStringLiteral("sampler/mirostat_eta"), c.mirostat_eta);
  settings.setValue(QStringLiteral("sampler/seed"), qlonglong(m_sampler->seed()));
  settings.setValue(QStringLiteral("tokenView"), m_chat->tokenView());
}

void MainWindow::showModelInfo() {
  if (!modelReady()) {
    QMessageBox::information(this, tr("Model info"), tr("No model loaded."));
    return;
  }
  const ModelInfo& m = m_model;
  QString text;
  text += tr("File: %1\nName: %2\nArchitecture: %3\n").arg(m.path, m.name, m.arch);
  text += tr("Parameters: %1\nWeights: %2 MiB\n").arg(m.n_params).arg(double(m.weight_bytes) / (1 << 20), 0, 'f', 2);
  text += tr("Layers: %1, embedding %2, vocabulary %3, context %4\n").arg(m.n_layer).arg(m.n_embd).arg(m.n_vocab).arg(m.n_ctx);
  QString chat = tr("none (completion mode)");
  if (m.chat_template) {
    if (!m.chat_template->has_own_template)
      chat = tr("built-in '%1' (the model has none; it opens in completion mode)")
                 .arg(QString::fromStdString(m.chat_template->builtin_name));
    else if (m.chat_template->fallback_reason.empty())
      chat = tr("the model's own");
    else
      chat = tr("built-in '%1' (the model's fails: %2)")
                 .arg(QString::fromStdString(m.chat_template->builtin_name),
                      QString::fromStdString(m.chat_template->fallback_reason));
  }
  text += tr("Chat template: %1\n").arg(chat);
  text += tr("Device: %1 (%2, Vulkan %3)\n")
              .arg(QString::fromStdString(m.device.name), QString::fromStdString(m.device.type),
                   QString::fromStdString(m.device.api_version));
  text += tr("Loaded in %1 ms\n").arg(m.load_ms, 0, 'f', 0);
  QMessageBox::information(this, tr("Model info"), text);
}

void MainWindow::showDevicePicker() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Device"));
  auto* layout = new QVBoxLayout(&dialog);
  auto* form = new QFormLayout();
  auto* backend = new QComboBox(&dialog);
  backend->addItem(tr("Vulkan"), int(Backend::kVulkan));
  backend->addItem(tr("CPU reference (exact, slow)"), int(Backend::kReference));
  backend->setCurrentIndex(m_backend == Backend::kReference ? 1 : 0);
  auto* device = new QComboBox(&dialog);
  device->addItem(tr("best available"), QString());
  auto* report = new QPlainTextEdit(&dialog);
  report->setReadOnly(true);
  report->setMinimumSize(560, 320);
  auto reports = vk::Device::enumerate();
  QString text;
  if (reports.isOk()) {
    for (const auto& r : *reports) {
      device->addItem(QStringLiteral("%1: %2").arg(r.index).arg(QString::fromStdString(r.name)), QString::number(r.index));
      text += QString::fromStdString(r.toText()) + QStringLiteral("\n");
    }
  } else {
    text = tr("No Vulkan device: %1").arg(statusText(reports.status()));
  }
  report->setPlainText(text);
  const int current = device->findData(m_device);
  if (current >= 0) device->setCurrentIndex(current);
  form->addRow(tr("Backend"), backend);
  form->addRow(tr("Device"), device);
  layout->addLayout(form);
  layout->addWidget(report);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  layout->addWidget(buttons);
  if (dialog.exec() != QDialog::Accepted) return;
  m_backend = Backend(backend->currentData().toInt());
  m_device = device->currentData().toString();
  saveSettings();
  if (modelReady()) openModel(m_model.path);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.size() == 1 && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty()) return;
  const QString path = urls.first().toLocalFile();
  if (path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) {
    if (Status s = openSession(path); !s.isOk()) showError(tr("Could not open the session: %1").arg(statusText(s)));
  } else {
    openModel(path);
  }
}

Status MainWindow::saveSession(const QString& path) {
  m_conversation.system_prompt = m_chat->systemPrompt().toStdString();
  TF_RETURN_IF_ERROR(m_conversation.save(path.toStdString()));
  m_session_path = path;
  statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
  return Status::ok();
}

Status MainWindow::openSession(const QString& path) {
  if (m_generating) return Status(Code::kInvalidArgument, "stop the generation first");
  TF_ASSIGN_OR_RETURN(Conversation loaded, Conversation::load(path.toStdString()));
  if (modelReady() && !loaded.model_name.empty() && loaded.model_name != m_model.name.toStdString()) {
    statusBar()->showMessage(tr("Note: the session was made with %1").arg(QString::fromStdString(loaded.model_name)), 8000);
  }
  m_conversation = std::move(loaded);
  m_session_path = path;
  m_chat->setChatMode(m_conversation.chat_mode);
  m_chat->setSystemPrompt(QString::fromStdString(m_conversation.system_prompt));
  const int leaf = m_conversation.leaf();
  m_selected_turn = leaf;
  m_selected_step = leaf >= 0 ? int(m_conversation.turn(leaf).steps.size()) - 1 : -1;
  if (leaf >= 0) {
    m_sampler->setConfig(m_conversation.turn(leaf).settings);
  }
  refreshSelection();
  refreshNow();
  return Status::ok();
}

Status MainWindow::exportTrace(const QString& path) {
  const int index = m_selected_turn >= 0 ? m_selected_turn : m_conversation.leaf();
  if (index < 0) return Status(Code::kInvalidArgument, "nothing generated yet");
  const Turn& turn = m_conversation.turn(index);
  Trace trace;
  trace.created = QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString();
  trace.model.name = m_conversation.model_name;
  trace.model.file = QFileInfo(m_model.path).fileName().toStdString();
  trace.model.size_bytes = uint64_t(QFileInfo(m_model.path).size());
  trace.device = m_model.device.name;
  trace.settings = turn.settings;
  trace.seed = turn.seed;
  trace.prompt = turn.user;
  trace.prompt_tokens = turn.context;
  for (const TokenStep& step : turn.steps) trace.steps.push_back(step.trace);
  const std::filesystem::path file = path.toStdString();
  if (path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)) return writeTraceCsv(file, trace);
  return writeTraceJson(file, trace);
}

Status MainWindow::exportPlots(const QString& stem) {
  const std::pair<const char*, QCustomPlot*> plots[] = {{"timeline", m_timeline->plot()},
                                                        {"inspector", m_inspector->plot()},
                                                        {"funnel", m_sampler->funnelPlot()}};
  for (const auto& [name, plot] : plots) {
    const QString base = stem + QLatin1Char('-') + QLatin1String(name);
    if (!plot->savePng(base + QStringLiteral(".png"), 900, 500) || !plot->savePdf(base + QStringLiteral(".pdf"), 900, 500)) {
      return Status(Code::kIoError, "cannot write " + base.toStdString() + ".png/.pdf");
    }
  }
  return Status::ok();
}

// The self-test creates its own device and runs for seconds: on a thread of its own, never on
// the GUI thread; the result comes back through a queued call.
void MainWindow::runSelfTestDialog() {
  auto* box = new QMessageBox(QMessageBox::Information, tr("Self-test"),
                              tr("Running the self-test (device, GPU ops, a few tokens of the demo model)..."),
                              QMessageBox::Close, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->show();
  QPointer<QMessageBox> target(box);
  SelfTestOptions options;
  options.model = demoModelPath().toStdString();
  std::thread([target, options] {
    const SelfTestReport report = runSelfTest(options);
    const QString text = QString::fromStdString(report.toText());
    const bool passed = report.passed();
    const int failed = report.failedCount();
    QMetaObject::invokeMethod(
        qApp,
        [target, text, passed, failed] {
          if (!target) return;
          target->setIcon(passed ? QMessageBox::Information : QMessageBox::Warning);
          target->setText(passed ? QMessageBox::tr("Self-test passed.")
                                 : QMessageBox::tr("Self-test failed: %1 check(s).").arg(failed));
          target->setDetailedText(text);
        },
        Qt::QueuedConnection);
  }).detach();
}

}  // namespace tokenfab::gui
