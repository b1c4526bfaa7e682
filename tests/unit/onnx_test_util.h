// Small helpers to build ONNX models with the protobuf API in the ONNX import/export tests.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "edgequant/onnx.h"

namespace eq::test {

struct ModelBuilder {
  ::onnx::ModelProto m;

  explicit ModelBuilder(int64_t opset = 17) {
    m.set_ir_version(8);
    auto* o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m.mutable_graph()->set_name("test");
  }
  ::onnx::GraphProto* g() { return m.mutable_graph(); }

  // dims: -1 = symbolic (dim_param "N"), -2 = dim without value or param.
  void input(const std::string& name, const std::vector<int64_t>& dims, int elem = ::onnx::TensorProto::FLOAT) {
    auto* vi = g()->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* sh = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = sh->add_dim();
      if (d >= 0) dim->set_dim_value(d);
      else if (d == -1) dim->set_dim_param("N");
    }
  }
  void output(const std::string& name) { g()->add_output()->set_name(name); }

  ::onnx::TensorProto* init_f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    auto* t = g()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
    return t;
  }
  ::onnx::TensorProto* init_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v) {
    auto* t = g()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t x : v) t->add_int64_data(x);
    return t;
  }

  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                          const std::string& name = "") {
    auto* n = g()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? outs.at(0) + "_node" : name);
    for (const auto& s : ins) n->add_input(s);
    for (const auto& s : outs) n->add_output(s);
    return n;
  }

  std::string bytes() const {
    std::string s;
    m.SerializeToString(&s);
    return s;
  }
  Graph load(const onnx::LoadOptions& o = {}) const {
    const std::string b = bytes();
    return onnx::load_from_bytes(b.data(), b.size(), "test.onnx", o);
  }
};

inline void set_i(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void set_f(::onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_s(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void set_ints(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline std::vector<float> iota_f32(size_t n, float scale = 0.1f, float offset = -1.0f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * static_cast<float>((i * 7) % 23);
  return v;
}

inline int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op == op;
  return c;
}
inline const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

}  // namespace eq::test
