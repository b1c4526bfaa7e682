// The classification loop shared by eval and demo.
#include "classify.h"

#include <chrono>
#include <cmath>

#include "edgequant/error.h"
#include "progress.h"

namespace eqcli {
namespace {

// Position of the label's logit among the row: how many classes beat it (ties go to the lower
// class index, like argmax). NaN logits never count as correct.
int64_t label_rank(const float* row, int64_t classes, int64_t label) {
  const float x = row[label];
  if (std::isnan(x)) return classes;
  int64_t rank = 0;
  for (int64_t j = 0; j < classes; ++j)
    if (row[j] > x || (j < label && row[j] == x) || std::isnan(row[j])) ++rank;
  return rank;
}

}  // namespace

ClassifyResult classify(eq::Executor& exec, const eq::Dataset& ds, int64_t n, int64_t batch, const std::string& model,
                        const std::string& label) {
  ClassifyResult r;
  r.samples = n;
  Progress progress(label, n, "img");
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    const std::vector<eq::Tensor> out = exec.run({ds.batch(begin, count)});
    const eq::Tensor& logits = out.at(0);
    const std::string oname = exec.graph().value(exec.graph().outputs[0]).name;
    if (logits.dtype() != eq::DType::f32 || logits.rank() != 2 || logits.dim(0) != count)
      throw eq::Error(model + ": output '" + oname + "' is " + std::string(eq::dtype_name(logits.dtype())) + " " +
                      eq::shape_str(logits.shape()) + "; a classifier needs f32 logits [N, classes]");
    r.classes = logits.dim(1);
    if (r.classes == 0) throw eq::Error(model + ": output '" + oname + "' has no classes");
    const std::vector<int64_t> labels = ds.labels_slice(begin, count);
    const float* p = logits.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t lab = labels[static_cast<size_t>(i)];
      if (lab < 0 || lab >= r.classes)
        throw eq::Error("dataset '" + ds.name + "': label " + std::to_string(lab) + " of sample " +
                        std::to_string(begin + i) + " is outside the model's " + std::to_string(r.classes) + " classes");
      const int64_t rank = label_rank(p + i * r.classes, r.classes, lab);
      r.top1 += rank < 1;
      r.top5 += rank < 5;
    }
    progress.update(begin + count);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish();
  return r;
}

}  // namespace eqcli
