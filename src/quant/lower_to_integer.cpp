// lower_to_integer: replaces dequantize → op → quantize patterns of a QDQ graph by integer ops
// (quantized.*, docs/ops.md "Integer ops"); what does not match stays fp32 between its Q/DQ nodes.
// The pattern reading and the per-family rules live in src/quant/lowering/.
#include <map>

#include "edgequant/ops.h"
#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "quant/lowering/lowering.h"

namespace eq {

int lower_to_integer(Graph& g) { return lower_to_integer(g, LowerOptions{}); }

int lower_to_integer(Graph& g, const LowerOptions& options) {
  using namespace lowering;
  register_builtin_op_schemas();
  infer_graph(g);  // the patterns read value dtypes and shapes
  static const std::map<std::string, bool (*)(Lowerer&, int)> rules = {
      {"aten.conv1d.default", lower_conv_linear},
      {"aten.conv2d.default", lower_conv_linear},
      {"aten.linear.default", lower_conv_linear},
      {"aten.matmul.default", lower_matmul},
      {"aten.add.Tensor", lower_add_mul},
      {"aten.mul.Tensor", lower_add_mul},
      {"aten.sub.Tensor", lower_add_mul},
      {"aten.max_pool1d.default", lower_pool_mean},
      {"aten.max_pool2d.default", lower_pool_mean},
      {"aten.avg_pool1d.default", lower_pool_mean},
      {"aten.avg_pool2d.default", lower_pool_mean},
      {"aten.adaptive_avg_pool2d.default", lower_pool_mean},
      {"aten.mean.dim", lower_pool_mean},
      {"aten.sum.dim_IntList", lower_pool_mean},
      {"aten.softmax.int", lower_softmax},
      {"aten.cat.default", lower_cat},
  };
  Lowerer L(g, options.int16_activations);
  L.fuse_float_activations = options.fuse_float_activations;
  int lowered = 0;
  for (int n = 0; n < L.original_nodes; ++n) {
    if (L.done[static_cast<size_t>(n)]) continue;
    const std::string op = L.node(n).op;
    const auto it = rules.find(op);
    // add/mul with a constant scalar operand, and every unary function, become lookup tables
    // (int8) or quantized.unary (int16).
    const bool ok = lower_dynamic_conv_linear(L, n) || (it != rules.end() && it->second(L, n)) ||
                    lower_lookup_table(L, n) || (L.int16 && lower_unary_int16(L, n)) || lower_movement(L, n);
    if (ok) {
      L.done[static_cast<size_t>(n)] = 1;
      ++lowered;
    }
  }
  lowered += lower_requantize_pairs(L);
  g.sort();
  remove_dead_code(g);
  return lowered;
}

}  // namespace eq
