// The program an xnnpack.subgraph node carries in its attributes: the replaced nodes verbatim,
// wired by local value ids. Local ids 0..I-1 are the node's inputs (external activations, then
// constants); the inner nodes' outputs are numbered from I on, in node order.
//
// Attributes:  n                 number of inner nodes
//              <k>.op, <k>.name  the inner node's op and name
//              <k>.in, <k>.out   its inputs / outputs as local ids (kNoValue for an omitted input)
//              <k>:<attr>        its attributes
//              outputs           local ids of the xnnpack.subgraph node's outputs, in order
//              batch_input, batch_axis  where the symbolic batch sits among the inputs (-1: none),
//                                so that the kernel can resolve reshape targets holding the batch
#pragma once
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/ops.h"

namespace eq::xnn {

inline constexpr const char* kSubgraphOp = "xnnpack.subgraph";

struct Program {
  std::vector<Node> nodes;   // inputs/outputs are local ids
  std::vector<int> outputs;  // local ids
  int num_inputs = 0;        // I
  int num_values = 0;        // I + inner outputs
  int batch_input = -1, batch_axis = -1;
};

// Writes `p` into attributes (p.nodes' names, ops, attrs and local wiring).
Attrs encode(const Program& p);
// Reads the program of an xnnpack.subgraph node with `num_inputs` inputs; throws eq::Error
// naming the node when the attributes are malformed.
Program decode(const Node& node);

// Infers every local value from the node's input infos (batch: the concrete or symbolic batch).
// Returns one ValueInfo per local id (constants keep their pointer).
std::vector<ValueInfo> infer_locals(const Program& p, const Node& owner, const std::vector<ValueInfo>& inputs,
                                    int64_t batch);

void register_subgraph_schema();
void register_subgraph_kernel();
// xnn_initialize once; throws eq::Error when the library does not support this CPU.
void ensure_initialized();

}  // namespace eq::xnn
