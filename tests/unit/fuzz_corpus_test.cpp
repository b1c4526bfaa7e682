// Every file in the committed fuzz corpora must load or fail with eq::Error, and a loaded model
// must export (ONNX; TFLite or a clean eq::Error); nothing else may escape.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "edgequant/onnx.h"
#include "edgequant/tflite.h"

namespace eq {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FuzzCorpus, OnnxImportNeverThrowsAnythingButEqError) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_SOURCE_DIR) / "fuzz" / "corpus" / "onnx_import";
  if (!fs::exists(dir)) GTEST_SKIP() << "no corpus at " << dir;
  int files = 0, loaded = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = read_file(e.path());
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

// What fuzz/fuzz_tflite_export.cpp checks, over its committed corpus (QDQ seeds and reproducers):
// export fails only with eq::Error, and a file that exports verifies and is the same bytes twice.
TEST(FuzzCorpus, TfliteExportVerifiesAndIsDeterministic) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_SOURCE_DIR) / "fuzz" / "corpus" / "tflite_export";
  if (!fs::exists(dir)) GTEST_SKIP() << "no corpus at " << dir;
  int files = 0, exported = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = read_file(e.path());
    ++files;
    Graph g;
    try {
      g = onnx::load_from_bytes(bytes.data(), bytes.size(), e.path().filename().string());
    } catch (const Error&) {
      continue;
    }
    for (const bool islands : {false, true}) {
      tflite::ExportOptions options;
      options.float_fallback = islands;
      options.float_io = islands;
      try {
        const std::string first = tflite::export_to_bytes(g, options);
        ++exported;
        EXPECT_EQ(tflite::verify(first.data(), first.size()), "") << e.path() << " islands=" << islands;
        EXPECT_TRUE(tflite::export_to_bytes(g, options) == first) << e.path() << " islands=" << islands << ": not deterministic";
      } catch (const Error& ex) {
        // An op TFLite cannot express (or a float op without float_fallback); "internal..." is
        // a broken exporter invariant.
        EXPECT_NE(std::string(ex.what()).rfind("internal", 0), 0u) << e.path() << ": " << ex.what();
      } catch (const std::exception& ex) {
        ADD_FAILURE() << e.path() << " islands=" << islands << ": non-eq::Error exception: " << ex.what();
      }
    }
  }
  EXPECT_GT(files, 0);
  EXPECT_GT(exported, 0);
}

}  // namespace
}  // namespace eq
