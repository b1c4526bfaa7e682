// The golden comparison itself: it must find the differences it is meant to find. The generic
// quantizer with XNNPACK's static per-channel specs differs from ExecuTorch's XNNPACKQuantizer in
// known ways on cnn (int32 bias here, float bias there), and nowhere else.
#include "backend_golden_util.h"

namespace eq {
namespace {

TEST(BackendGoldenUtil, GenericQuantizerOnCnnDiffersFromXnnpackOnlyInBias) {
  const eqtest::BackendGolden gold = eqtest::load_backend_golden("xnnpack-pc", "cnn");
  const GenericQuantizer q{symmetric_int8_config(true, ObserverSpec{ObserverKind::histogram}, 1.0f / 4096.0f)};
  const Prepared p = eqtest::prepare_and_calibrate(eqtest::load_golden_model("cnn"), q);
  const eqtest::GoldenComparison r = eqtest::compare_with_golden(gold, p);
  // XNNPACK leaves the bias float (XNNPACK quantizes it when packing); the generic quantizer
  // gives it an int32 derived spec: one line per conv/linear bias.
  eqtest::expect_golden_differences(r, {".in2 ("});
  int bias_lines = 0;
  for (const auto& m : r.mismatches) bias_lines += m.find(".in2 (") != std::string::npos;
  EXPECT_EQ(bias_lines, 4) << r.report();
  EXPECT_EQ(r.node_map.size(), 10u);
}

TEST(BackendGoldenUtil, DetectsWrongQParams) {
  eqtest::BackendGolden gold = eqtest::load_backend_golden("xnnpack-pc", "cnn");
  // observer 1: the histogram observer on the first conv's input
  gold.j["observers"][1]["zero_point"] = gold.j["observers"][1]["zero_point"].get<int>() + 1;
  const GenericQuantizer q{symmetric_int8_config(true, ObserverSpec{ObserverKind::histogram}, 1.0f / 4096.0f)};
  const Prepared p = eqtest::prepare_and_calibrate(eqtest::load_golden_model("cnn"), q);
  const eqtest::GoldenComparison r = eqtest::compare_with_golden(gold, p);
  int zp_lines = 0;
  for (const auto& m : r.mismatches) zp_lines += m.find("observer 1 ") != std::string::npos;
  EXPECT_EQ(zp_lines, 1) << r.report();
}

}  // namespace
}  // namespace eq
