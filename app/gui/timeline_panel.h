// Per generated token of the reply: chosen-token probability, raw entropy and surprise
// (-log2 p of the chosen token under the raw distribution); the selected step is marked and a
// click on the plot selects the nearest step.
#pragma once

#include <QWidget>

#include <vector>

#include "gui_types.h"

class QCustomPlot;
class QCPItemStraightLine;

namespace tokenfab::gui {

class TimelinePanel : public QWidget {
  Q_OBJECT
 public:
  explicit TimelinePanel(QWidget* parent = nullptr);
  void setSteps(const std::vector<TokenStep>& steps);
  void setSelected(int step);
  QCustomPlot* plot() const { return m_plot; }
  // Raw probability of the chosen token (from raw_top, else exp(logit - lse) when logits are kept).
  static double rawChosenProb(const TokenStep& step);

 signals:
  void stepClicked(int step);

 private:
  QCustomPlot* m_plot = nullptr;
  QCPItemStraightLine* m_marker = nullptr;
  int m_count = 0;
};

}  // namespace tokenfab::gui
