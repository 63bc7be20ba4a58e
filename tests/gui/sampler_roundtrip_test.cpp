// Every sampler setting survives the three places it lives: the GUI's knobs, a trace file and
// the CLI's flags (issue 21: the GUI's copy used to drop dry_penalty_last_n, the DRY breakers and
// the logit bias). One configuration with every field away from its default goes
// GUI -> trace JSON -> CLI flags and must come back equal to itself, field by field.
#include <gtest/gtest.h>

#include <QLineEdit>

#include <cmath>
#include <limits>

#include "gui_test_support.h"
#include "sampler_panel.h"
#include "tokenfab/sampler_flags.h"
#include "tokenfab/trace.h"

namespace tokenfab::gui {
namespace {

// Values that every front end can show exactly: inside the GUI's ranges, with no more decimals
// than its boxes (a real field with d decimals gets a multiple of 10^-d).
SamplerConfig everyFieldChanged() {
  SamplerConfig c;
  const SamplerConfig defaults;
  for (const SamplerField& f : samplerFields()) {
    double v = f.get(defaults) + (f.integer() ? 3.0 : 0.25);
    if (v > f.max) v = f.get(defaults) - (f.integer() ? 1.0 : 0.25);
    if (f.key == "mirostat") v = 2;  // the GUI offers off or v2
    if (f.key == "trace_top_n") v = 100;
    f.set(c, v);
  }
  c.dry_sequence_breakers = {"\n", "END", "\xc3\xa9"};
  c.logit_bias = {{15043, 1.5}, {2, -std::numeric_limits<double>::infinity()}, {7, -0.25}};
  c.order = {StageKind::kTemperature, StageKind::kMinP, StageKind::kTopK};
  c.seed = 1234;
  return c;
}

void expectSame(const SamplerConfig& got, const SamplerConfig& want, const char* where) {
  SCOPED_TRACE(where);
  for (const SamplerField& f : samplerFields()) EXPECT_EQ(f.get(got), f.get(want)) << f.key;
  EXPECT_EQ(got.dry_sequence_breakers, want.dry_sequence_breakers);
  EXPECT_EQ(got.logit_bias, want.logit_bias);
  EXPECT_EQ(got.order, want.order);
  EXPECT_EQ(got.seed, want.seed);
}

TEST(SamplerRoundTrip, EveryFieldGuiTraceCli) {
  test::guiApp();
  const SamplerConfig want = everyFieldChanged();
  for (const SamplerField& f : samplerFields()) ASSERT_NE(f.get(want), f.get(SamplerConfig{})) << f.key;
  ASSERT_TRUE(validateSamplerConfig(want).isOk()) << validateSamplerConfig(want).toString();

  // GUI: shown in the knobs and read back.
  SamplerPanel panel;
  panel.setConfig(want);
  panel.setSeed(want.seed);  // the seed has its own setter (a new seed per chat)
  const SamplerConfig from_gui = panel.config();
  expectSame(from_gui, want, "GUI");

  // Trace: the settings of a trace written to JSON and read back.
  Trace trace;
  trace.settings = from_gui;
  Result<Trace> read = traceFromJson(traceToJson(trace));
  ASSERT_TRUE(read.isOk()) << read.status().toString();
  expectSame(read->settings, want, "trace");

  // CLI: the flags that reproduce the settings, parsed as `generate` parses them.
  std::vector<std::string> args = samplerFlagArgs(read->settings);
  Result<SamplerConfig> from_cli = parseSamplerFlagValues([&args](std::string_view name) -> std::optional<std::string> {
    for (size_t i = 0; i + 1 < args.size(); i += 2) {
      if (args[i] == name) {
        std::string v = args[i + 1];
        args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
        return v;
      }
    }
    return std::nullopt;
  });
  ASSERT_TRUE(from_cli.isOk()) << from_cli.status().toString();
  EXPECT_TRUE(args.empty()) << "a flag was not read: " << args.front();
  expectSame(*from_cli, want, "CLI");
}

// A logit bias the user is still typing does not replace the last valid one, and is marked.
TEST(SamplerRoundTrip, UnparsableTextKnobsKeepTheLastValidValue) {
  test::guiApp();
  SamplerPanel panel;
  SamplerConfig c;
  c.logit_bias = {{5, 2.0}};
  panel.setConfig(c);
  QLineEdit* bias = nullptr;
  for (QLineEdit* edit : panel.findChildren<QLineEdit*>())
    if (edit->toolTip().startsWith(QLatin1String("Logit bias"))) bias = edit;
  ASSERT_NE(bias, nullptr);
  bias->setText(QStringLiteral("5+2, 9+"));
  emit bias->textEdited(bias->text());
  EXPECT_EQ(panel.config().logit_bias, c.logit_bias);
  bias->setText(QStringLiteral("5+2, 9-inf"));
  emit bias->textEdited(bias->text());
  ASSERT_EQ(panel.config().logit_bias.size(), 2u);
  EXPECT_TRUE(std::isinf(panel.config().logit_bias[1].second));
}

}  // namespace
}  // namespace tokenfab::gui
