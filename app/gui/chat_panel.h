// The conversation view: the active path of the tree as text (or as tokens coloured by their
// probability, each clickable), the input box, Send / Stop / Regenerate / Edit, the system prompt,
// chat-or-completion mode, and a switcher between the alternatives of the last turn.
#pragma once

#include <QWidget>

#include "conversation.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;

namespace tokenfab::gui {

class ChatPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ChatPanel(QWidget* parent = nullptr);

  void setTokenizer(const Tokenizer* tokenizer) { m_tokenizer = tokenizer; }
  // Chat mode can be chosen when `available`; the panel starts in it when `start_in_chat` (a model
  // with its own template), else in completion mode (a base model: chat uses a built-in template).
  void setChatAvailable(bool available, bool start_in_chat);
  bool chatAvailable() const;
  bool chatMode() const;
  void setChatMode(bool chat);
  QString systemPrompt() const;
  void setSystemPrompt(const QString& text);
  void setGenerating(bool generating);
  void setModelReady(bool ready);
  void render(const Conversation& conversation, int selected_turn, int selected_step);

  QString inputText() const;
  void setInputText(const QString& text);
  bool editing() const { return m_editing; }
  void clearEditing();
  bool tokenView() const;
  void setTokenView(bool on);

  QTextBrowser* transcript() const { return m_transcript; }
  QPushButton* sendButton() const { return m_send; }
  QPushButton* stopButton() const { return m_stop; }

 signals:
  void sendRequested(const QString& text, bool edit);
  void stopRequested();
  void regenerateRequested();
  void tokenClicked(int turn, int step);
  void alternativeRequested(int turn);
  void modeChanged(bool chat);

 private:
  const Tokenizer* m_tokenizer = nullptr;
  bool m_editing = false;
  bool m_generating = false;
  bool m_ready = false;
  std::vector<int> m_alternatives;
  int m_alternative_index = -1;
  std::string m_last_user;

  QComboBox* m_mode = nullptr;
  QLineEdit* m_system = nullptr;
  QCheckBox* m_tokens = nullptr;
  QTextBrowser* m_transcript = nullptr;
  QPlainTextEdit* m_input = nullptr;
  QPushButton* m_send = nullptr;
  QPushButton* m_stop = nullptr;
  QPushButton* m_regenerate = nullptr;
  QPushButton* m_edit = nullptr;
  QPushButton* m_prev_alt = nullptr;
  QPushButton* m_next_alt = nullptr;
  QLabel* m_alt_label = nullptr;
};

}  // namespace tokenfab::gui
