// Top-1 / top-5 of a classifier over a labelled dataset: the loop `eval` and `demo` share.
#pragma once
#include <cstdint>
#include <string>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"

namespace eqcli {

struct ClassifyResult {
  int64_t samples = 0, classes = 0, top1 = 0, top5 = 0;
  double seconds = 0;  // inference only
  double top1_percent() const { return samples ? 100.0 * static_cast<double>(top1) / static_cast<double>(samples) : 0; }
  double top5_percent() const { return samples ? 100.0 * static_cast<double>(top5) / static_cast<double>(samples) : 0; }
};

// Runs the first `n` samples of `ds` through `exec` in batches of `batch`; output 0 must be f32
// logits [N, classes]. Throws eq::Error naming `model` for a wrong output or an out-of-range label.
// Shows a progress bar labelled `label` (stderr, terminals only).
ClassifyResult classify(eq::Executor& exec, const eq::Dataset& ds, int64_t n, int64_t batch, const std::string& model,
                        const std::string& label = "eval");

}  // namespace eqcli
