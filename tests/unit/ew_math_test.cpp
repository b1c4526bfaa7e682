// The vectorisable transcendental functions against libm, densely over their useful range.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/kernels/fp32/ew_math.h"

namespace eq {

TEST(EwMath, ErfWithin4e7OfLibm) {
  double worst = 0;
  for (float x = -6.0f; x <= 6.0f; x += 1.0f / 1024) worst = std::max(worst, std::fabs(double(ew_erf(x)) - std::erf(double(x))));
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(ew_erf(0.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ew_erf(NAN)));
}

TEST(EwMath, ExactGeluAndSoftmaxSum) {
  std::vector<float> x, y(4096), z(4096);
  for (int i = 0; i < 4096; ++i) x.push_back(-8.0f + 16.0f * static_cast<float>(i) / 4096);
  ew_gelu_span(x.data(), y.data(), 4096);
  for (int i = 0; i < 4096; ++i) {
    const double want = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
    EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want)));
  }
  const float s = ew_exp_shift_sum(x.data(), z.data(), 4096, 8.0f);
  double want = 0;
  for (int i = 0; i < 4096; ++i) want += std::exp(double(x[i]) - 8.0);
  EXPECT_NEAR(s, want, 1e-5 * want);
}

}  // namespace eq
