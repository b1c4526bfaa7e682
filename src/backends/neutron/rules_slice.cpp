// slice_copy.
// Source: ExecuTorch ops_converters/slice_copy_tensor_converter.py (aten.slice_copy.Tensor with
// dim, start, end and no step: Neutron Slice has step 1; dim in range; start < end after clipping
// to the dim; int8 input and output).
#include <algorithm>

#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_slice(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const Shape& s = ctx.shape(nd.inputs[0]);
  const int64_t rank = static_cast<int64_t>(s.size());
  int64_t dim = nd.attrs.i("dim", 0);
  if (dim < -rank || dim >= rank) return "dim " + str(dim) + " out of range for rank " + str(rank);
  if (dim < 0) dim += rank;
  const int64_t step = nd.attrs.i("step", 1);
  if (step != 1) return "step " + str(step) + " (Neutron Slice takes step 1 only)";
  const int64_t size = s[static_cast<size_t>(dim)];
  if (size == kBatch) return "slices the batch dim";
  // numpy clamping, without overflow for ONNX's INT64_MIN/MAX sentinels.
  auto clip = [size](int64_t v) { return v < 0 ? (v < -size ? 0 : v + size) : std::min(v, size); };
  const int64_t start = clip(nd.attrs.i("start", 0)), end = clip(nd.attrs.i("end", size));
  if (start >= end) return "empty slice [" + str(start) + ", " + str(end) + ") of dim " + str(dim);
  return "";
}

}  // namespace

void add_slice_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.slice_copy.Tensor"};
  r.check = check_slice;
  rules.push_back(r);
}

}  // namespace eq::neutron
