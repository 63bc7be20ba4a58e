#include "timeline_panel.h"

#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

namespace tokenfab::gui {

TimelinePanel::TimelinePanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumHeight(150);
  layout->addWidget(m_plot);
  m_plot->xAxis->setLabel(tr("generated token"));
  m_plot->yAxis->setLabel(tr("chosen p"));
  m_plot->yAxis->setRange(0, 1.05);
  m_plot->yAxis2->setVisible(true);
  m_plot->yAxis2->setLabel(tr("bits"));
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(QFont(font().family(), 7));
  // Legend in its own column so it never covers the latest tokens.
  m_plot->axisRect()->insetLayout()->take(m_plot->legend);
  m_plot->plotLayout()->addElement(0, 1, m_plot->legend);
  m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
  auto* prob = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
  prob->setName(tr("chosen p (final)"));
  prob->setPen(QPen(QColor(40, 150, 70), 1));
  prob->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
  auto* entropy = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
  entropy->setName(tr("raw entropy"));
  entropy->setPen(QPen(QColor(70, 110, 210), 1));
  auto* surprise = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
  surprise->setName(tr("surprise -log2 p(raw)"));
  surprise->setPen(QPen(QColor(220, 90, 60), 1));  // solid: dashed wide pens are very slow in the raster engine
  m_marker = new QCPItemStraightLine(m_plot);
  m_marker->setPen(QPen(QColor(240, 170, 40), 2));
  m_marker->setVisible(false);
  connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    if (m_count == 0) return;
    const double x = m_plot->xAxis->pixelToCoord(event->position().x());
    const int step = std::clamp(int(std::lround(x)), 0, m_count - 1);
    emit stepClicked(step);
  });
}

double TimelinePanel::rawChosenProb(const TokenStep& step) {
  for (const TokenLogit& c : step.trace.raw_top) {
    if (c.id == step.trace.token) return c.prob;
  }
  const auto id = size_t(step.trace.token);
  if (id < step.logits.size()) return std::exp(double(step.logits[id]) - step.trace.raw_logsumexp);
  return 0.0;
}

void TimelinePanel::setSteps(const std::vector<TokenStep>& steps) {
  QVector<double> xs, prob, entropy, surprise;
  double top = 1.0;
  for (size_t i = 0; i < steps.size(); ++i) {
    xs << double(i);
    prob << steps[i].trace.chosen_prob;
    entropy << steps[i].trace.raw_entropy_bits;
    const double raw = rawChosenProb(steps[i]);
    surprise << (raw > 0.0 ? -std::log2(raw) : 30.0);
    top = std::max({top, entropy.back(), surprise.back()});
  }
  m_count = int(steps.size());
  m_plot->graph(0)->setData(xs, prob, true);
  m_plot->graph(1)->setData(xs, entropy, true);
  m_plot->graph(2)->setData(xs, surprise, true);
  m_plot->xAxis->setRange(-0.5, std::max(8.0, double(steps.size()) - 0.5));
  m_plot->yAxis2->setRange(0, top * 1.1);
  m_plot->replot();
}

void TimelinePanel::setSelected(int step) {
  m_marker->setVisible(step >= 0);
  if (step >= 0) {
    m_marker->point1->setCoords(step, 0);
    m_marker->point2->setCoords(step, 1);
  }
  m_plot->replot();
}

}  // namespace tokenfab::gui
