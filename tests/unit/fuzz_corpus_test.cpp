// Every file in the committed fuzz corpus must load or fail with eq::Error, and a loaded model
// must export; nothing else may escape.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "edgequant/onnx.h"

namespace eq {
namespace {

TEST(FuzzCorpus, OnnxImportNeverThrowsAnythingButEqError) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_SOURCE_DIR) / "fuzz" / "corpus" / "onnx_import";
  if (!fs::exists(dir)) GTEST_SKIP() << "no corpus at " << dir;
  int files = 0, loaded = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    ++files;
    try {
      const Graph g = onnx::load_from_bytes(bytes.data(), bytes.size(), e.path().filename().string());
      ++loaded;
      const std::string out = onnx::save_to_bytes(g);
      EXPECT_FALSE(out.empty());
    } catch (const Error&) {
      // expected for malformed or unsupported inputs
    } catch (const std::exception& ex) {
      ADD_FAILURE() << e.path() << ": non-eq::Error exception: " << ex.what();
    }
  }
  EXPECT_GT(files, 0);
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace eq
