// Every sampler knob, the stage order (drag to reorder), presets, and for the selected step a live
// funnel (candidates and raw mass kept after each stage) plus the resulting distribution,
// recomputed from the stored logits with whatIf() whenever a knob moves.
#pragma once

#include <QWidget>

#include <map>

#include "gui_types.h"

class QAbstractSpinBox;
class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace tokenfab::gui {

class SamplerPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SamplerPanel(QWidget* parent = nullptr);

  SamplerConfig config() const;
  void setConfig(const SamplerConfig& config);
  uint64_t seed() const;
  void setSeed(uint64_t seed);
  int32_t maxTokens() const;
  void applyPreset(const QString& name);  // "greedy", "balanced", "creative"

  void setTokenizer(const Tokenizer* tokenizer) { m_tokenizer = tokenizer; }
  // The step the funnel and what-if use (nullptr clears them).
  // live: generation is streaming; show the step's recorded stages instead of running whatIf.
  // `recomputing`: the step has no full logits yet and they are being computed (the what-if
  // says it is approximate until then).
  void setStep(const TokenStep* step, std::vector<int32_t> history, bool live = false, bool recomputing = false);

  QDoubleSpinBox* temperatureBox() const { return m_temperature; }
  QCustomPlot* funnelPlot() const { return m_funnel; }
  QCustomPlot* distributionPlot() const { return m_distribution; }
  // What the current knobs would pick at the selected step (-1 when none).
  int whatIfToken() const { return m_what_if_token; }
  const std::vector<std::pair<int32_t, double>>& whatIfDistribution() const { return m_what_if_dist; }
  // Funnel rows as drawn: (stage name, survivors, raw mass kept); samplerFunnel computes them.
  struct FunnelBar {
    QString stage;
    int survivors = 0;
    double mass = 0.0;
  };
  const std::vector<FunnelBar>& funnel() const { return m_funnel_rows; }
  QString whatIfText() const;

 signals:
  void configChanged();

 private:
  // The what-if of the selected step (core's samplerFunnel) and its text; then the two plots.
  void rebuildWhatIf();
  void drawFunnel(const StepTrace& trace, int32_t n_candidates);
  void drawDistribution();
  // Parses the text knobs (DRY breakers, logit bias) into their values; false (and the text
  // marked) when one does not parse.
  bool applyTexts();
  std::vector<StageKind> order() const;
  void setOrder(const std::vector<StageKind>& order);

  const Tokenizer* m_tokenizer = nullptr;
  bool m_has_step = false;
  bool m_loading = false;
  bool m_live = false;
  bool m_recomputing = false;
  TokenStep m_step;
  std::vector<int32_t> m_history;
  int m_what_if_token = -1;
  std::vector<std::pair<int32_t, double>> m_what_if_dist;
  std::vector<FunnelBar> m_funnel_rows;

  QDoubleSpinBox* m_temperature = nullptr;
  std::vector<std::pair<const SamplerField*, QAbstractSpinBox*>> m_knobs;  // one per numeric setting
  QCheckBox* m_mirostat = nullptr;
  QLineEdit* m_breakers = nullptr;
  QLineEdit* m_logit_bias = nullptr;
  std::vector<std::string> m_breaker_values;
  std::vector<std::pair<int32_t, double>> m_bias_values;
  QSpinBox* m_seed = nullptr;
  QSpinBox* m_max_tokens = nullptr;
  QListWidget* m_order = nullptr;
  QComboBox* m_preset = nullptr;
  QCustomPlot* m_funnel = nullptr;
  QCustomPlot* m_distribution = nullptr;
  QLabel* m_what_if = nullptr;
};

}  // namespace tokenfab::gui
