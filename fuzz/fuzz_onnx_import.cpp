// libFuzzer target: arbitrary bytes -> eq::onnx::load_from_bytes, then save_to_bytes when the
// model loaded. Only eq::Error is an acceptable failure; anything else (another exception, a
// crash, a leak, undefined behaviour) is a bug the fuzzer reports.
#include <cstddef>
#include <cstdint>

#include "edgequant/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const eq::Graph g = eq::onnx::load_from_bytes(data, size, "fuzz-input");
    const std::string bytes = eq::onnx::save_to_bytes(g);
    (void)bytes;
  } catch (const eq::Error&) {
  }
  return 0;
}
