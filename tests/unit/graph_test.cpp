#include <gtest/gtest.h>

#include "edgequant/graph.h"

namespace eq {

TEST(ModulePath, PyTorchScopeStyles) {
  EXPECT_EQ(module_path_from_node_name("/features/1/conv/conv.0/Conv"), "features.1.conv.0");
  EXPECT_EQ(module_path_from_node_name("/f/f.0/f.0.0/Conv"), "f.0.0");
  EXPECT_EQ(module_path_from_node_name("/Relu"), "");
  EXPECT_EQ(module_path_from_node_name("Conv_0"), "");
}

}  // namespace eq
