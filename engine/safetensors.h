// safetensors files: the checkpoint format and the format of the reference fixtures.
// Layout: 8-byte little-endian uint64 N, N bytes of JSON header
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...}
// (padded with spaces), then the raw little-endian data; offsets are relative to the data section and the
// tensors tile it exactly (no holes, no overlaps). Writes are atomic (temporary file, fsync, rename);
// reads validate everything and throw SafetensorsError naming the file and byte offset.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcn {

enum class SafetensorsDtype { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kI64, kU64, kF64 };

const char* safetensors_dtype_name(SafetensorsDtype dtype);  // "F32", ...
int64_t safetensors_dtype_size(SafetensorsDtype dtype);      // bytes per element

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;  // outermost first, row-major; [] is a scalar
  std::vector<uint8_t> bytes;  // [element_count() * dtype size], little-endian
  int64_t element_count() const;  // product of shape (1 for a scalar, 0 if any dimension is 0)
};

// An F32 tensor holding a copy of values [product of shape].
SafetensorsTensor make_f32_tensor(const std::string& name, const std::vector<int64_t>& shape,
                                  const float* values);

// What every failure here throws; what() names the file and byte offset and ends with a HINT line.
class SafetensorsError : public std::runtime_error {
 public:
  SafetensorsError(std::string path, int64_t offset, const std::string& message);
  std::string path;
  int64_t offset;  // byte offset in the file the problem is at, -1 when not about a position
};

// Writes tensors (header and data in the given order) and metadata to "<path>.tmp", flushes and fsyncs
// it, renames it over path and fsyncs the folder: path holds either the old file or the complete new one.
// Throws SafetensorsError on a bad tensor (size mismatch, duplicate or reserved name) or any I/O failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::string path;
  std::vector<SafetensorsTensor> tensors;         // in file order (by data offset)
  std::map<std::string, std::string> metadata;    // "__metadata__", empty when absent

  const SafetensorsTensor* find(const std::string& name) const;  // nullptr when absent
  // The F32 tensor's values [product of expected_shape]. Throws SafetensorsError when the tensor is
  // missing, not F32, or "tensor X has shape [..] but the model expects [..]".
  std::vector<float> as_floats(const std::string& name, const std::vector<int64_t>& expected_shape) const;
};

// Reads and validates a whole file. Throws SafetensorsError on any problem.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace fcn
