// Drives the real workbench window with stories260K: load, stream, stop, inspect, what-if,
// branch, save/reopen, and the GUI thread's responsiveness while the worker generates.
#include <gtest/gtest.h>

#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QDoubleSpinBox>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTimer>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <csignal>

#include "chat_panel.h"
#include "gui_test_support.h"
#include "main_window.h"
#include "sampler_panel.h"
#include "shared_data.h"
#include "token_inspector.h"
#include "tokenfab/engine.h"
#include "tokenfab/gguf.h"
#include "tokenfab/synth.h"
#include "tokenfab/trace.h"
#include "tokenfab/vk.h"

namespace tokenfab::gui {
namespace {

using test::waitFor;

constexpr int kLoadTimeoutMs = 120000;
constexpr int kGenerateTimeoutMs = 300000;
constexpr uint64_t kSeed = 1234;

// Vulkan by default (lavapipe here); TOKENFAB_GUI_TEST_BACKEND=reference for machines without one.
Backend testBackend() {
  return qEnvironmentVariable("TOKENFAB_GUI_TEST_BACKEND") == QLatin1String("reference") ? Backend::kReference
                                                                                          : Backend::kVulkan;
}

void screenshot(QWidget& window, const char* name) {
  const QString dir = qEnvironmentVariable("TOKENFAB_SCREENSHOT_DIR");
  if (dir.isEmpty()) return;
  QApplication::processEvents();
  window.grab().save(QDir(dir).filePath(QString::fromLatin1(name) + QStringLiteral(".png")));
}

// float64 softmax of one token over the full logits: independent of the sampler's own numbers.
double softmaxProb(const std::vector<float>& logits, int32_t id) {
  double max = -INFINITY;
  for (float l : logits) max = std::max(max, double(l));
  double sum = 0.0;
  for (float l : logits) sum += std::exp(double(l) - max);
  return std::exp(double(logits[size_t(id)]) - max) / sum;
}

int32_t argmax(const std::vector<float>& logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Opens `path` in `window` and waits until the model is ready.
::testing::AssertionResult openAndWait(MainWindow& window, const QString& path) {
  window.openModel(path);
  if (!waitFor([&] { return !window.isLoading(); }, kLoadTimeoutMs)) return ::testing::AssertionFailure() << "load timed out";
  if (!window.modelReady()) return ::testing::AssertionFailure() << window.lastError().toStdString();
  return ::testing::AssertionSuccess();
}

// Sends `prompt` and waits until the reply is complete and no error was reported.
::testing::AssertionResult sendAndWait(MainWindow& window, const QString& prompt) {
  window.send(prompt);
  if (!window.isGenerating()) return ::testing::AssertionFailure() << "not generating: " << window.lastError().toStdString();
  if (!waitFor([&] { return !window.isGenerating(); }, kGenerateTimeoutMs))
    return ::testing::AssertionFailure() << "generation timed out";
  if (!window.lastError().isEmpty()) return ::testing::AssertionFailure() << window.lastError().toStdString();
  return ::testing::AssertionSuccess();
}

class GuiWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::guiApp();
    TF_SHARED_FILE(model, "models/stories260K.gguf");
    m_model_path = QString::fromStdString(model.string());
    m_window = std::make_unique<MainWindow>();
    m_window->setBackend(testBackend());
    m_window->resize(1280, 800);
    m_window->show();
    m_window->samplerPanel()->setConfig(SamplerConfig());
    m_window->samplerPanel()->setSeed(kSeed);
    m_window->openModel(m_model_path);
    ASSERT_TRUE(waitFor([&] { return !m_window->isLoading(); }, kLoadTimeoutMs)) << "load timed out";
    ASSERT_TRUE(m_window->modelReady()) << m_window->lastError().toStdString();
  }
  void TearDown() override { m_window.reset(); }

  void generate(const QString& prompt, int max_tokens) {
    setMaxTokens(max_tokens);
    m_window->send(prompt);
    ASSERT_TRUE(m_window->isGenerating());
    ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs)) << "generation timed out";
    ASSERT_TRUE(m_window->lastError().isEmpty()) << m_window->lastError().toStdString();
  }
  void setMaxTokens(int n) {
    auto boxes = m_window->samplerPanel()->findChildren<QSpinBox*>();
    for (QSpinBox* box : boxes) {
      if (box->toolTip().startsWith(QLatin1String("Most tokens"))) box->setValue(n);
    }
    ASSERT_EQ(m_window->samplerPanel()->maxTokens(), n);
  }
  const Turn& leaf() const { return m_window->conversation().turn(m_window->conversation().leaf()); }

  QString m_model_path;
  std::unique_ptr<MainWindow> m_window;
};

TEST_F(GuiWindowTest, StreamsTokensWithoutStallingTheGuiThread) {
  screenshot(*m_window, "idle");
  setMaxTokens(256);
  // A 5 ms timer on the GUI thread: the largest gap between its ticks is the longest stall.
  QElapsedTimer clock;
  qint64 last_tick = -1, worst_gap = 0;
  std::vector<size_t> seen_counts;
  QTimer probe;
  probe.setInterval(5);
  QObject::connect(&probe, &QTimer::timeout, [&] {
    const qint64 now = clock.elapsed();
    if (last_tick >= 0) worst_gap = std::max(worst_gap, now - last_tick);
    last_tick = now;
    const int leaf_index = m_window->conversation().leaf();
    if (leaf_index >= 0) seen_counts.push_back(m_window->conversation().turn(leaf_index).steps.size());
  });
  clock.start();
  probe.start();
  m_window->chatPanel()->setInputText(QStringLiteral("Once upon a time"));
  m_window->chatPanel()->sendButton()->click();
  ASSERT_TRUE(m_window->isGenerating());
  bool shot = false;
  ASSERT_TRUE(waitFor(
      [&] {
        if (!shot && leaf().steps.size() >= 40) {
          screenshot(*m_window, "generating");
          last_tick = clock.elapsed();  // the grab itself is not the engine's doing
          shot = true;
        }
        return !m_window->isGenerating();
      },
      kGenerateTimeoutMs));
  probe.stop();
  const Turn& turn = leaf();
  ASSERT_TRUE(m_window->lastSummary() != nullptr);
  EXPECT_GE(turn.steps.size(), 32u) << "reason " << int(m_window->lastSummary()->reason);
  // Streamed: the GUI saw the reply grow in many steps, not all at once at the end.
  std::vector<size_t> distinct(seen_counts.begin(), seen_counts.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  EXPECT_GE(distinct.size(), 8u);
  // The GUI thread never waited for the GPU: every submission and wait happened on the engine's
  // worker thread (a work fact, not a time: the worst gap between the probe's ticks is printed
  // for information only, since a loaded 2-core machine can starve any thread).
  EXPECT_FALSE(vk::threadHasWaitedForGpu(std::this_thread::get_id()));
  EXPECT_GE(vk::threadsThatWaitedForGpu(), 1u) << "no thread ran GPU work";
  std::printf("gui: %zu tokens, worst GUI-thread gap %lld ms, %s\n", turn.steps.size(), (long long)worst_gap,
              m_window->efficiencyText().toStdString().c_str());
  // The reply text is the concatenation of the tokens' text deltas and starts the transcript's reply.
  EXPECT_FALSE(turn.reply().empty());
  EXPECT_TRUE(m_window->chatPanel()->transcript()->toPlainText().contains(QString::fromStdString(turn.reply()).left(20)));
}

TEST_F(GuiWindowTest, StopEndsGenerationEarly) {
  setMaxTokens(2000);
  m_window->send(QStringLiteral("Once upon a time"));
  ASSERT_TRUE(waitFor([&] { return leaf().steps.size() >= 3; }, kGenerateTimeoutMs));
  m_window->chatPanel()->stopButton()->click();
  QElapsedTimer clock;
  clock.start();
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, 10000)) << "stop did not end generation";
  ASSERT_TRUE(m_window->lastSummary() != nullptr);
  EXPECT_EQ(m_window->lastSummary()->reason, StopReason::kStopRequested);
  EXPECT_LT(leaf().steps.size(), 2000u);
  EXPECT_LT(clock.elapsed(), 5000);
}

TEST_F(GuiWindowTest, InspectorShowsTopKOfTheSelectedToken) {
  generate(QStringLiteral("Once upon a time"), 48);
  const int turn_index = m_window->conversation().leaf();
  const Turn& turn = leaf();
  ASSERT_GE(turn.steps.size(), 10u);
  const int step = 5;
  m_window->chatPanel()->setTokenView(true);
  // Click the token's link as the transcript would.
  emit m_window->chatPanel()->tokenClicked(turn_index, step);
  ASSERT_EQ(m_window->selectedStep(), step);
  screenshot(*m_window, "inspecting");
  const TokenStep& s = turn.steps[size_t(step)];
  ASSERT_EQ(s.logits.size(), size_t(m_window->model().n_vocab)) << "full logits kept for a 512-token vocabulary";
  QTableWidget* table = m_window->inspector()->table();
  ASSERT_GE(table->rowCount(), 2);
  bool chosen_found = false;
  double raw_sum = 0.0;
  for (int row = 0; row < table->rowCount(); ++row) {
    const int id = table->item(row, 1)->text().toInt();
    const double raw = table->item(row, 3)->text().toDouble();
    const double final_p = table->item(row, 4)->text().toDouble();
    EXPECT_GE(raw, 0.0);
    EXPECT_LE(raw, 1.0);
    EXPECT_GE(final_p, 0.0);
    EXPECT_LE(final_p, 1.0);
    raw_sum += raw;
    // Raw p shown (3 decimals or 2 significant digits) equals a float64 softmax of the logits.
    EXPECT_NEAR(raw, softmaxProb(s.logits, id), 0.0006) << "row " << row << " id " << id;
    if (id == s.trace.token) {
      chosen_found = true;
      // The chosen token's raw p is the trace's.
      for (const TokenLogit& c : s.trace.raw_top) {
        if (c.id == id) {
          EXPECT_NEAR(c.prob, softmaxProb(s.logits, id), 1e-6);
        }
      }
      EXPECT_NEAR(final_p, s.trace.chosen_prob, 0.0006);
    }
  }
  EXPECT_LE(raw_sum, 1.0 + 1e-3);
  // The rows are the highest raw candidates, in order: row 0 is the argmax of the logits.
  EXPECT_EQ(table->item(0, 1)->text().toInt(), argmax(s.logits));
  EXPECT_TRUE(chosen_found || s.trace.token != argmax(s.logits));
}

TEST_F(GuiWindowTest, TemperatureChangesFunnelAndWhatIfToken) {
  generate(QStringLiteral("Once upon a time"), 64);
  const int turn_index = m_window->conversation().leaf();
  const Turn& turn = leaf();
  // A step where sampling did not pick the argmax (seeded: the same step every run).
  int step = -1;
  for (size_t i = 0; i < turn.steps.size(); ++i) {
    if (turn.steps[i].trace.token != argmax(turn.steps[i].logits)) {
      step = int(i);
      break;
    }
  }
  ASSERT_GE(step, 0) << "seed " << kSeed << ": every token was the argmax";
  m_window->selectStep(turn_index, step);
  SamplerPanel* sampler = m_window->samplerPanel();
  const TokenStep& s = turn.steps[size_t(step)];
  // Same settings, same draw, full logits: what-if reproduces the generated token.
  EXPECT_EQ(sampler->whatIfToken(), s.trace.token);
  const auto funnel_before = sampler->funnel();
  ASSERT_GE(funnel_before.size(), 2u);
  EXPECT_GT(funnel_before.back().survivors, 1);
  const QString text_before = sampler->whatIfText();

  sampler->temperatureBox()->setValue(0.0);  // greedy
  EXPECT_EQ(sampler->whatIfToken(), argmax(s.logits)) << "seed " << kSeed << " step " << step;
  EXPECT_NE(sampler->whatIfToken(), s.trace.token);
  ASSERT_FALSE(sampler->funnel().empty());
  EXPECT_EQ(sampler->funnel().back().survivors, 1);
  EXPECT_NEAR(sampler->funnel().back().mass, softmaxProb(s.logits, argmax(s.logits)), 1e-9);
  EXPECT_NE(sampler->whatIfText(), text_before);
  EXPECT_TRUE(sampler->whatIfText().contains(QStringLiteral("different")));
}

TEST_F(GuiWindowTest, BranchFromSecondCandidateAndReopenSession) {
  generate(QStringLiteral("Once upon a time"), 40);
  const int original_index = m_window->conversation().leaf();
  const Turn original = leaf();
  ASSERT_GE(original.steps.size(), 8u);
  const int step = 4;
  m_window->selectStep(original_index, step);
  TokenInspector* inspector = m_window->inspector();
  const int candidate = inspector->candidateAt(1);  // second-best raw candidate
  ASSERT_GE(candidate, 0);
  ASSERT_EQ(candidate, original.steps[step].trace.raw_top[1].id);
  inspector->selectCandidateRow(1);
  auto* branch_button = inspector->findChild<QPushButton*>();
  ASSERT_NE(branch_button, nullptr);
  ASSERT_TRUE(branch_button->isEnabled());
  branch_button->click();
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs));
  ASSERT_TRUE(m_window->lastError().isEmpty()) << m_window->lastError().toStdString();
  m_window->chatPanel()->setTokenView(true);
  m_window->selectStep(m_window->conversation().leaf(), step);
  m_window->inspector()->selectCandidateRow(1);
  screenshot(*m_window, "branching");

  const Conversation& conv = m_window->conversation();
  const int branch_index = conv.leaf();
  ASSERT_NE(branch_index, original_index);
  EXPECT_EQ(conv.siblings(branch_index).size(), 2u);
  const Turn& branch = conv.turn(branch_index);
  ASSERT_GT(branch.steps.size(), size_t(step + 1)) << "generation continued after the picked candidate";
  for (int i = 0; i < step; ++i) EXPECT_EQ(branch.steps[size_t(i)].trace.token, original.steps[size_t(i)].trace.token);
  EXPECT_EQ(branch.steps[size_t(step)].trace.token, candidate);
  EXPECT_TRUE(branch.steps[size_t(step)].forced);
  EXPECT_EQ(branch.steps[size_t(step + 1)].trace.position, branch.steps[size_t(step)].trace.position + 1);
  // The continuation starts with the candidate.
  std::string prefix;
  for (int i = 0; i < step; ++i) prefix += original.steps[size_t(i)].text;
  prefix += m_window->model().tokenizer->tokenBytes(candidate);
  EXPECT_EQ(branch.reply().substr(0, prefix.size()), prefix);

  // Independent check: the exact CPU reference fed prompt + prefix + candidate gives the logits
  // the GUI recorded for the first token after the branch.
  EngineOptions options;
  options.backend = Backend::kReference;
  auto engine = Engine::open(m_model_path.toStdString(), options);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  auto session = (*engine)->newSession(0);
  ASSERT_TRUE(session.isOk());
  const std::vector<int32_t> history = branch.history(size_t(step + 1));
  auto logits = (*session)->decode(history);
  ASSERT_TRUE(logits.isOk()) << logits.status().toString();
  const std::vector<float> reference(logits->begin(), logits->end());
  const std::vector<float>& recorded = branch.steps[size_t(step + 1)].logits;
  ASSERT_EQ(recorded.size(), reference.size());
  EXPECT_EQ(argmax(recorded), argmax(reference));
  double worst = 0.0;
  for (size_t i = 0; i < reference.size(); ++i) worst = std::max(worst, std::fabs(double(recorded[i]) - reference[i]));
  EXPECT_LT(worst, 2e-2) << "GPU vs reference logits after the branch";

  // Save, then reopen into a fresh window: the same tree.
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  const QString path = dir.filePath(QStringLiteral("session.tfsession.json"));
  ASSERT_TRUE(m_window->saveSession(path).isOk());
  MainWindow reopened;
  ASSERT_TRUE(reopened.openSession(path).isOk());
  const Conversation& again = reopened.conversation();
  ASSERT_EQ(again.size(), conv.size());
  EXPECT_EQ(again.activePath(), conv.activePath());
  for (int i = 0; i < conv.size(); ++i) {
    const Turn& a = conv.turn(i);
    const Turn& b = again.turn(i);
    EXPECT_EQ(a.parent, b.parent);
    EXPECT_EQ(a.children, b.children);
    EXPECT_EQ(a.user, b.user);
    EXPECT_EQ(a.context, b.context);
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.settings, b.settings);
    EXPECT_EQ(a.reply(), b.reply());
    ASSERT_EQ(a.steps.size(), b.steps.size());
    for (size_t k = 0; k < a.steps.size(); ++k) {
      EXPECT_EQ(a.steps[k].trace.token, b.steps[k].trace.token);
      EXPECT_EQ(a.steps[k].forced, b.steps[k].forced);
      EXPECT_EQ(a.steps[k].trace.raw_top, b.steps[k].trace.raw_top);
    }
  }
  // A corrupt session file is a clear error and leaves the window's tree alone.
  const QString bad = dir.filePath(QStringLiteral("bad.json"));
  {
    QFile file(bad);
    ASSERT_TRUE(file.open(QIODevice::WriteOnly));
    QFile good(path);
    ASSERT_TRUE(good.open(QIODevice::ReadOnly));
    const QByteArray bytes = good.readAll();
    file.write(bytes.left(bytes.size() / 2));
  }
  const Status status = reopened.openSession(bad);
  EXPECT_EQ(status.code(), Code::kSessionCorrupt) << status.toString();
  EXPECT_EQ(reopened.conversation().size(), conv.size());
}

// Branching from the byte-fallback token <0xE2> makes a step whose text is one byte of a
// three-byte character. Saving used to throw inside the JSON writer and end the app with the
// user's work; now the session saves, reopens byte for byte, and a save that fails says why.
TEST_F(GuiWindowTest, BranchFromAByteTokenSavesAndReopensExactly) {
  generate(QStringLiteral("Once upon a time"), 8);
  const std::optional<int32_t> byte_token = m_window->model().tokenizer->findToken("<0xE2>");
  ASSERT_TRUE(byte_token.has_value());
  ASSERT_EQ(m_window->model().tokenizer->tokenBytes(*byte_token), "\xE2");
  const int source = m_window->conversation().leaf();
  ASSERT_GE(leaf().steps.size(), 3u);
  m_window->branchFrom(source, 2, *byte_token);
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs));
  ASSERT_TRUE(m_window->lastError().isEmpty()) << m_window->lastError().toStdString();
  const Conversation& conv = m_window->conversation();
  ASSERT_NE(conv.leaf(), source);
  ASSERT_EQ(leaf().steps[2].text, "\xE2");
  ASSERT_TRUE(leaf().steps[2].forced);

  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  const QString path = dir.filePath(QStringLiteral("bytes.tfsession.json"));
  const Status saved = m_window->saveSession(path);
  ASSERT_TRUE(saved.isOk()) << saved.toString();
  MainWindow reopened;
  const Status opened = reopened.openSession(path);
  ASSERT_TRUE(opened.isOk()) << opened.toString();
  const Conversation& again = reopened.conversation();
  ASSERT_EQ(again.size(), conv.size());
  for (int i = 0; i < conv.size(); ++i) {
    ASSERT_EQ(again.turn(i).steps.size(), conv.turn(i).steps.size());
    EXPECT_EQ(again.turn(i).reply(), conv.turn(i).reply()) << "turn " << i;
    for (size_t k = 0; k < conv.turn(i).steps.size(); ++k) {
      EXPECT_EQ(again.turn(i).steps[k].text, conv.turn(i).steps[k].text) << "turn " << i << " step " << k;
      EXPECT_EQ(again.turn(i).steps[k].trace, conv.turn(i).steps[k].trace) << "turn " << i << " step " << k;
    }
  }

  // The Save menu item on a save that cannot complete (the file-size limit makes write() fail,
  // as a full disk would): a message, the window keeps its tree, the saved file is unchanged.
  QFile previous(path);
  ASSERT_TRUE(previous.open(QIODevice::ReadOnly));
  const QByteArray before = previous.readAll();
  previous.close();
  m_window->branchFrom(source, 1, *byte_token);  // more to save than the limit allows
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs));
  QAction* save = nullptr;
  for (QAction* action : m_window->findChildren<QAction*>()) {
    if (action->text() == QStringLiteral("&Save session...")) save = action;
  }
  ASSERT_NE(save, nullptr);
  const int turns = m_window->conversation().size();
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = rlim_t(before.size());
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  save->trigger();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(m_window->lastError().startsWith(QStringLiteral("Could not save the session"))) << m_window->lastError().toStdString();
  EXPECT_EQ(m_window->conversation().size(), turns);
  ASSERT_TRUE(previous.open(QIODevice::ReadOnly));
  EXPECT_EQ(previous.readAll(), before);
}

TEST_F(GuiWindowTest, RegenerateEditAndSwitchAlternatives) {
  generate(QStringLiteral("Once upon a time"), 24);
  const int first = m_window->conversation().leaf();
  const std::string first_reply = leaf().reply();
  m_window->regenerate();
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs));
  const Conversation& conv = m_window->conversation();
  const int second = conv.leaf();
  ASSERT_NE(second, first);
  EXPECT_EQ(conv.siblings(second), (std::vector<int>{first, second}));
  EXPECT_EQ(conv.turn(second).context, conv.turn(first).context);
  EXPECT_NE(conv.turn(second).seed, conv.turn(first).seed);
  EXPECT_FALSE(conv.turn(second).steps.empty());
  // Each alternative's first step sees the same prompt: the same raw candidates (the regenerated
  // one re-decodes only the prompt's last token after a rewind, so logits agree to rounding).
  const auto& a = conv.turn(first).steps[0].trace.raw_top;
  const auto& b = conv.turn(second).steps[0].trace.raw_top;
  ASSERT_GE(std::min(a.size(), b.size()), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a[i].id, b[i].id) << "rank " << i;
    EXPECT_NEAR(a[i].logit, b[i].logit, 1e-3f) << "rank " << i;
  }

  // Edit the message and resend: a third alternative with the new text.
  auto buttons = m_window->chatPanel()->findChildren<QPushButton*>();
  QPushButton* edit = nullptr;
  QPushButton* previous = nullptr;
  for (QPushButton* button : buttons) {
    if (button->text() == QStringLiteral("Edit last message")) edit = button;
    if (button->text() == QStringLiteral("\u25C0")) previous = button;
  }
  ASSERT_TRUE(edit && previous);
  edit->click();
  EXPECT_EQ(m_window->chatPanel()->inputText(), QStringLiteral("Once upon a time"));
  m_window->chatPanel()->setInputText(QStringLiteral("The dog"));
  m_window->chatPanel()->sendButton()->click();
  ASSERT_TRUE(waitFor([&] { return !m_window->isGenerating(); }, kGenerateTimeoutMs));
  const int third = conv.leaf();
  EXPECT_EQ(conv.siblings(third).size(), 3u);
  EXPECT_EQ(conv.turn(third).user, "The dog");
  EXPECT_TRUE(m_window->chatPanel()->transcript()->toPlainText().startsWith(QStringLiteral("The dog")));
  // Back to the first alternative with the arrow twice.
  previous->click();
  previous->click();
  EXPECT_EQ(conv.leaf(), first);
  EXPECT_EQ(conv.turn(first).reply(), first_reply);
  EXPECT_TRUE(m_window->chatPanel()->transcript()->toPlainText().contains(QString::fromStdString(first_reply).trimmed().left(16)));
}

TEST_F(GuiWindowTest, ExportsTraceAndPlots) {
  generate(QStringLiteral("Once upon a time"), 20);
  QTemporaryDir dir;
  const QString json = dir.filePath(QStringLiteral("trace.json"));
  const QString csv = dir.filePath(QStringLiteral("trace.csv"));
  ASSERT_TRUE(m_window->exportTrace(json).isOk());
  ASSERT_TRUE(m_window->exportTrace(csv).isOk());
  auto trace = readTraceJson(json.toStdString());
  ASSERT_TRUE(trace.isOk()) << trace.status().toString();
  const Turn& turn = leaf();
  ASSERT_EQ(trace->steps.size(), turn.steps.size());
  for (size_t i = 0; i < turn.steps.size(); ++i) EXPECT_EQ(trace->steps[i], turn.steps[i].trace);
  EXPECT_EQ(trace->prompt_tokens, turn.context);
  EXPECT_EQ(trace->seed, turn.seed);
  QFile file(csv);
  ASSERT_TRUE(file.open(QIODevice::ReadOnly));
  EXPECT_GE(file.readAll().count('\n'), qsizetype(turn.steps.size() + 1));
  ASSERT_TRUE(m_window->exportPlots(dir.filePath(QStringLiteral("plots"))).isOk());
  for (const char* name : {"timeline", "inspector", "funnel"}) {
    for (const char* ext : {".png", ".pdf"}) {
      const QFileInfo info(dir.filePath(QStringLiteral("plots-%1%2").arg(QLatin1String(name), QLatin1String(ext))));
      EXPECT_TRUE(info.exists() && info.size() > 0) << info.filePath().toStdString();
    }
  }
}

TEST(GuiWindow, BadModelFileGivesAClearError) {
  test::guiApp();
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("not_a_model.gguf"));
  {
    QFile file(path);
    ASSERT_TRUE(file.open(QIODevice::WriteOnly));
    file.write("GGUF this is not a model");
  }
  MainWindow window;
  window.setBackend(testBackend());
  window.openModel(path);
  ASSERT_TRUE(waitFor([&] { return !window.isLoading(); }, kLoadTimeoutMs));
  EXPECT_FALSE(window.modelReady());
  EXPECT_TRUE(window.lastError().startsWith(QStringLiteral("Could not load the model"))) << window.lastError().toStdString();
  EXPECT_TRUE(window.chatPanel()->transcript()->toPlainText().contains(QStringLiteral("No model loaded")));
}

// stories260K has no chat template at all: the GUI offers chat with the built-in template its
// vocabulary implies, as the CLI does (one chat-prompt assembly for both front ends).
TEST(GuiWindow, ModelWithoutChatTemplateStillOffersChat) {
  test::guiApp();
  TF_SHARED_FILE(model, "models/stories260K.gguf");
  auto file = gguf::GgufFile::open(model);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  ASSERT_EQ(file->find("tokenizer.chat_template"), nullptr) << "the fixture gained a template";
  MainWindow window;
  window.setBackend(testBackend());
  ASSERT_TRUE(openAndWait(window, QString::fromStdString(model.string())));
  ASSERT_TRUE(window.model().chat_template.has_value());
  EXPECT_FALSE(window.model().chat_template->has_own_template);
  EXPECT_EQ(window.model().chat_template->builtin_name, "llama2");
  // A base model opens in completion mode, with chat one click away.
  EXPECT_TRUE(window.chatPanel()->chatAvailable());
  EXPECT_FALSE(window.chatPanel()->chatMode());
  EXPECT_TRUE(window.templateNotice().contains(QStringLiteral("built-in 'llama2'"))) << window.templateNotice().toStdString();

  window.chatPanel()->setChatMode(true);
  window.samplerPanel()->setConfig(SamplerConfig());
  ASSERT_TRUE(sendAndWait(window, QStringLiteral("Once upon a time")));
  const Turn& turn = window.conversation().turn(window.conversation().leaf());
  const std::string prompt = window.model().tokenizer->decode(turn.context, /*render_special=*/true);
  EXPECT_NE(prompt.find("[INST] Once upon a time [/INST]"), std::string::npos) << prompt;
}

// stories260K with a chat template that fails (one of the hostile templates of issue 16): the
// model must load, offer chat with the built-in template, and say so in one status-bar line.
TEST(GuiWindow, FailingChatTemplateFallsBackToTheBuiltinOne) {
  test::guiApp();
  TF_SHARED_FILE(model, "models/stories260K.gguf");
  auto source = gguf::GgufFile::open(model);
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  gguf::GgufWriter writer(source->version());
  writer.setAlignment(source->alignment());
  for (const auto& kv : source->metadata()) writer.set(kv.key, kv.value);
  writer.set("tokenizer.chat_template", gguf::Value::string("{% set ns = namespace() %}{% set ns.me = ns %}"
                                                            "{{ ns == ns }}{{ 'x' * 9223372036854775807 }}"));
  for (const auto& t : source->tensors()) {
    auto data = source->tensorData(t);
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    ASSERT_TRUE(writer.addTensor(t.name, t.type, ne, std::vector<uint8_t>(data.begin(), data.end())).isOk());
  }
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("hostile_template.gguf"));
  ASSERT_TRUE(writer.writeFile(path.toStdString()).isOk());

  MainWindow window;
  window.setBackend(testBackend());
  ASSERT_TRUE(openAndWait(window, path));
  ASSERT_TRUE(window.model().chat_template.has_value());
  EXPECT_EQ(window.model().chat_template->builtin_name, "llama2");  // llama vocabulary with <s> and </s>
  EXPECT_TRUE(window.chatPanel()->chatMode());
  const QString notice = window.templateNotice();
  EXPECT_TRUE(notice.contains(QStringLiteral("built-in 'llama2'"))) << notice.toStdString();
  EXPECT_TRUE(notice.contains(QStringLiteral("does not fit in 64 bits")) ||
              notice.contains(QStringLiteral("exceeds the limit")))
      << notice.toStdString();
  EXPECT_FALSE(notice.contains(QLatin1Char('\n')));

  window.samplerPanel()->setConfig(SamplerConfig());
  ASSERT_TRUE(sendAndWait(window, QStringLiteral("Once upon a time")));
  // The prompt is the built-in llama2 rendering of the message, as the tokenizer saw it.
  const Turn& turn = window.conversation().turn(window.conversation().leaf());
  const Tokenizer& tok = *window.model().tokenizer;
  const std::string prompt = tok.decode(turn.context, /*render_special=*/true);
  EXPECT_NE(prompt.find("[INST] Once upon a time [/INST]"), std::string::npos) << prompt;
}

// Issue 17: the what-if is exact on a 151,936-token vocabulary. Steps of a vocabulary that large
// keep only their top candidates; selecting one has the worker compute its full logits again,
// and the funnel then equals the one computed from logits of an independent run (a fresh
// session fed the same tokens one at a time).
TEST(GuiWindow, WhatIfIsExactOnAQwenSizedVocabulary) {
  test::guiApp();
  auto shape = synth::findShape("qwen2.5-0.5b");
  ASSERT_TRUE(shape.isOk());
  shape->name = "wide-vocab";
  shape->n_embd = 64, shape->n_head = 4, shape->n_head_kv = 2, shape->n_ff = 128, shape->n_ctx_train = 256;
  ASSERT_EQ(shape->n_vocab, 151936u);
  QTemporaryDir dir;
  const std::filesystem::path path = dir.filePath(QStringLiteral("wide-vocab.gguf")).toStdString();
  synth::Options options;
  options.n_layer = 2;
  ASSERT_TRUE(synth::synthesize(*shape, options, path).isOk());

  MainWindow window;
  window.setBackend(testBackend());
  SamplerConfig config;
  config.temperature = 1.5;  // a wide distribution: every stage of the funnel keeps something
  window.samplerPanel()->setConfig(config);
  for (QSpinBox* box : window.samplerPanel()->findChildren<QSpinBox*>())
    if (box->toolTip().startsWith(QLatin1String("Most tokens"))) box->setValue(6);
  ASSERT_EQ(window.samplerPanel()->maxTokens(), 6);
  ASSERT_TRUE(openAndWait(window, QString::fromStdString(path.string())));
  ASSERT_TRUE(sendAndWait(window, QStringLiteral("Once upon a time")));
  const int leaf = window.conversation().leaf();
  const Turn& turn = window.conversation().turn(leaf);
  ASSERT_GE(turn.steps.size(), 4u);
  const size_t step = 3;
  ASSERT_TRUE(turn.steps[step].logits.empty()) << "a 151,936-token step should keep only its top candidates";

  window.selectStep(leaf, int(step));
  // The recomputation is one short prefill and a decode step: a minute is plenty on lavapipe.
  ASSERT_TRUE(waitFor([&] { return !window.samplerPanel()->whatIfText().contains(QStringLiteral("approximate")); },
                      60000))
      << window.samplerPanel()->whatIfText().toStdString();

  // The independent run: a new engine and session, every token of the history fed alone.
  EngineOptions engine_options;
  engine_options.backend = testBackend();
  auto engine = Engine::open(path, engine_options);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  auto session = (*engine)->newSession(256);
  ASSERT_TRUE(session.isOk()) << session.status().toString();
  const std::vector<int32_t> history = turn.history(step);
  std::vector<float> logits;
  for (int32_t token : history) {
    auto out = (*session)->decode(std::span<const int32_t>(&token, 1));
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    logits.assign(out->begin(), out->end());
  }
  ASSERT_EQ(logits.size(), 151936u);
  StoredStep stored;
  stored.logits = logits;
  stored.history = history;
  stored.xtc_draw = turn.steps[step].trace.xtc_draw;
  stored.mirostat_mu = turn.steps[step].trace.mirostat_mu;
  auto want = samplerFunnel(stored, turn.steps[step].trace, window.samplerPanel()->config(), false);
  ASSERT_TRUE(want.isOk()) << want.status().toString();
  ASSERT_TRUE(want->exact);
  EXPECT_EQ(want->n_candidates, 151936);
  const auto& got = window.samplerPanel()->funnel();
  ASSERT_EQ(got.size(), want->rows.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].stage.toStdString(), want->rows[i].stage);
    EXPECT_EQ(got[i].survivors, want->rows[i].survivors) << want->rows[i].stage;
    EXPECT_NEAR(got[i].mass, want->rows[i].raw_mass, 1e-4) << want->rows[i].stage;
  }
  EXPECT_EQ(got.front().survivors, 151936);  // the raw row: the whole vocabulary, not a top 64
  EXPECT_EQ(window.samplerPanel()->whatIfToken(), want->token);
}

}  // namespace
}  // namespace tokenfab::gui
