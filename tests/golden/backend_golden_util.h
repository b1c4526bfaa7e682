// Golden comparison against ExecuTorch's own backend quantizers (fixtures/quant/backends/*.json,
// made by tools/fixtures/make_backend_goldens.py; README.md there).
//
// Our graph comes from the ONNX export of the same model, so nodes are matched by op: the k-th
// node of each (canonicalised) op in torch's graph is the k-th of that op in ours (both are in
// execution order). Then:
//   (a) annotated nodes: the same set (torch's graph input / output nodes have no node in ours);
//   (b) every position of each torch observer maps into ONE of our sharing groups, whose qparams
//       equal torch's (scale relative 1e-6, zero point exact, per channel elementwise) -- or are
//       "near" (scale relative 2.5e-3, zero point +-1), reported but not failing: the goldens'
//       activations came from PyTorch's fp32 kernels on an AVX-512 machine; on a CPU where our
//       oneDNN convolutions take the AVX2 kernels the activations differ in the last ulp, and a
//       HistogramObserver's L2 search (discontinuous in its input) may then pick a range a bin or
//       two (1/2048 of it each) away. Weight-only scales never move; a real qparams bug is far
//       larger than this;
//   (c) none of our groups covers positions of two torch observers, and we quantize no position
//       torch leaves float.
// Each difference is reported as one line; tests compare the list with the differences they allow
// (with the reason).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"

namespace eqtest {

inline const std::string& golden_fixtures_dir() {
  static const std::string d = std::string(EQ_FIXTURES_DIR);
  return d;
}

struct BackendGolden {
  std::string key, model;
  nlohmann::json j;
};

inline BackendGolden load_backend_golden(const std::string& key, const std::string& model) {
  const std::string path = golden_fixtures_dir() + "/quant/backends/" + key + "_" + model + ".json";
  std::ifstream f(path);
  if (!f.good()) throw eq::Error("cannot read golden " + path);
  return {key, model, nlohmann::json::parse(f)};
}

inline eq::Graph load_golden_model(const std::string& model) {
  if (model == "ops") return eq::onnx::load(golden_fixtures_dir() + "/quant/backends/ops.onnx");
  return eq::onnx::load(golden_fixtures_dir() + "/models/" + model + ".onnx");
}

// The goldens' calibration: fixtures/quant/calib64.npy in 2 batches of 32.
inline std::vector<std::vector<eq::Tensor>> golden_calibration_batches() {
  const eq::Tensor calib = eq::read_npy(golden_fixtures_dir() + "/quant/calib64.npy");
  const int64_t per = calib.numel() / calib.dim(0);
  std::vector<std::vector<eq::Tensor>> out;
  for (int b = 0; b < 2; ++b) {
    eq::Tensor x(eq::DType::f32, {32, 1, 28, 28});
    std::memcpy(x.data<float>(), calib.data<float>() + b * 32 * per, static_cast<size_t>(32 * per) * sizeof(float));
    out.push_back({x});
  }
  return out;
}

inline eq::Prepared prepare_and_calibrate(const eq::Graph& g, const eq::Quantizer& q) {
  eq::Prepared p = eq::prepare_pt2e(g, q);
  for (const auto& batch : golden_calibration_batches()) p.run(batch);
  return p;
}

struct GoldenComparison {
  int observers_compared = 0;
  int positions_compared = 0;
  std::vector<std::string> mismatches;             // qparams or grouping differences
  std::vector<std::string> near;                   // qparams within the histogram tolerance (see (b))
  std::vector<std::string> unmapped;               // torch positions / nodes with no counterpart here
  std::vector<std::string> annotation_mismatches;  // annotated here but not in torch, or the reverse
  std::map<std::string, int> node_map;             // torch node name -> our node index

  std::string report() const {
    std::ostringstream os;
    os << observers_compared << " observers, " << positions_compared << " positions compared\n";
    for (const auto& m : mismatches) os << "  mismatch: " << m << "\n";
    for (const auto& m : near) os << "  near (fp32 kernel ulps moved a histogram range): " << m << "\n";
    for (const auto& m : unmapped) os << "  unmapped: " << m << "\n";
    for (const auto& m : annotation_mismatches) os << "  annotation: " << m << "\n";
    return os.str();
  }
  bool clean() const { return mismatches.empty() && unmapped.empty() && annotation_mismatches.empty(); }
};

// "aten.view.default" -> "aten.reshape": the op family, with torch's and our spellings merged.
inline std::string canonical_op(const std::string& op) {
  std::string base = op;
  const size_t d1 = op.find('.');
  if (d1 != std::string::npos) {
    const size_t d2 = op.find('.', d1 + 1);
    if (d2 != std::string::npos) base = op.substr(0, d2);
  }
  static const std::map<std::string, std::string> alias = {
      {"aten.view", "aten.reshape"},       {"aten.slice", "aten.slice_copy"}, {"aten.relu_", "aten.relu"},
      {"aten.hardtanh_", "aten.hardtanh"}, {"aten.tanh_", "aten.tanh"},       {"aten._softmax", "aten.softmax"},
      {"aten.sum", "aten.sum"},
  };
  auto it = alias.find(base);
  return it == alias.end() ? base : it->second;
}

namespace detail {

inline bool ops_to_ignore(const std::string& canon) {
  // Identity in inference graphs: ONNX export drops them.
  return canon == "aten.dropout" || canon == "aten.clone" || canon == "aten.alias";
}

inline std::string pos_name(const std::string& torch_node, int slot) {
  return slot < 0 ? torch_node + ".out" : torch_node + ".in" + std::to_string(slot);
}

}  // namespace detail

inline GoldenComparison compare_with_golden(const BackendGolden& gold, const eq::Prepared& p) {
  using nlohmann::json;
  GoldenComparison r;
  const eq::Graph& g = p.graph();
  const std::string tag = gold.key + "_" + gold.model + ": ";

  // ---- node map ----
  std::map<std::string, std::vector<std::string>> torch_by_op;  // canonical op -> torch names in order
  std::map<std::string, json> torch_nodes;
  for (const json& n : gold.j["nodes"]) {
    const std::string op = n["op"].get<std::string>();
    torch_nodes[n["name"].get<std::string>()] = n;
    if (op == "get_attr" || op == "placeholder" || op == "output") continue;
    if (detail::ops_to_ignore(canonical_op(op))) continue;
    torch_by_op[canonical_op(op)].push_back(n["name"].get<std::string>());
  }
  std::map<std::string, std::vector<int>> ours_by_op;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const std::string& op = g.nodes[i].op;
    if (op.rfind("quantized_decomposed.", 0) == 0) continue;
    ours_by_op[canonical_op(op)].push_back(static_cast<int>(i));
  }
  std::map<int, std::string> reverse;
  for (const auto& [op, names] : torch_by_op) {
    const auto& ours = ours_by_op[op];
    if (ours.size() != names.size())
      r.unmapped.push_back(tag + op + ": torch has " + std::to_string(names.size()) + ", we have " +
                           std::to_string(ours.size()));
    for (size_t k = 0; k < std::min(ours.size(), names.size()); ++k) {
      r.node_map[names[k]] = ours[k];
      reverse[ours[k]] = names[k];
    }
  }
  for (const auto& [op, ours] : ours_by_op)
    if (!torch_by_op.count(op) && !detail::ops_to_ignore(op))
      r.unmapped.push_back(tag + op + ": we have " + std::to_string(ours.size()) + ", torch has none");

  // ---- (a) annotated nodes ----
  const eq::Annotations& ann = p.annotations();
  for (const auto& [name, node] : r.node_map) {
    const bool theirs = torch_nodes[name].value("annotated", false);
    auto it = ann.find(node);
    const bool ours = it != ann.end() && (it->second.annotated || it->second.output_qspec.has_value());
    if (theirs != ours)
      r.annotation_mismatches.push_back(tag + name + " (" + g.nodes[static_cast<size_t>(node)].op + ") is " +
                                        (ours ? "annotated here but not by torch" : "annotated by torch but not here"));
  }

  // ---- (b) observers ----
  // The output position of the value a graph output carries.
  std::map<int, std::string> group_owner;  // our group -> "observer <id>"
  std::set<eq::EdgeOrNode> torch_positions;
  for (const json& ob : gold.j["observers"]) {
    const int id = ob["id"].get<int>();
    const std::string oname = "observer " + std::to_string(id);
    std::set<int> groups;
    std::vector<std::string> where;
    int mapped = 0;
    for (const json& pos : ob["positions"]) {
      const std::string node = pos["node"].get<std::string>();
      const std::string op = pos["op"].get<std::string>();
      eq::EdgeOrNode ours;
      std::string pname;
      if (pos["at"] == "output") {
        if (op == "placeholder") continue;  // a graph input has no node here; its users' edges carry it
        pname = detail::pos_name(node, -1);
        auto it = r.node_map.find(node);
        if (it == r.node_map.end()) {
          if (!detail::ops_to_ignore(canonical_op(op))) r.unmapped.push_back(tag + oname + " at " + pname);
          continue;
        }
        ours = eq::EdgeOrNode::output(it->second);
      } else {
        const json& idx = pos["index"];
        const int slot = idx.is_array() ? idx[1].get<int>() : idx.get<int>();
        pname = detail::pos_name(node, slot);
        if (op == "output") {  // the graph output edge: the producer's output here
          auto it = r.node_map.find(pos["from"].get<std::string>());
          if (it == r.node_map.end()) {
            r.unmapped.push_back(tag + oname + " at " + pname);
            continue;
          }
          ours = eq::EdgeOrNode::output(it->second);
        } else {
          auto it = r.node_map.find(node);
          if (it == r.node_map.end()) {
            if (!detail::ops_to_ignore(canonical_op(op))) r.unmapped.push_back(tag + oname + " at " + pname);
            continue;
          }
          ours = eq::EdgeOrNode::edge(it->second, slot);
        }
      }
      ++mapped;
      torch_positions.insert(ours);
      const int grp = p.group_of(ours);
      if (grp < 0) {
        r.mismatches.push_back(tag + oname + ": " + pname + " (" + ours.describe(g) + ") is not quantized here");
        continue;
      }
      groups.insert(grp);
      where.push_back(pname);
      auto [owner, inserted] = group_owner.emplace(grp, oname);
      if (!inserted && owner->second != oname)
        r.mismatches.push_back(tag + "our group " + std::to_string(grp) + " holds " + pname + " of " + oname +
                               " and positions of " + owner->second + " (torch keeps them apart)");
    }
    r.positions_compared += mapped;
    if (groups.empty()) continue;
    if (groups.size() > 1) {
      std::string list;
      for (size_t k = 0; k < where.size(); ++k) list += (k ? ", " : "") + where[k];
      r.mismatches.push_back(tag + oname + " is shared by " + list + " in torch; here they fall in " +
                             std::to_string(groups.size()) + " groups");
      continue;
    }
    ++r.observers_compared;
    if (!ob.contains("scale") || ob["scale"].is_null()) continue;  // dynamic: chosen at run time
    eq::QParams q;
    try {
      q = p.group_qparams(*groups.begin());
    } catch (const std::exception& e) {
      r.mismatches.push_back(tag + oname + ": " + e.what());
      continue;
    }
    std::vector<double> ts;
    std::vector<int64_t> tz;
    if (ob["scale"].is_array()) {
      for (const json& s : ob["scale"]) ts.push_back(s.get<double>());
      for (const json& z : ob["zero_point"]) tz.push_back(z.get<int64_t>());
    } else {
      ts.push_back(ob["scale"].get<double>());
      tz.push_back(ob["zero_point"].get<int64_t>());
    }
    if (ts.size() != q.scale.size()) {
      r.mismatches.push_back(tag + oname + " (" + where[0] + "): torch has " + std::to_string(ts.size()) +
                             " scales, we have " + std::to_string(q.scale.size()));
      continue;
    }
    for (size_t c = 0; c < ts.size(); ++c) {
      const bool scale_ok = std::fabs(q.scale[c] - ts[c]) <= 1e-6 * ts[c];
      const bool zp_ok = q.zero_point[c] == tz[c];
      if (scale_ok && zp_ok) continue;
      // Near: the scale moved (a histogram range did), and the zero point at most one step with it.
      const bool near = !scale_ok && std::fabs(q.scale[c] - ts[c]) <= 2.5e-3 * ts[c] &&
                        std::llabs(q.zero_point[c] - tz[c]) <= 1;
      std::ostringstream os;
      os.precision(9);
      os << tag << oname << " (" << where[0] << ")" << (ts.size() > 1 ? " channel " + std::to_string(c) : "")
         << ": torch scale " << ts[c] << " zp " << tz[c] << ", ours " << q.scale[c] << " zp " << q.zero_point[c];
      (near ? r.near : r.mismatches).push_back(os.str());
      break;  // one line per observer
    }
  }

  // ---- (c) positions we quantize that torch does not ----
  for (size_t gi = 0; gi < p.groups().size(); ++gi) {
    for (const eq::EdgeOrNode& m : p.groups()[gi].members) {
      if (torch_positions.count(m)) continue;
      auto it = reverse.find(m.node);
      if (it == reverse.end()) continue;  // a node torch does not have (reported above)
      // A graph-input edge: torch observes the placeholder output instead (one observer, same values).
      if (m.is_edge() && g.value(m.value(g)).producer < 0 && !g.is_constant(m.value(g))) continue;
      r.mismatches.push_back(tag + detail::pos_name(it->second, m.is_edge() ? m.input : -1) + " (" + m.describe(g) +
                             ") is quantized here but not by torch");
    }
  }
  return r;
}

// A parameterised golden test's case: quantizer key and model, named "<key>_<model>" for gtest.
struct GoldenCase {
  std::string key, model;
};
inline std::string golden_case_name(const testing::TestParamInfo<GoldenCase>& info) {
  std::string s = info.param.key + "_" + info.param.model;
  for (char& c : s)
    if (c == '-') c = '_';
  return s;
}

// Fails the test with the full report unless the differences equal `allowed` (each allowed entry
// must occur as a substring of one reported line, and every reported line must match one entry).
inline void expect_golden_differences(const GoldenComparison& r, const std::vector<std::string>& allowed) {
  std::vector<std::string> all = r.mismatches;
  all.insert(all.end(), r.unmapped.begin(), r.unmapped.end());
  all.insert(all.end(), r.annotation_mismatches.begin(), r.annotation_mismatches.end());
  std::vector<bool> used(allowed.size(), false);
  for (const std::string& line : all) {
    bool ok = false;
    for (size_t k = 0; k < allowed.size(); ++k)
      if (line.find(allowed[k]) != std::string::npos) ok = used[k] = true;
    EXPECT_TRUE(ok) << "unexpected difference: " << line << "\n" << r.report();
  }
  // An allowed difference that now shows as "near" (see (b)) still counts as occurring.
  for (const std::string& line : r.near)
    for (size_t k = 0; k < allowed.size(); ++k)
      if (line.find(allowed[k]) != std::string::npos) used[k] = true;
  for (size_t k = 0; k < allowed.size(); ++k)
    EXPECT_TRUE(used[k]) << "allowed difference no longer occurs (remove it): " << allowed[k] << "\n" << r.report();
  EXPECT_GT(r.observers_compared, 0) << r.report();
}

}  // namespace eqtest
