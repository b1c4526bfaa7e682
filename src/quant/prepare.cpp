// prepare_pt2e: annotations → sharing groups → one observer per group.
//
// The grouping follows torchao's prepare.py (_get_edge_or_node_to_group_id):
//   1. every annotated position (input edge or node output) gets its spec;
//   2. a SharedQuantizationSpec unions the position with the one it names;
//   3. implicit sharing (when the consumer allows it): an input edge joins the other consumers'
//      edges of the same value whose (unwrapped) spec is equal, then the producer's output if
//      that spec is equal too — in this order, which is the order torchao uses to avoid cycles;
//   4. each root's spec (shared specs unwrapped) decides the group: an observer for a
//      QuantizationSpec, fixed qparams, or qparams derived from other groups at convert; a dynamic
//      QuantizationSpec (is_dynamic, or the placeholder observer) gets no observer at all: its
//      qparams are chosen at run time by the choose_qparams node convert_pt2e emits.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "edgequant/error.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

class SharingBuilder {
 public:
  SharingBuilder(const Graph& g, const Annotations& a) : g_(g), consumers_(g.consumers()) {
    for (const auto& [node, ann] : a) {
      check(node >= 0 && node < static_cast<int>(g.nodes.size()),
            "prepare_pt2e: an annotation names node #" + std::to_string(node) + ", which does not exist");
      const Node& n = g.nodes[static_cast<size_t>(node)];
      for (const auto& [slot, spec] : ann.input_qspec_map) {
        check(slot >= 0 && slot < static_cast<int>(n.inputs.size()) && n.inputs[static_cast<size_t>(slot)] != kNoValue,
              n.describe() + ": annotation for input " + std::to_string(slot) + ", which the node does not have");
        const int v = n.inputs[static_cast<size_t>(slot)];
        check(g.value(v).dtype == DType::f32, n.describe() + ": input " + std::to_string(slot) + " ('" +
                                                  g.value(v).name + "') is " + std::string(dtype_name(g.value(v).dtype)) +
                                                  ", only f32 values can be quantized");
        specs_[EdgeOrNode::edge(node, slot)] = spec;
      }
      if (ann.output_qspec) {
        check(!n.outputs.empty() && g.value(n.outputs[0]).dtype == DType::f32,
              n.describe() + ": output annotation on a node whose output is not f32");
        specs_[EdgeOrNode::output(node)] = *ann.output_qspec;
      }
      allow_implicit_[node] = ann.allow_implicit_sharing;
    }
  }

  const std::map<EdgeOrNode, QuantizationSpecBase>& specs() const { return specs_; }

  void build() {
    for (const auto& [pos, spec] : specs_) {
      if (pos.is_edge() && allow_implicit_[pos.node]) {
        const int v = pos.value(g_);
        // Other consumers of the same value first, then the producer's output (torchao's order).
        for (int user : consumers_[static_cast<size_t>(v)]) {
          const Node& u = g_.nodes[static_cast<size_t>(user)];
          for (size_t s = 0; s < u.inputs.size(); ++s) {
            if (u.inputs[s] != v) continue;
            const EdgeOrNode other = EdgeOrNode::edge(user, static_cast<int>(s));
            if (other == pos) continue;
            union_if_equal(other, pos);
          }
        }
        const int producer = g_.value(v).producer;
        if (producer >= 0 && g_.nodes[static_cast<size_t>(producer)].outputs.at(0) == v)
          union_if_equal(EdgeOrNode::output(producer), pos);
      }
      if (const auto* shared = std::get_if<SharedQuantizationSpec>(&spec)) {
        check(specs_.count(shared->edge_or_node),
              "SharedQuantizationSpec on the " + pos.describe(g_) + " refers to the " + shared->edge_or_node.describe(g_) +
                  ", which has no quantization annotation");
        unite(shared->edge_or_node, pos);
      }
    }
  }

  EdgeOrNode find(EdgeOrNode p) {
    size_t steps = 0;
    while (true) {
      auto it = parent_.find(p);
      if (it == parent_.end() || it->second == p) return p;
      p = it->second;
      check(++steps <= parent_.size() + 1, "prepare_pt2e: the sharing specs form a cycle at the " + p.describe(g_));
    }
  }

  // The spec that decides the group of `p`: shared specs followed to a non-shared one.
  const QuantizationSpecBase& unwrap(const QuantizationSpecBase& spec, const EdgeOrNode& at) {
    const QuantizationSpecBase* s = &spec;
    EdgeOrNode pos = at;
    for (size_t steps = 0; const auto* shared = std::get_if<SharedQuantizationSpec>(s); ++steps) {
      check(steps <= specs_.size(), "prepare_pt2e: the SharedQuantizationSpecs starting at the " + at.describe(g_) +
                                        " form a cycle");
      const EdgeOrNode target = find(shared->edge_or_node);
      auto it = specs_.find(target);
      check(it != specs_.end(), "SharedQuantizationSpec on the " + pos.describe(g_) + " refers to the " +
                                    target.describe(g_) + ", which has no quantization annotation");
      // A spec naming its own group root without anything else behind it: a loop.
      check(!(target == pos && std::holds_alternative<SharedQuantizationSpec>(it->second)),
            "prepare_pt2e: the SharedQuantizationSpec on the " + pos.describe(g_) + " refers to itself");
      pos = target;
      s = &it->second;
    }
    return *s;
  }

 private:
  void unite(EdgeOrNode parent, EdgeOrNode child) {
    const EdgeOrNode rp = find(parent), rc = find(child);
    if (rp == rc) return;
    parent_[rc] = rp;
  }

  void union_if_equal(EdgeOrNode a, EdgeOrNode b) {
    auto ia = specs_.find(a), ib = specs_.find(b);
    if (ia == specs_.end() || ib == specs_.end()) return;
    if (unwrap(ia->second, a) == unwrap(ib->second, b)) unite(a, b);
  }

  const Graph& g_;
  std::vector<std::vector<int>> consumers_;
  std::map<EdgeOrNode, QuantizationSpecBase> specs_;
  std::map<EdgeOrNode, EdgeOrNode> parent_;
  std::map<int, bool> allow_implicit_;
};

std::string group_key(const Graph& g, const SharingGroup& grp) { return grp.root.describe(g); }

}  // namespace

// ---- Prepared ----

Prepared::Prepared(Graph graph, Annotations annotations, std::vector<SkipReason> skipped, std::string quantizer_name,
                   ExecutorOptions options)
    : graph_(std::move(graph)),
      annotations_(std::move(annotations)),
      skipped_(std::move(skipped)),
      quantizer_name_(std::move(quantizer_name)),
      executor_(std::make_unique<Executor>(graph_, options)) {}
Prepared::Prepared(Prepared&&) noexcept = default;
Prepared& Prepared::operator=(Prepared&&) noexcept = default;
Prepared::~Prepared() = default;

int Prepared::group_of(const EdgeOrNode& p) const {
  auto it = group_of_.find(p);
  return it == group_of_.end() ? -1 : it->second;
}

std::vector<Tensor> Prepared::run(const std::vector<Tensor>& inputs) {
  auto feed = [&](int value, const Tensor& t) {
    const auto& gs = observers_of_value_[static_cast<size_t>(value)];
    for (int gi : gs) groups_[static_cast<size_t>(gi)].observer->observe(t, graph_.value(value).name);
  };
  for (size_t i = 0; i < inputs.size() && i < graph_.inputs.size(); ++i) feed(graph_.inputs[i], inputs[i]);
  std::vector<Tensor> out = executor_->run(inputs, [&](int value, const Tensor& t) { feed(value, t); });
  ++batches_;
  return out;
}

QParams Prepared::group_qparams(int gi) const {
  std::vector<int> visiting;
  std::function<QParams(int)> qp = [&](int i) -> QParams {
    check(std::find(visiting.begin(), visiting.end(), i) == visiting.end(),
          "prepare_pt2e: derived quantization specs form a cycle at the " + groups_.at(static_cast<size_t>(i)).root.describe(graph_));
    visiting.push_back(i);
    const SharingGroup& grp = groups_.at(static_cast<size_t>(i));
    check(!grp.dynamic, "the " + grp.root.describe(graph_) +
                            " is quantized dynamically: its qparams are chosen at run time, there are none to read "
                            "(check SharingGroup::dynamic first)");
    QParams r;
    if (const auto* f = std::get_if<FixedQParamsQuantizationSpec>(&grp.spec)) {
      r.scale = {f->scale};
      r.zero_point = {f->zero_point};
      r.dtype = f->dtype;
      r.qmin = f->quant_min;
      r.qmax = f->quant_max;
    } else if (const auto* d = std::get_if<DerivedQuantizationSpec>(&grp.spec)) {
      std::vector<QParams> from;
      for (const EdgeOrNode& p : d->derived_from) {
        const int g = group_of(p);
        check(g >= 0, "DerivedQuantizationSpec on the " + grp.root.describe(graph_) + " derives from the " +
                          p.describe(graph_) + ", which is not quantized");
        from.push_back(qp(g));
      }
      check(static_cast<bool>(d->derive_qparams_fn), "DerivedQuantizationSpec on the " + grp.root.describe(graph_) +
                                                         " has no derive function");
      r = d->derive_qparams_fn(from);
    } else {
      const auto& s = std::get<QuantizationSpec>(grp.spec);
      check(grp.observer != nullptr, "no observer for the " + grp.root.describe(graph_));
      const bool constant_only = !grp.observed_values.empty() &&
                                 std::all_of(grp.observed_values.begin(), grp.observed_values.end(),
                                             [&](int v) { return graph_.is_constant(v); });
      if (!constant_only && batches_ == 0)
        throw Error("no calibration data: the " + grp.root.describe(graph_) +
                    " is an activation and no calibration batch has been run (the calibration set is empty?)");
      r = grp.observer->qparams();
      r.dtype = s.dtype;
    }
    visiting.pop_back();
    return r;
  };
  return qp(gi);
}

std::string Prepared::save_observers() const {
  nlohmann::json j = nlohmann::json::object();
  j["batches"] = batches_;
  nlohmann::json gs = nlohmann::json::array();
  for (const SharingGroup& grp : groups_) {
    nlohmann::json e;
    e["position"] = group_key(graph_, grp);
    e["observer"] = grp.observer ? nlohmann::json::parse(grp.observer->serialize()) : nlohmann::json();
    gs.push_back(std::move(e));
  }
  j["groups"] = std::move(gs);
  return j.dump();
}

void Prepared::merge_observers(const std::string& saved) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(saved);
  } catch (const std::exception& e) {
    throw Error(std::string("observer state: not valid JSON (") + e.what() + ")");
  }
  check(j.is_object() && j.contains("groups") && j["groups"].is_array() && j["groups"].size() == groups_.size(),
        "observer state: it was saved from a different prepared graph (group count differs)");
  for (size_t i = 0; i < groups_.size(); ++i) {
    const nlohmann::json& e = j["groups"][i];
    check(e.value("position", std::string()) == group_key(graph_, groups_[i]),
          "observer state: group " + std::to_string(i) + " is the " + e.value("position", std::string("?")) +
              " there and the " + group_key(graph_, groups_[i]) + " here");
    if (!groups_[i].observer) continue;
    // Constant (weight) observers saw the same weights in both shards: keep ours.
    const bool constant_only = std::all_of(groups_[i].observed_values.begin(), groups_[i].observed_values.end(),
                                           [&](int v) { return graph_.is_constant(v); });
    if (constant_only) continue;
    groups_[i].observer->merge(*Observer::deserialize(e["observer"].dump()));
  }
  batches_ += j.value("batches", int64_t{0});
}

Prepared prepare_pt2e(const Graph& input, const Quantizer& quantizer, ExecutorOptions options) {
  Graph g = input;
  quantizer.transform_for_annotation(g);
  Annotations annotations;
  std::vector<SkipReason> skipped;
  quantizer.annotate(g, annotations, skipped);
  quantizer.validate(g, annotations);

  SharingBuilder sb(g, annotations);
  sb.build();

  Prepared p(g, annotations, std::move(skipped), quantizer.name(), options);
  const Graph& pg = p.graph_;
  std::map<EdgeOrNode, int> root_group;
  for (const auto& [pos, spec] : sb.specs()) {
    const EdgeOrNode root = sb.find(pos);
    auto it = root_group.find(root);
    int gi;
    if (it == root_group.end()) {
      gi = static_cast<int>(p.groups_.size());
      root_group[root] = gi;
      SharingGroup grp;
      grp.root = root;
      auto rs = sb.specs().find(root);
      check(rs != sb.specs().end(), "prepare_pt2e: the " + pos.describe(pg) + " shares with the " + root.describe(pg) +
                                        ", which has no quantization annotation");
      grp.spec = sb.unwrap(rs->second, root);
      if (const auto* qs = std::get_if<QuantizationSpec>(&grp.spec)) {
        if (qs->is_dynamic || qs->observer.kind == ObserverKind::placeholder) {
          // torchao's PlaceholderObserver: nothing to observe; convert chooses the qparams at run time.
          check(qs->qscheme == QuantizationScheme::per_tensor_affine,
                "prepare_pt2e: the " + root.describe(pg) + " asks for " + std::string(scheme_name(qs->qscheme)) +
                    " dynamic quantization; only per_tensor_affine (torch's choose_qparams.tensor) is supported");
          check(qs->dtype == DType::i8 || qs->dtype == DType::u8,
                "prepare_pt2e: the " + root.describe(pg) + " asks for dynamic quantization to " +
                    std::string(dtype_name(qs->dtype)) + "; only i8 and u8 are supported");
          grp.dynamic = true;
        } else {
          try {
            grp.observer = qs->make_observer();
          } catch (const Error& e) {
            throw Error("prepare_pt2e: the " + root.describe(pg) + ": " + e.what());
          }
        }
      }
      p.groups_.push_back(std::move(grp));
    } else {
      gi = it->second;
    }
    p.groups_[static_cast<size_t>(gi)].members.push_back(pos);
    p.group_of_[pos] = gi;
  }

  // What each observer sees: the values its positions carry, each once.
  p.observers_of_value_.assign(pg.values.size(), {});
  for (size_t gi = 0; gi < p.groups_.size(); ++gi) {
    SharingGroup& grp = p.groups_[gi];
    if (!grp.observer) continue;
    std::set<int> seen;
    for (const EdgeOrNode& m : grp.members) {
      const int v = m.value(pg);
      if (!seen.insert(v).second) continue;
      grp.observed_values.push_back(v);
      if (pg.is_constant(v)) {
        grp.observer->observe(*pg.value(v).constant, pg.value(v).name);  // weights: once, now
      } else {
        p.observers_of_value_[static_cast<size_t>(v)].push_back(static_cast<int>(gi));
      }
    }
  }
  return p;
}

Graph calibrate_and_quantize(const Graph& g, const std::vector<std::vector<Tensor>>& calibration_inputs,
                             const Quantizer& quantizer, const std::function<void(size_t, size_t)>& progress,
                             ExecutorOptions options) {
  check(!calibration_inputs.empty(), "calibrate_and_quantize: the calibration set is empty");
  Prepared p = prepare_pt2e(g, quantizer, options);
  for (size_t i = 0; i < calibration_inputs.size(); ++i) {
    p.run(calibration_inputs[i]);
    if (progress) progress(i + 1, calibration_inputs.size());
  }
  return convert_pt2e(p);
}

}  // namespace eq
