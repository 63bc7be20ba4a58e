#include "sampler_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

#include "token_text.h"

namespace tokenfab::gui {

namespace {

QString stageTooltip(StageKind kind) {
  switch (kind) {
    case StageKind::kLogitBias: return QObject::tr("Adds a fixed bias to chosen tokens' logits.");
    case StageKind::kPenalties:
      return QObject::tr("Repeat, frequency and presence penalties lower tokens seen in the last N tokens.");
    case StageKind::kDry: return QObject::tr("DRY penalises tokens that would extend a sequence already repeated.");
    case StageKind::kTopNSigma: return QObject::tr("Top-n-sigma keeps logits within n standard deviations of the best.");
    case StageKind::kTopK: return QObject::tr("Top-k keeps only the k most likely tokens.");
    case StageKind::kTypicalP: return QObject::tr("Locally typical sampling keeps tokens whose surprise is close to the entropy.");
    case StageKind::kTopP: return QObject::tr("Top-p keeps the smallest set of tokens whose mass reaches p.");
    case StageKind::kMinP: return QObject::tr("Min-p drops tokens less likely than min_p times the best token.");
    case StageKind::kXtc: return QObject::tr("XTC sometimes removes the most likely tokens above a threshold, keeping the last of them.");
    case StageKind::kTemperature: return QObject::tr("Temperature divides the logits: below 1 sharper, above 1 flatter, 0 greedy.");
    case StageKind::kMirostat: return QObject::tr("Mirostat v2 adapts truncation to hold the surprise near tau.");
  }
  return {};
}

QDoubleSpinBox* doubleBox(QWidget* parent, double lo, double hi, double step, int decimals, const QString& tip) {
  auto* box = new QDoubleSpinBox(parent);
  box->setRange(lo, hi);
  box->setSingleStep(step);
  box->setDecimals(decimals);
  box->setToolTip(tip);
  return box;
}

QSpinBox* intBox(QWidget* parent, int lo, int hi, const QString& tip) {
  auto* box = new QSpinBox(parent);
  box->setRange(lo, hi);
  box->setToolTip(tip);
  return box;
}

}  // namespace

SamplerPanel::SamplerPanel(QWidget* parent) : QWidget(parent) {
  auto* outer = new QVBoxLayout(this);
  auto* presets = new QHBoxLayout();
  m_preset = new QComboBox(this);
  m_preset->addItems({tr("greedy"), tr("balanced"), tr("creative")});
  m_preset->setCurrentIndex(1);
  auto* apply = new QPushButton(tr("Apply preset"), this);
  auto* reset = new QPushButton(tr("Reset"), this);
  reset->setToolTip(tr("Back to the defaults (llama.cpp's)."));
  presets->addWidget(m_preset, 1);
  presets->addWidget(apply);
  presets->addWidget(reset);
  outer->addLayout(presets);

  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* knobs = new QWidget(scroll);
  auto* form = new QFormLayout(knobs);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  // One knob per numeric setting, from the table the CLI flags and the trace use too; mirostat
  // (off or v2) is a check box.
  for (const SamplerField& f : samplerFields()) {
    const QString label = QString::fromLatin1(f.label.data(), qsizetype(f.label.size()));
    const QString tip = QString::fromLatin1(f.help.data(), qsizetype(f.help.size()));
    if (f.key == "mirostat") {
      m_mirostat = new QCheckBox(tr("mirostat v2"), knobs);
      m_mirostat->setToolTip(stageTooltip(StageKind::kMirostat));
      form->addRow(m_mirostat);
      continue;
    }
    QAbstractSpinBox* box = nullptr;
    if (f.integer()) {
      box = intBox(knobs, int(std::max(f.min, -1e9)), int(std::min(f.max, 1e9)), tip);
    } else {
      box = doubleBox(knobs, f.min, f.max, f.step, f.decimals, tip);
    }
    if (f.key == "temperature") m_temperature = static_cast<QDoubleSpinBox*>(box);
    m_knobs.push_back({&f, box});
    form->addRow(label, box);
  }
  m_breakers = new QLineEdit(knobs);
  m_breakers->setToolTip(tr("DRY sequence breakers, as a JSON array of strings: a repeat never extends across them."));
  form->addRow(tr("DRY breakers"), m_breakers);
  m_logit_bias = new QLineEdit(knobs);
  m_logit_bias->setPlaceholderText(QStringLiteral("15043+1.5, 2-inf"));
  m_logit_bias->setToolTip(tr("Logit bias, TOKEN+N or TOKEN-N separated by commas; TOKEN-inf bans a token."));
  form->addRow(tr("logit bias"), m_logit_bias);
  m_seed = intBox(knobs, 0, 2147483647, tr("Seed of the sampler's random numbers (same seed, same text)."));
  m_max_tokens = intBox(knobs, 1, 8192, tr("Most tokens one generation produces."));
  form->addRow(tr("seed"), m_seed);
  form->addRow(tr("max tokens"), m_max_tokens);
  m_order = new QListWidget(knobs);
  m_order->setDragDropMode(QAbstractItemView::InternalMove);
  m_order->setToolTip(tr("Stage order: drag to reorder."));
  m_order->setMaximumHeight(120);
  form->addRow(tr("order"), m_order);
  scroll->setWidget(knobs);
  auto* splitter = new QSplitter(Qt::Vertical, this);
  splitter->setChildrenCollapsible(false);
  splitter->addWidget(scroll);
  outer->addWidget(splitter, 1);

  m_funnel = new QCustomPlot(this);
  m_funnel->setMinimumHeight(190);
  m_funnel->yAxis->setLabel(tr("candidates"));
  m_funnel->yAxis2->setVisible(true);
  m_funnel->yAxis2->setLabel(tr("raw mass kept"));
  m_funnel->yAxis2->setRange(0, 1.05);
  m_funnel->plotLayout()->insertRow(0);
  m_funnel->plotLayout()->addElement(
      0, 0, new QCPTextElement(m_funnel, tr("kept: blue these settings, grey as generated; line: raw mass"),
                               QFont(font().family(), 7)));
  auto* results = new QWidget(this);
  auto* results_layout = new QVBoxLayout(results);
  results_layout->setContentsMargins(0, 0, 0, 0);
  results_layout->addWidget(m_funnel, 3);
  m_what_if = new QLabel(tr("Select a token to see what these settings would pick."), this);
  m_what_if->setWordWrap(true);
  results_layout->addWidget(m_what_if);
  m_distribution = new QCustomPlot(this);
  m_distribution->setMinimumHeight(110);
  m_distribution->yAxis->setLabel(tr("final p"));
  results_layout->addWidget(m_distribution, 2);
  splitter->addWidget(results);
  splitter->setStretchFactor(0, 2);
  splitter->setStretchFactor(1, 3);

  setConfig(SamplerConfig());
  setSeed(42);
  m_max_tokens->setValue(256);

  const auto changed = [this] {
    if (m_loading) return;
    rebuildWhatIf();
    emit configChanged();
  };
  for (auto* box : findChildren<QDoubleSpinBox*>()) connect(box, &QDoubleSpinBox::valueChanged, this, changed);
  for (auto* box : findChildren<QSpinBox*>()) connect(box, &QSpinBox::valueChanged, this, changed);
  connect(m_mirostat, &QCheckBox::toggled, this, changed);
  for (QLineEdit* edit : {m_breakers, m_logit_bias}) {
    connect(edit, &QLineEdit::textEdited, this, [this, changed] {
      if (applyTexts()) changed();
    });
  }
  connect(m_order->model(), &QAbstractItemModel::rowsMoved, this, changed);
  connect(apply, &QPushButton::clicked, this, [this] { applyPreset(m_preset->currentText()); });
  connect(reset, &QPushButton::clicked, this, [this] {
    setConfig(SamplerConfig());
    rebuildWhatIf();
    emit configChanged();
  });
}

std::vector<StageKind> SamplerPanel::order() const {
  std::vector<StageKind> stages;
  for (int i = 0; i < m_order->count(); ++i) stages.push_back(StageKind(m_order->item(i)->data(Qt::UserRole).toInt()));
  return stages;
}

void SamplerPanel::setOrder(const std::vector<StageKind>& stages) {
  m_order->clear();
  for (StageKind kind : stages) {
    auto* item = new QListWidgetItem(QString::fromLatin1(stageName(kind).data(), qsizetype(stageName(kind).size())));
    item->setData(Qt::UserRole, int(kind));
    item->setToolTip(stageTooltip(kind));
    m_order->addItem(item);
  }
}

SamplerConfig SamplerPanel::config() const {
  SamplerConfig c;
  c.order = order();
  for (const auto& [field, box] : m_knobs) {
    field->set(c, field->integer() ? double(static_cast<QSpinBox*>(box)->value())
                                   : static_cast<QDoubleSpinBox*>(box)->value());
  }
  c.mirostat = m_mirostat->isChecked() ? 2 : 0;
  // Text the user is still typing may not parse: the last valid value stays (see applyTexts).
  c.dry_sequence_breakers = m_breaker_values;
  c.logit_bias = m_bias_values;
  c.seed = uint64_t(m_seed->value());
  return c;
}

void SamplerPanel::setConfig(const SamplerConfig& c) {
  m_loading = true;
  setOrder(c.order);
  for (const auto& [field, box] : m_knobs) {
    if (field->integer()) {
      static_cast<QSpinBox*>(box)->setValue(int(field->get(c)));
    } else {
      static_cast<QDoubleSpinBox*>(box)->setValue(field->get(c));
    }
  }
  m_mirostat->setChecked(c.mirostat == 2);
  m_breaker_values = c.dry_sequence_breakers;
  m_breakers->setText(QString::fromStdString(formatStringList(c.dry_sequence_breakers)));
  m_bias_values = c.logit_bias;
  m_logit_bias->setText(QString::fromStdString(formatLogitBias(c.logit_bias)));
  m_loading = false;
}

bool SamplerPanel::applyTexts() {
  bool ok = true;
  if (auto breakers = parseStringList(m_breakers->text().toStdString())) {
    m_breaker_values = *breakers;
  } else {
    ok = false;
  }
  if (auto bias = parseLogitBiasList(m_logit_bias->text().toStdString()); bias.isOk()) {
    m_bias_values = *bias;
  } else {
    ok = false;
  }
  m_breakers->setStyleSheet(parseStringList(m_breakers->text().toStdString()) ? QString() : QStringLiteral("color: #b00"));
  m_logit_bias->setStyleSheet(parseLogitBiasList(m_logit_bias->text().toStdString()).isOk() ? QString()
                                                                                            : QStringLiteral("color: #b00"));
  return ok;
}

uint64_t SamplerPanel::seed() const { return uint64_t(m_seed->value()); }
void SamplerPanel::setSeed(uint64_t seed) { m_seed->setValue(int(seed & 0x7fffffff)); }
int32_t SamplerPanel::maxTokens() const { return m_max_tokens->value(); }

void SamplerPanel::applyPreset(const QString& name) {
  SamplerConfig c;
  if (name == QLatin1String("greedy")) {
    c.temperature = 0.0;
    c.top_k = 1;
  } else if (name == QLatin1String("creative")) {
    c.temperature = 1.1;
    c.top_k = 0;
    c.top_p = 0.98;
    c.min_p = 0.02;
    c.repeat_penalty = 1.05;
    c.dry_multiplier = 0.8;
  }
  setConfig(c);
  rebuildWhatIf();
  emit configChanged();
}

void SamplerPanel::setStep(const TokenStep* step, std::vector<int32_t> history, bool live, bool recomputing) {
  m_live = live;
  m_recomputing = recomputing;
  m_has_step = step != nullptr;
  if (step) m_step = *step;
  m_history = std::move(history);
  rebuildWhatIf();
}

QString SamplerPanel::whatIfText() const { return m_what_if->text(); }

void SamplerPanel::rebuildWhatIf() {
  m_funnel->clearPlottables();
  m_distribution->clearPlottables();
  m_funnel_rows.clear();
  m_what_if_dist.clear();
  m_what_if_token = -1;
  if (!m_has_step) {
    m_what_if->setText(tr("Select a token to see what these settings would pick."));
    m_funnel->replot();
    m_distribution->replot();
    return;
  }
  const StepTrace& trace = m_step.trace;
  StoredStep stored;
  if (!m_step.logits.empty()) {
    stored.logits = m_step.logits;
    stored.history = m_history;
    stored.xtc_draw = trace.xtc_draw;
    stored.mirostat_mu = trace.mirostat_mu;
  } else {
    stored = StoredStep::fromTrace(trace, m_history);
  }
  auto funnel = samplerFunnel(stored, trace, config(), m_live);
  if (!funnel.isOk()) {
    m_what_if->setText(tr("No what-if for these settings: %1").arg(QString::fromStdString(funnel.status().message())));
    m_funnel->replot();
    m_distribution->replot();
    return;
  }
  const int32_t n_candidates = funnel->n_candidates;
  for (const FunnelRow& row : funnel->rows) m_funnel_rows.push_back({QString::fromStdString(row.stage), row.survivors, row.raw_mass});
  m_what_if_token = funnel->token;
  m_what_if_dist = funnel->distribution;
  if (m_live) {
    m_what_if->setText(tr("As generated (streaming): %1 survivors at the end of the chain.")
                           .arg(trace.stages.empty() ? 0 : trace.stages.back().survivors));
  } else {
    const std::string piece = m_tokenizer ? m_tokenizer->tokenBytes(funnel->token) : std::to_string(funnel->token);
    const std::string actual = m_tokenizer ? m_tokenizer->tokenBytes(trace.token) : std::to_string(trace.token);
    const bool same = funnel->token == trace.token;
    m_what_if->setText(tr("What-if: these settings pick <b>%1</b> (id %2)%3 — generated: %4 (id %5)%6")
                           .arg(visibleToken(piece).toHtmlEscaped())
                           .arg(funnel->token)
                           .arg(same ? tr(", the same token") : tr(", a <b>different</b> token"))
                           .arg(visibleToken(actual).toHtmlEscaped())
                           .arg(trace.token)
                           .arg(funnel->exact        ? QString()
                                : m_recomputing ? tr(" (from the stored top %1: approximate; computing the full logits…)")
                                                      .arg(trace.raw_top.size())
                                                : tr(" (from the stored top %1: approximate)").arg(trace.raw_top.size())));
  }

  drawFunnel(trace, n_candidates);
  drawDistribution();
}

// Survivors per stage (log-scale bars) and the raw mass kept (line), beside the stages as the
// step was generated.
void SamplerPanel::drawFunnel(const StepTrace& trace, int32_t n_candidates) {
  QVector<double> xs, survivors, mass, rec_x, rec_survivors;
  QVector<QString> labels;
  for (size_t i = 0; i < m_funnel_rows.size(); ++i) {
    xs << double(i);
    survivors << std::max(1, m_funnel_rows[i].survivors);
    mass << m_funnel_rows[i].mass;
    labels << m_funnel_rows[i].stage;
  }
  for (size_t i = 0; i < trace.stages.size(); ++i) {
    for (size_t r = 0; r < m_funnel_rows.size(); ++r) {
      if (m_funnel_rows[r].stage == QString::fromStdString(trace.stages[i].name)) {
        rec_x << double(r) + 0.3;
        rec_survivors << std::max(1, trace.stages[i].survivors);
      }
    }
  }
  auto* bars = new QCPBars(m_funnel->xAxis, m_funnel->yAxis);
  bars->setName(tr("kept (these settings)"));
  bars->setWidth(0.35);
  bars->setBrush(QColor(110, 150, 220));
  bars->setData(xs, survivors);
  auto* recorded = new QCPBars(m_funnel->xAxis, m_funnel->yAxis);
  recorded->setName(tr("kept (as generated)"));
  recorded->setWidth(0.25);
  recorded->setBrush(QColor(200, 200, 200));
  recorded->setData(rec_x, rec_survivors);
  auto* line = m_funnel->addGraph(m_funnel->xAxis, m_funnel->yAxis2);
  line->setName(tr("raw mass kept"));
  line->setPen(QPen(QColor(220, 120, 40), 2));
  line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
  line->setData(xs, mass);
  m_funnel->yAxis->setScaleType(QCPAxis::stLogarithmic);
  m_funnel->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  m_funnel->yAxis->setRange(0.8, std::max(10.0, double(n_candidates) * 1.5));
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  ticker->addTicks(xs, labels);
  m_funnel->xAxis->setTicker(ticker);
  m_funnel->xAxis->setTickLabelRotation(30);
  m_funnel->xAxis->setRange(-0.5, double(xs.size()) - 0.3);
  m_funnel->replot();
}

// The distribution these settings leave (top 16), the what-if token highlighted.
void SamplerPanel::drawDistribution() {
  QVector<double> dx, dp, cx, cp;
  QVector<QString> dlabels;
  const size_t n = std::min<size_t>(16, m_what_if_dist.size());
  for (size_t i = 0; i < n; ++i) {
    const auto [id, p] = m_what_if_dist[i];
    const QString shown = visibleToken(m_tokenizer ? m_tokenizer->tokenBytes(id) : std::to_string(id));
    dlabels << (shown.size() > 8 ? shown.left(7) + QChar(0x2026) : shown);
    if (id == m_what_if_token) {
      cx << double(i);
      cp << p;
    } else {
      dx << double(i);
      dp << p;
    }
  }
  QVector<double> ticks;
  for (size_t i = 0; i < n; ++i) ticks << double(i);
  auto* dist = new QCPBars(m_distribution->xAxis, m_distribution->yAxis);
  dist->setBrush(QColor(90, 180, 110));
  dist->setData(dx, dp);
  auto* pick = new QCPBars(m_distribution->xAxis, m_distribution->yAxis);
  pick->setBrush(QColor(240, 170, 40));
  pick->setData(cx, cp);
  QSharedPointer<QCPAxisTickerText> dticker(new QCPAxisTickerText);
  dticker->addTicks(ticks, dlabels);
  m_distribution->xAxis->setTicker(dticker);
  m_distribution->xAxis->setTickLabelRotation(45);
  m_distribution->xAxis->setRange(-0.6, double(std::max<size_t>(n, 1)) - 0.4);
  m_distribution->yAxis->setRange(0, 1.02);
  m_distribution->replot();
}

}  // namespace tokenfab::gui
