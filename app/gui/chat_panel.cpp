#include "chat_panel.h"

#include <QCheckBox>
#include <QStandardItemModel>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

#include "token_text.h"

namespace tokenfab::gui {

namespace {

QString htmlText(const std::string& text) {
  return QString::fromUtf8(text.data(), qsizetype(text.size())).toHtmlEscaped().replace(QLatin1Char('\n'), "<br>");
}

}  // namespace

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout();
  m_mode = new QComboBox(this);
  m_mode->addItem(tr("completion"));
  m_mode->addItem(tr("chat"));
  m_mode->setToolTip(tr("Completion continues the text as is; chat renders the conversation through the model's template."));
  m_system = new QLineEdit(this);
  m_system->setPlaceholderText(tr("System prompt (chat mode)"));
  m_tokens = new QCheckBox(tr("Tokens"), this);
  m_tokens->setToolTip(tr("Show the reply as tokens coloured by probability; click one to inspect it."));
  top->addWidget(new QLabel(tr("Mode"), this));
  top->addWidget(m_mode);
  top->addWidget(m_system, 1);
  top->addWidget(m_tokens);
  layout->addLayout(top);

  m_transcript = new QTextBrowser(this);
  m_transcript->setOpenLinks(false);
  m_transcript->setOpenExternalLinks(false);
  layout->addWidget(m_transcript, 1);

  auto* alt = new QHBoxLayout();
  m_prev_alt = new QPushButton(QStringLiteral("\u25C0"), this);
  m_next_alt = new QPushButton(QStringLiteral("\u25B6"), this);
  m_prev_alt->setToolTip(tr("Previous alternative of the last turn (regenerations, edits, branches)"));
  m_next_alt->setToolTip(tr("Next alternative of the last turn"));
  m_prev_alt->setMaximumWidth(32);
  m_next_alt->setMaximumWidth(32);
  m_alt_label = new QLabel(this);
  alt->addWidget(m_prev_alt);
  alt->addWidget(m_alt_label);
  alt->addWidget(m_next_alt);
  alt->addStretch(1);
  m_regenerate = new QPushButton(tr("Regenerate"), this);
  m_regenerate->setToolTip(tr("Generate the last reply again as a new alternative (Ctrl+R)"));
  m_edit = new QPushButton(tr("Edit last message"), this);
  m_edit->setToolTip(tr("Put the last message back in the input; sending it makes a new alternative"));
  alt->addWidget(m_edit);
  alt->addWidget(m_regenerate);
  layout->addLayout(alt);

  auto* bottom = new QHBoxLayout();
  m_input = new QPlainTextEdit(this);
  m_input->setPlaceholderText(tr("Type a prompt; Ctrl+Enter sends"));
  m_input->setMaximumHeight(90);
  auto* buttons = new QVBoxLayout();
  m_send = new QPushButton(tr("Send"), this);
  m_send->setToolTip(tr("Ctrl+Enter"));
  m_stop = new QPushButton(tr("Stop"), this);
  m_stop->setToolTip(tr("Esc"));
  buttons->addWidget(m_send);
  buttons->addWidget(m_stop);
  bottom->addWidget(m_input, 1);
  bottom->addLayout(buttons);
  layout->addLayout(bottom);

  connect(m_send, &QPushButton::clicked, this, [this] {
    if (!m_send->isEnabled()) return;
    emit sendRequested(m_input->toPlainText(), m_editing);
  });
  connect(m_stop, &QPushButton::clicked, this, &ChatPanel::stopRequested);
  connect(m_regenerate, &QPushButton::clicked, this, &ChatPanel::regenerateRequested);
  connect(m_edit, &QPushButton::clicked, this, [this] {
    m_editing = true;
    m_input->setPlainText(QString::fromStdString(m_last_user));
    m_input->setFocus();
    m_send->setText(tr("Resend"));
  });
  connect(m_tokens, &QCheckBox::toggled, this, [this] { emit tokenClicked(-2, -2); });
  connect(m_mode, &QComboBox::currentIndexChanged, this, [this](int index) { emit modeChanged(index == 1); });
  connect(m_transcript, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
    const QStringList parts = url.toString().split(QLatin1Char(':'));
    if (parts.size() == 3 && parts[0] == QLatin1String("tok")) emit tokenClicked(parts[1].toInt(), parts[2].toInt());
  });
  connect(m_prev_alt, &QPushButton::clicked, this, [this] {
    if (m_alternative_index > 0) emit alternativeRequested(m_alternatives[size_t(m_alternative_index - 1)]);
  });
  connect(m_next_alt, &QPushButton::clicked, this, [this] {
    if (m_alternative_index >= 0 && size_t(m_alternative_index + 1) < m_alternatives.size()) {
      emit alternativeRequested(m_alternatives[size_t(m_alternative_index + 1)]);
    }
  });
  setChatAvailable(false, false);
  setModelReady(false);
}

void ChatPanel::setChatAvailable(bool available, bool start_in_chat) {
  auto* model = qobject_cast<QStandardItemModel*>(m_mode->model());
  if (model) model->item(1)->setEnabled(available);
  m_mode->setCurrentIndex(available && start_in_chat ? 1 : 0);
  m_system->setEnabled(available);
}

bool ChatPanel::chatAvailable() const {
  const auto* model = qobject_cast<const QStandardItemModel*>(m_mode->model());
  return model && model->item(1)->isEnabled();
}

bool ChatPanel::chatMode() const { return m_mode->currentIndex() == 1; }
void ChatPanel::setChatMode(bool chat) { m_mode->setCurrentIndex(chat ? 1 : 0); }
QString ChatPanel::systemPrompt() const { return m_system->text(); }
void ChatPanel::setSystemPrompt(const QString& text) { m_system->setText(text); }
QString ChatPanel::inputText() const { return m_input->toPlainText(); }
void ChatPanel::setInputText(const QString& text) { m_input->setPlainText(text); }
bool ChatPanel::tokenView() const { return m_tokens->isChecked(); }
void ChatPanel::setTokenView(bool on) { m_tokens->setChecked(on); }

void ChatPanel::clearEditing() {
  m_editing = false;
  m_send->setText(tr("Send"));
}

void ChatPanel::setModelReady(bool ready) {
  m_ready = ready;
  setGenerating(m_generating);
}

void ChatPanel::setGenerating(bool generating) {
  m_generating = generating;
  m_send->setEnabled(m_ready && !generating);
  m_stop->setEnabled(m_ready && generating);
  m_regenerate->setEnabled(m_ready && !generating && !m_last_user.empty());
  m_edit->setEnabled(m_ready && !generating && !m_last_user.empty());
  m_mode->setEnabled(!generating);
  m_prev_alt->setEnabled(!generating && m_alternative_index > 0);
  m_next_alt->setEnabled(!generating && m_alternative_index >= 0 &&
                         size_t(m_alternative_index + 1) < m_alternatives.size());
}

void ChatPanel::render(const Conversation& conversation, int selected_turn, int selected_step) {
  const bool tokens = m_tokens->isChecked();
  QString html;
  const auto path = conversation.activePath();
  for (int index : path) {
    const Turn& turn = conversation.turn(index);
    if (conversation.chat_mode) {
      html += QStringLiteral("<p style='margin:6px 0'><b style='color:#2a5db0'>%1</b><br>%2</p>")
                  .arg(tr("User"), htmlText(turn.user));
      html += QStringLiteral("<p style='margin:6px 0'><b style='color:#2f8a3a'>%1</b><br>").arg(tr("Assistant"));
    } else {
      html += QStringLiteral("<span style='color:#555; background:#eef2f8'>%1</span>").arg(htmlText(turn.user));
    }
    if (tokens) {
      for (size_t s = 0; s < turn.steps.size(); ++s) {
        const TokenStep& step = turn.steps[s];
        const bool selected = index == selected_turn && int(s) == selected_step;
        QString shown = htmlText(step.text);
        if (shown.isEmpty()) shown = visibleToken(step.trace.text).toHtmlEscaped();
        html += QStringLiteral("<a href='tok:%1:%2' style='text-decoration:none; color:#000; background:%3;%4'>%5</a>")
                    .arg(index)
                    .arg(s)
                    .arg(probabilityColor(step.trace.chosen_prob).name())
                    .arg(QString(selected ? QStringLiteral(" font-weight:bold;") : QString()) +
                         (step.forced ? QStringLiteral(" text-decoration:underline; color:#1040c0;") : QString()))
                    .arg(shown);
      }
    } else {
      html += htmlText(turn.reply());
    }
    if (conversation.chat_mode) html += QStringLiteral("</p>");
  }
  if (path.empty()) {
    html = QStringLiteral("<p style='color:#777'>%1</p>")
               .arg(m_ready ? tr("Type a prompt below and press Send (Ctrl+Enter).")
                            : tr("No model loaded. Open a GGUF file (File > Open model, or drop it here)."));
  }
  QScrollBar* bar = m_transcript->verticalScrollBar();
  const bool at_end = bar->value() >= bar->maximum() - 4;
  const int old_value = bar->value();
  m_transcript->setHtml(html);
  bar->setValue(at_end ? bar->maximum() : old_value);

  const int leaf = conversation.leaf();
  m_last_user = leaf >= 0 ? conversation.turn(leaf).user : std::string();
  m_alternatives = leaf >= 0 ? conversation.siblings(leaf) : std::vector<int>();
  m_alternative_index = -1;
  for (size_t i = 0; i < m_alternatives.size(); ++i) {
    if (m_alternatives[i] == leaf) m_alternative_index = int(i);
  }
  m_alt_label->setText(m_alternatives.size() > 1
                           ? tr("alternative %1 of %2").arg(m_alternative_index + 1).arg(m_alternatives.size())
                           : QString());
  setGenerating(m_generating);
}

}  // namespace tokenfab::gui
