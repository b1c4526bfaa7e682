// Graph passes: each takes a graph and returns it changed, keeping the topological order.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "edgequant/graph.h"

namespace eq {

// Evaluates every node whose inputs are all constants (with the fp32 kernels) and replaces its
// outputs by constants. Returns the number of nodes folded.
int fold_constants(Graph& g);
// Folds one node if all its inputs are constants and a kernel exists: its outputs become
// constants and the node is left in place with no outputs readers needing it (remove_dead_code
// drops it). Returns true if folded. The importer calls this eagerly, node by node, so that
// shape chains are constants by the time a Reshape reads them.
bool fold_node(Graph& g, int node_index);
// Removes nodes and values that do not contribute to the outputs. Returns the number removed.
int remove_dead_code(Graph& g);

struct Pass {
  std::string name;
  std::function<int(Graph&)> run;  // returns how many changes it made
};

// Runs passes in order, repeating the whole list until nothing changes (at most `max_rounds`).
class PassManager {
 public:
  PassManager& add(Pass p) { passes_.push_back(std::move(p)); return *this; }
  // Returns total changes.
  int run(Graph& g, int max_rounds = 4) const;
 private:
  std::vector<Pass> passes_;
};

// The default cleanup pipeline run after import: fold constants, remove dead code.
void run_default_passes(Graph& g);

}  // namespace eq
