// The engine on its own thread. Every Engine/Session call happens in this object's slots, which
// run on the worker QThread; results go back through queued signals. The GUI thread never waits:
// only stop() and cancelLoad() are called directly from it, and they only set atomics.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

#include "gui_types.h"
#include "tokenfab/engine.h"

namespace tokenfab::gui {

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  explicit EngineWorker(QObject* parent = nullptr);
  ~EngineWorker() override;

  // Thread-safe: called from the GUI thread while a slot runs on the worker.
  void stop() { m_stop.store(true); }
  void clearStop() { m_stop.store(false); }
  void cancelLoad() { m_cancel_load.store(true); }

  static void registerMetaTypes();

 public slots:
  void loadModel(const QString& path, int backend, const QString& device);
  void generate(const tokenfab::gui::GenerateRequest& request);
  // Feeds request.context (keeping the cached prefix) and emits the logits after it.
  void recomputeLogits(const tokenfab::gui::LogitsRequest& request);
  void measureBandwidth();
  void unloadModel();

 signals:
  void loadProgressed(const QString& stage, double fraction);
  void modelLoaded(const tokenfab::gui::ModelInfo& info);
  void loadFailed(const QString& message);
  void generationStarted(quint64 request_id);
  void tokenGenerated(quint64 request_id, const tokenfab::gui::TokenStep& step);
  void generationFinished(const tokenfab::gui::GenerateSummary& summary);
  void generationFailed(quint64 request_id, const QString& message);
  void bandwidthMeasured(double gbps);
  void logitsRecomputed(const tokenfab::gui::LogitsResult& result);

 private:
  // Rewinds the session to the longest prefix it shares with `context`, at most all but the last
  // token (after rewind() the session has no logits until a token is fed); returns its length.
  Result<size_t> keepCommonPrefix(const std::vector<int32_t>& context);

  std::unique_ptr<Session> m_session;  // destroyed before m_engine
  std::unique_ptr<Engine> m_engine;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_cancel_load{false};
};

}  // namespace tokenfab::gui
