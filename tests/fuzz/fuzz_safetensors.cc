// Feeds any bytes, as a safetensors file, to read_safetensors: the header length, the JSON header under
// the shared limits (io/json_input.h), dtypes, shapes, data offsets and the tiling of the data section.
// Asserts beyond "no crash": a failure is only a SafetensorsError whose message and `path` name the file
// and whose offset lies within it; a file read holds tensors whose bytes are exactly element count x
// dtype size and together fill the file after its header.
#include <cstring>
#include <string>

#include "engine/safetensors.h"
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fcn::fuzz::require;
  const fcn::fuzz::InputFile file(data, size);
  const std::string& path = file.path();
  fcn::SafetensorsFile read;
  const auto error = fcn::fuzz::failure_of<fcn::SafetensorsError>("read_safetensors", path,
                                                                    [&] { read = fcn::read_safetensors(path); });
  if (error) {
    require(error->path == path, "read_safetensors: SafetensorsError::path is " + error->path);
    require(error->offset >= -1 && error->offset <= int64_t(size),
            "read_safetensors: an error at byte " + std::to_string(error->offset) + " of a " + std::to_string(size) +
                "-byte file");
    return 0;
  }
  uint64_t header_length = 0;
  std::memcpy(&header_length, data, 8);  // read_safetensors refuses files under 8 bytes
  uint64_t tensor_bytes = 0;
  for (const fcn::SafetensorsTensor& t : read.tensors) {
    const int64_t count = t.element_count();
    require(count >= 0 && t.bytes.size() == uint64_t(count) * uint64_t(fcn::safetensors_dtype_size(t.dtype)),
            "read_safetensors: tensor \"" + t.name + "\" holds " + std::to_string(t.bytes.size()) + " bytes for " +
                std::to_string(count) + " elements");
    tensor_bytes += t.bytes.size();
  }
  require(8 + header_length + tensor_bytes == size,
          "read_safetensors: header and tensors cover " + std::to_string(8 + header_length + tensor_bytes) +
              " bytes of a " + std::to_string(size) + "-byte file");
  return 0;
}
