// The workbench window: chat in the middle, sampler panel left, token inspector right, timeline
// and efficiency bar below. The engine lives on a worker thread (EngineWorker); this window talks
// to it only through queued signals and never waits on it.
#pragma once

#include <QMainWindow>
#include <QElapsedTimer>
#include <QThread>

#include <deque>
#include <optional>
#include <QTimer>

#include "conversation.h"
#include "engine_worker.h"

class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;

namespace tokenfab::gui {

class ChatPanel;
class SamplerPanel;
class TimelinePanel;
class TokenInspector;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Commands (menus, shortcuts and tests use the same paths).
  void openModel(const QString& path);
  void send(const QString& text, bool edit = false);
  void stopGeneration();
  void regenerate();
  void selectStep(int turn, int step);
  void branchFrom(int turn, int step, int candidate);
  Status saveSession(const QString& path);
  Status openSession(const QString& path);
  Status exportTrace(const QString& path);  // .json or .csv by suffix
  Status exportPlots(const QString& stem);  // <stem>-timeline/-inspector/-funnel .png and .pdf
  // The demo model in resources/models/, or empty.
  static QString demoModelPath();

  bool modelReady() const { return m_model_state == ModelState::kReady; }
  bool isGenerating() const { return m_generating; }
  bool isLoading() const { return m_model_state == ModelState::kLoading; }
  const ModelInfo& model() const { return m_model; }
  const Conversation& conversation() const { return m_conversation; }
  int selectedTurn() const { return m_selected_turn; }
  int selectedStep() const { return m_selected_step; }
  const TokenStep* selectedTokenStep() const;
  QString lastError() const { return m_last_error; }
  // The last line shown about the chat template (the model's failed and a built-in stands in).
  QString templateNotice() const { return m_template_notice; }
  const GenerateSummary* lastSummary() const { return m_last_summary ? &*m_last_summary : nullptr; }
  QString efficiencyText() const;
  void setBackend(Backend backend) { m_backend = backend; }
  void refreshNow();

  ChatPanel* chatPanel() const { return m_chat; }
  TokenInspector* inspector() const { return m_inspector; }
  SamplerPanel* samplerPanel() const { return m_sampler; }
  TimelinePanel* timeline() const { return m_timeline; }

 signals:
  void modelReadyChanged(bool ready);
  void generationDone();
  void errorShown(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void buildDocks();
  void loadSettings();
  void saveSettings() const;
  void addRecent(const QString& path);
  void rebuildRecentMenu();
  void showError(const QString& message);
  void showTemplateNotice(const QString& message);
  void scheduleRefresh();
  void refreshSelection(bool throttled = false);
  void startGeneration(int turn, const std::vector<int32_t>& context);
  // `template_note` receives a line when the model's template failed and a built-in stood in.
  Result<std::vector<int32_t>> buildContext(int turn, std::string* template_note) const;
  void showModelInfo();
  void showDevicePicker();
  void runSelfTestDialog();
  void moveSelection(int delta);

  void onModelLoaded(const ModelInfo& info);
  void onLoadFailed(const QString& message);
  void onTokenGenerated(quint64 request_id, const TokenStep& step);
  void onGenerationFinished(const GenerateSummary& summary);
  void onGenerationFailed(quint64 request_id, const QString& message);
  void onLogitsRecomputed(const LogitsResult& result);
  // The full logits of a step whose trace keeps only the top candidates: from the cache of
  // recomputed steps, else nullptr after asking the worker for them (when it is idle).
  const std::vector<float>* fullLogitsFor(const std::vector<int32_t>& history, bool* pending);

  QThread m_thread;
  EngineWorker* m_worker = nullptr;  // lives on m_thread; deleted when it finishes
  ModelInfo m_model;
  // The model: none, being loaded, or ready. A generation is a separate fact: it only starts on a
  // ready model, but may still be winding down (stop acts at the next token) while a new model
  // loads, since the worker finishes it before it loads.
  enum class ModelState { kNone, kLoading, kReady };
  ModelState m_model_state = ModelState::kNone;
  bool m_generating = false;
  Backend m_backend = Backend::kVulkan;
  QString m_device;
  uint64_t m_request_id = 0;
  int m_generating_turn = -1;
  bool m_follow_latest = true;
  int m_selected_turn = -1;
  int m_selected_step = -1;
  Conversation m_conversation;
  std::optional<GenerateSummary> m_last_summary;  // of the last finished generation
  double m_stream_gbps = 0.0;
  QString m_last_error;
  QString m_template_notice;
  QString m_session_path;
  // Full logits computed again for selected steps (large vocabularies, steps read from a
  // session file), keyed by the tokens before the step; the newest last, a few kept.
  std::deque<std::pair<std::vector<int32_t>, std::vector<float>>> m_recomputed;
  uint64_t m_logits_request = 0;               // the pending request, 0 when none
  std::vector<int32_t> m_logits_pending;       // its context
  QStringList m_recent;

  QTimer m_refresh;
  QElapsedTimer m_sampler_clock;
  QTimer m_sampler_timer;
  ChatPanel* m_chat = nullptr;
  TokenInspector* m_inspector = nullptr;
  SamplerPanel* m_sampler = nullptr;
  TimelinePanel* m_timeline = nullptr;
  QLabel* m_efficiency = nullptr;
  QProgressBar* m_progress = nullptr;
  QPushButton* m_cancel_load = nullptr;
  QMenu* m_recent_menu = nullptr;
};

}  // namespace tokenfab::gui
