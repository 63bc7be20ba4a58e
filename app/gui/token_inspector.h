// The selected step's candidates: a bar chart (raw p and final p after the sampler chain; the
// chosen token highlighted, removed candidates grey) and a table. "Branch" continues generation
// from the candidate picked in the table.
#pragma once

#include <QWidget>

#include "gui_types.h"

class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace tokenfab::gui {

class TokenInspector : public QWidget {
  Q_OBJECT
 public:
  explicit TokenInspector(QWidget* parent = nullptr);

  void setTokenizer(const Tokenizer* tokenizer) { m_tokenizer = tokenizer; }
  // nullptr clears the view.
  void showStep(const TokenStep* step, int turn, int index);
  void setBranchEnabled(bool enabled);

  QCustomPlot* plot() const { return m_plot; }
  QTableWidget* table() const { return m_table; }
  // The candidate id in table row `row`, -1 when out of range.
  int candidateAt(int row) const;
  void selectCandidateRow(int row);
  int selectedCandidate() const;

  // Final probability of raw_top[i] after the chain (0 when a stage removed it).
  static double finalProb(const StepTrace& trace, size_t i);

 signals:
  void branchRequested(int turn, int step, int candidate);

 private:
  void redraw();

  const Tokenizer* m_tokenizer = nullptr;
  TokenStep m_step;
  bool m_has_step = false;
  int m_turn = -1;
  int m_index = -1;
  QLabel* m_title = nullptr;
  QSpinBox* m_top_k = nullptr;
  QCustomPlot* m_plot = nullptr;
  QTableWidget* m_table = nullptr;
  QPushButton* m_branch = nullptr;
};

}  // namespace tokenfab::gui
