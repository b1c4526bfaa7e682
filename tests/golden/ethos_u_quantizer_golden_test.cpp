// eq::EthosUQuantizer against ExecuTorch 1.5.1's own EthosUQuantizer(EthosUCompileSpec
// ("ethos-u55-128")) (fixtures/quant/backends/ethosu-{a8w8,a16w8}_*.json): the nodes annotated
// (after the Arm transform_for_annotation decompositions), the sharing groups and every
// observer's qparams after the goldens' calibration.
#include <nlohmann/json.hpp>

#include "backend_golden_util.h"
#include "edgequant/ethos_u.h"

namespace eq {
namespace {

using Case = eqtest::GoldenCase;

class EthosUGolden : public testing::TestWithParam<Case> {};

TEST_P(EthosUGolden, MatchesExecuTorch) {
  const Case& c = GetParam();
  EthosUQuantizer q{EthosUCompileSpec("ethos-u55-128")};
  q.set_global(c.key == "ethosu-a16w8" ? ethosu::get_symmetric_a16w8_quantization_config()
                                       : ethosu::get_symmetric_quantization_config());
  const eqtest::BackendGolden gold = eqtest::load_backend_golden(c.key, c.model);
  const Prepared p = eqtest::prepare_and_calibrate(eqtest::load_golden_model(c.model), q);
  const eqtest::GoldenComparison r = eqtest::compare_with_golden(gold, p);
  eqtest::expect_golden_differences(r, {});
  EXPECT_GT(r.positions_compared, 0);
}

INSTANTIATE_TEST_SUITE_P(All, EthosUGolden,
                         testing::Values(Case{"ethosu-a8w8", "cnn"}, Case{"ethosu-a8w8", "mbv2"},
                                         Case{"ethosu-a8w8", "mlp"}, Case{"ethosu-a8w8", "ops"},
                                         Case{"ethosu-a16w8", "cnn"}, Case{"ethosu-a16w8", "mbv2"},
                                         Case{"ethosu-a16w8", "mlp"}, Case{"ethosu-a16w8", "ops"}),
                         eqtest::golden_case_name);

}  // namespace
}  // namespace eq
