#include "token_inspector.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>

#include "token_text.h"

namespace tokenfab::gui {

namespace {

enum Column { kColToken, kColId, kColLogit, kColRaw, kColFinal, kColRank, kColCount };

}  // namespace

TokenInspector::TokenInspector(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* header = new QHBoxLayout();
  m_title = new QLabel(tr("No token selected."), this);
  m_title->setWordWrap(true);
  header->addWidget(m_title, 1);
  header->addWidget(new QLabel(tr("Show top"), this));
  m_top_k = new QSpinBox(this);
  m_top_k->setRange(2, 64);
  m_top_k->setValue(12);
  m_top_k->setToolTip(tr("How many of the highest raw candidates the chart and table show."));
  header->addWidget(m_top_k);
  layout->addLayout(header);

  m_plot = new QCustomPlot(this);
  m_plot->setMinimumHeight(170);
  m_plot->yAxis->setLabel(tr("probability"));
  m_plot->yAxis->setRange(0, 1);
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(QFont(font().family(), 8));
  layout->addWidget(m_plot, 3);

  m_table = new QTableWidget(0, kColCount, this);
  m_table->setHorizontalHeaderLabels({tr("token"), tr("id"), tr("logit"), tr("raw p"), tr("final p"), tr("rank")});
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->verticalHeader()->setVisible(false);
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(m_table, 3);

  m_branch = new QPushButton(tr("Branch from selected candidate"), this);
  m_branch->setToolTip(tr("Rewind to this step, feed the selected candidate instead and continue generating."));
  m_branch->setEnabled(false);
  layout->addWidget(m_branch);

  connect(m_top_k, &QSpinBox::valueChanged, this, [this] { redraw(); });
  connect(m_branch, &QPushButton::clicked, this, [this] {
    const int candidate = selectedCandidate();
    if (m_has_step && candidate >= 0) emit branchRequested(m_turn, m_index, candidate);
  });
  connect(m_table, &QTableWidget::itemSelectionChanged, this,
          [this] { m_branch->setEnabled(m_has_step && selectedCandidate() >= 0 && m_branch->property("allowed").toBool()); });
  m_branch->setProperty("allowed", true);
}

void TokenInspector::setBranchEnabled(bool enabled) {
  m_branch->setProperty("allowed", enabled);
  m_branch->setEnabled(enabled && m_has_step && selectedCandidate() >= 0);
}

double TokenInspector::finalProb(const StepTrace& trace, size_t i) {
  if (trace.stages.empty()) return i < trace.raw_top.size() ? trace.raw_top[i].prob : 0.0;
  const auto& probs = trace.stages.back().top_probs;
  return i < probs.size() ? probs[i] : 0.0;
}

int TokenInspector::candidateAt(int row) const {
  if (!m_has_step || row < 0 || row >= m_table->rowCount()) return -1;
  return m_table->item(row, kColId)->text().toInt();
}

void TokenInspector::selectCandidateRow(int row) { m_table->selectRow(row); }

int TokenInspector::selectedCandidate() const {
  const auto rows = m_table->selectionModel()->selectedRows();
  return rows.isEmpty() ? -1 : candidateAt(rows.first().row());
}

void TokenInspector::showStep(const TokenStep* step, int turn, int index) {
  m_has_step = step != nullptr;
  if (step) m_step = *step;
  m_turn = turn;
  m_index = index;
  redraw();
}

void TokenInspector::redraw() {
  m_plot->clearPlottables();
  m_plot->clearItems();
  m_table->setRowCount(0);
  if (!m_has_step) {
    m_title->setText(tr("No token selected."));
    m_branch->setEnabled(false);
    m_plot->legend->setVisible(false);
    m_plot->replot();
    return;
  }
  const StepTrace& trace = m_step.trace;
  const QString chosen_text = visibleToken(m_tokenizer ? m_tokenizer->tokenBytes(trace.token) : trace.text);
  m_title->setText(tr("Step %1 (position %2): <b>%3</b> (id %4), final p %5, raw entropy %6 bits%7")
                       .arg(m_index)
                       .arg(trace.position)
                       .arg(chosen_text.toHtmlEscaped())
                       .arg(trace.token)
                       .arg(formatProb(trace.chosen_prob))
                       .arg(trace.raw_entropy_bits, 0, 'f', 2)
                       .arg(m_step.forced ? tr(" — picked by the user (branch)") : QString()));

  const size_t n = std::min<size_t>(size_t(m_top_k->value()), trace.raw_top.size());
  QVector<double> x_raw, raw, x_final, final_p, x_removed, removed, x_chosen, chosen;
  QVector<QString> labels;
  QVector<double> ticks;
  m_table->setRowCount(int(n));
  for (size_t i = 0; i < n; ++i) {
    const TokenLogit& c = trace.raw_top[i];
    const double fp = finalProb(trace, i);
    const double x = double(i) + 1.0;
    const std::string bytes = m_tokenizer ? m_tokenizer->tokenBytes(c.id) : std::to_string(c.id);
    const QString shown = visibleToken(bytes);
    ticks << x;
    labels << (shown.size() > 8 ? shown.left(7) + QChar(0x2026) : shown);
    if (c.id == trace.token) {
      x_chosen << x;
      chosen << fp;
    } else if (fp > 0.0) {
      x_final << x;
      final_p << fp;
    }
    if (fp > 0.0 || c.id == trace.token) {
      x_raw << x;
      raw << c.prob;
    } else {
      x_removed << x;
      removed << c.prob;
    }
    const QColor bg = c.id == trace.token ? QColor(255, 224, 130) : (fp > 0.0 ? QColor() : QColor(225, 225, 225));
    const QString cells[kColCount] = {shown,
                                      QString::number(c.id),
                                      QString::number(double(c.logit), 'f', 3),
                                      formatProb(c.prob),
                                      formatProb(fp),
                                      QString::number(i + 1)};
    for (int col = 0; col < kColCount; ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      if (bg.isValid()) item->setBackground(bg);
      if (fp == 0.0 && c.id != trace.token) item->setForeground(QColor(120, 120, 120));
      m_table->setItem(int(i), col, item);
    }
  }
  auto add_bars = [&](const QVector<double>& xs, const QVector<double>& ys, const QString& name, QColor fill,
                      double offset, double width) {
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    bars->setName(name);
    bars->setWidth(width);
    bars->setPen(QPen(fill.darker(130)));
    bars->setBrush(fill);
    QVector<double> shifted = xs;
    for (double& v : shifted) v += offset;
    bars->setData(shifted, ys, true);
  };
  add_bars(x_raw, raw, tr("raw p"), QColor(120, 160, 220), -0.2, 0.38);
  add_bars(x_removed, removed, tr("removed (raw p)"), QColor(200, 200, 200), -0.2, 0.38);
  add_bars(x_final, final_p, tr("final p"), QColor(90, 180, 110), 0.2, 0.38);
  add_bars(x_chosen, chosen, tr("chosen (final p)"), QColor(240, 170, 40), 0.2, 0.38);
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  ticker->addTicks(ticks, labels);
  m_plot->xAxis->setTicker(ticker);
  m_plot->xAxis->setTickLabelRotation(45);
  m_plot->xAxis->setRange(0.3, double(n) + 0.7);
  double top = 0.05;
  for (size_t i = 0; i < n; ++i) top = std::max({top, trace.raw_top[i].prob, finalProb(trace, i)});
  m_plot->yAxis->setRange(0, std::min(1.0, top * 1.1 + 0.02));
  m_plot->legend->setVisible(true);
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  m_plot->replot();
  m_branch->setEnabled(false);
}

}  // namespace tokenfab::gui
