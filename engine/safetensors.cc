// safetensors reader and writer (see safetensors.h for the layout). The header is JSON handled by
// nlohmann::ordered_json; the data is copied as raw bytes, so the host must be little-endian.
#include "engine/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/file_checks.h"
#include "io/json_input.h"

namespace fcn {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference library's limit
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeInfo {
  SafetensorsDtype dtype;
  const char* name;
  int64_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::kBool, "BOOL", 1}, {SafetensorsDtype::kU8, "U8", 1},
    {SafetensorsDtype::kI8, "I8", 1},     {SafetensorsDtype::kI16, "I16", 2},
    {SafetensorsDtype::kU16, "U16", 2},   {SafetensorsDtype::kF16, "F16", 2},
    {SafetensorsDtype::kBF16, "BF16", 2}, {SafetensorsDtype::kI32, "I32", 4},
    {SafetensorsDtype::kU32, "U32", 4},   {SafetensorsDtype::kF32, "F32", 4},
    {SafetensorsDtype::kI64, "I64", 8},   {SafetensorsDtype::kU64, "U64", 8},
    {SafetensorsDtype::kF64, "F64", 8},
};

const DtypeInfo& dtype_info(SafetensorsDtype dtype) {
  for (const DtypeInfo& info : kDtypes)
    if (info.dtype == dtype) return info;
  throw std::logic_error("safetensors: dtype enum value without a table entry");
}

std::string supported_dtype_list() {
  std::string list;
  for (const DtypeInfo& info : kDtypes) list += (list.empty() ? "" : ", ") + std::string(info.name);
  return list;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

[[noreturn]] void fail(const std::string& path, int64_t offset, const std::string& message,
                       const std::string& hint) {
  throw SafetensorsError(path, offset, message + "\nHINT: " + hint);
}

// ---- writing ------------------------------------------------------------------------------------

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const uint8_t* data, size_t size, const std::string& tmp_path) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0)
      fail(tmp_path, -1, "write failed: " + errno_text(),
           "check free disk space and that the folder is writable");
    data += written;
    size -= static_cast<size_t>(written);
  }
}

void check_tensors_for_writing(const std::string& path, const std::vector<SafetensorsTensor>& tensors) {
  std::set<std::string> names;
  for (const SafetensorsTensor& tensor : tensors) {
    if (tensor.name == kMetadataKey)
      fail(path, -1, "a tensor may not be called \"__metadata__\"", "rename the tensor");
    if (!names.insert(tensor.name).second)
      fail(path, -1, "two tensors are called \"" + tensor.name + "\"", "give every tensor its own name");
    for (int64_t dim : tensor.shape)
      if (dim < 0)
        fail(path, -1, "tensor \"" + tensor.name + "\" has a negative dimension in shape " +
                           shape_string(tensor.shape), "pass non-negative dimensions");
    const int64_t expected_bytes = tensor.element_count() * safetensors_dtype_size(tensor.dtype);
    if (static_cast<int64_t>(tensor.bytes.size()) != expected_bytes)
      fail(path, -1, "tensor \"" + tensor.name + "\" holds " + std::to_string(tensor.bytes.size()) +
                         " bytes but shape " + shape_string(tensor.shape) + " of " +
                         safetensors_dtype_name(tensor.dtype) + " needs " + std::to_string(expected_bytes),
           "fill bytes with exactly element_count() * dtype size bytes");
  }
}

// The header JSON padded with spaces so that the data section starts at a multiple of 8.
std::string make_header(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json metadata_json = Json::object();
    for (const auto& [key, value] : metadata) metadata_json[key] = value;
    header[kMetadataKey] = metadata_json;
  }
  uint64_t offset = 0;
  for (const SafetensorsTensor& tensor : tensors) {
    const uint64_t end = offset + tensor.bytes.size();
    header[tensor.name] = {{"dtype", safetensors_dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& error) {
    fail(path, -1, std::string("cannot encode the header: ") + error.what(),
         "tensor names and metadata must be valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void fsync_folder(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(folder.string(), -1, "cannot open the folder to fsync it: " + errno_text(),
                   "check the folder's permissions");
  int result = ::fsync(fd);
  int saved_errno = errno;
  ::close(fd);
  // Some file systems refuse fsync on folders (EINVAL); the rename itself has still happened.
  if (result != 0 && saved_errno != EINVAL) {
    errno = saved_errno;
    fail(folder.string(), -1, "fsync of the folder failed: " + errno_text(), "check the file system");
  }
}

// ---- reading ------------------------------------------------------------------------------------

std::vector<uint8_t> read_whole_file(const std::string& path) {
  if (regular_file_problem(path) == "is a directory") {
    const bool has_latest = regular_file_problem(path + "/latest.safetensors").empty();
    fail(path, -1, "is a directory, not a safetensors file",
         has_latest ? "pass " + path + "/latest.safetensors (the run's last checkpoint)" : "pass a file inside it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, -1, "cannot open for reading: " + errno_text(), "check the path");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) fail(path, -1, "cannot determine the file size", "pass a regular file");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    fail(path, -1, "read failed after " + std::to_string(in.gcount()) + " bytes", "check the file");
  return bytes;
}

bool parse_dtype(const std::string& name, SafetensorsDtype* dtype) {
  for (const DtypeInfo& info : kDtypes)
    if (name == info.name) {
      *dtype = info.dtype;
      return true;
    }
  return false;
}

// Where a tensor's bytes lie in the data section, for the tiling check.
struct Extent {
  uint64_t begin, end;
  size_t index;  // into the tensors as listed in the header
};

}  // namespace

// ---- public -------------------------------------------------------------------------------------

const char* safetensors_dtype_name(SafetensorsDtype dtype) { return dtype_info(dtype).name; }
int64_t safetensors_dtype_size(SafetensorsDtype dtype) { return dtype_info(dtype).size; }

int64_t SafetensorsTensor::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

SafetensorsTensor make_f32_tensor(const std::string& name, const std::vector<int64_t>& shape,
                                  const float* values) {
  SafetensorsTensor tensor{name, SafetensorsDtype::kF32, shape, {}};
  const int64_t count = tensor.element_count();
  if (count < 0) throw std::invalid_argument("make_f32_tensor: negative dimension in " + shape_string(shape));
  tensor.bytes.resize(static_cast<size_t>(count) * sizeof(float));
  if (count > 0) std::memcpy(tensor.bytes.data(), values, tensor.bytes.size());
  return tensor;
}

SafetensorsError::SafetensorsError(std::string path_, int64_t offset_, const std::string& message)
    : std::runtime_error("safetensors file " + path_ +
                         (offset_ >= 0 ? ", byte " + std::to_string(offset_) : std::string()) + ": " +
                         message),
      path(std::move(path_)),
      offset(offset_) {}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  check_tensors_for_writing(path, tensors);
  const std::string header = make_header(path, tensors, metadata);
  const std::string tmp_path = path + ".tmp";

  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(tmp_path, -1, "cannot create the temporary file: " + errno_text(),
         "check that the folder exists and is writable; " + path + " was left unchanged");
  try {
    uint8_t length_bytes[8];
    const uint64_t header_length = header.size();
    std::memcpy(length_bytes, &header_length, 8);  // little-endian host (static_assert above)
    write_all(fd, length_bytes, 8, tmp_path);
    write_all(fd, reinterpret_cast<const uint8_t*>(header.data()), header.size(), tmp_path);
    for (const SafetensorsTensor& tensor : tensors)
      write_all(fd, tensor.bytes.data(), tensor.bytes.size(), tmp_path);
    if (::fsync(fd) != 0)
      fail(tmp_path, -1, "fsync failed: " + errno_text(), "check free disk space and the file system");
    const int close_result = ::close(fd);
    fd = -1;
    if (close_result != 0)
      fail(tmp_path, -1, "close failed: " + errno_text(), "check free disk space and the file system");
    if (::rename(tmp_path.c_str(), path.c_str()) != 0)
      fail(path, -1, "cannot rename " + tmp_path + " over it: " + errno_text(),
           "check that " + path + " is not a folder and that the folder is writable");
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp_path.c_str());
    throw;
  }
  fsync_folder(path);
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  for (const SafetensorsTensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

std::vector<float> SafetensorsFile::as_floats(const std::string& name,
                                              const std::vector<int64_t>& expected_shape) const {
  const SafetensorsTensor* tensor = find(name);
  if (!tensor) {
    std::string names;
    for (size_t i = 0; i < tensors.size() && i < 8; ++i) names += (i ? ", " : "") + tensors[i].name;
    if (tensors.size() > 8) names += ", ...";
    fail(path, -1, "tensor \"" + name + "\" is not in the file (it holds " +
                       std::to_string(tensors.size()) + " tensors: " + names + ")",
         "the file was written for a different model; check the model configuration");
  }
  if (tensor->dtype != SafetensorsDtype::kF32)
    fail(path, -1, "tensor \"" + name + "\" has dtype " + safetensors_dtype_name(tensor->dtype) +
                       " but the model expects F32",
         "convert the tensor to float32 when writing the file");
  if (tensor->shape != expected_shape)
    fail(path, -1, "tensor \"" + name + "\" has shape " + shape_string(tensor->shape) +
                       " but the model expects " + shape_string(expected_shape),
         "the file was written for a different model configuration; use matching settings");
  std::vector<float> values(static_cast<size_t>(tensor->element_count()));
  if (!values.empty()) std::memcpy(values.data(), tensor->bytes.data(), tensor->bytes.size());
  return values;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::vector<uint8_t> file = read_whole_file(path);
  const uint64_t file_size = file.size();
  const std::string hint_corrupt = "the file is truncated or not a safetensors file; write it again";

  if (file_size < 8)
    fail(path, 0, "the file is " + std::to_string(file_size) +
                      " bytes long, shorter than the 8-byte header length", hint_corrupt);
  uint64_t header_length = 0;
  std::memcpy(&header_length, file.data(), 8);
  if (header_length > file_size - 8)
    fail(path, 0, "the header length " + std::to_string(header_length) + " runs past the end of the file (" +
                      std::to_string(file_size) + " bytes)", hint_corrupt);
  if (header_length > kMaxHeaderBytes)
    fail(path, 0, "the header length " + std::to_string(header_length) + " exceeds the limit of " +
                      std::to_string(kMaxHeaderBytes) + " bytes", hint_corrupt);
  const uint64_t data_start = 8 + header_length;
  const uint64_t data_size = file_size - data_start;

  // Parse the header; a parser callback catches duplicate top-level keys, which JSON would merge.
  std::string duplicate_key;
  std::set<std::string> seen_keys;
  Json::parser_callback_t note_duplicates = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 && duplicate_key.empty() &&
        !seen_keys.insert(parsed.get<std::string>()).second)
      duplicate_key = parsed.get<std::string>();
    return true;
  };
  Json header;
  try {
    const char* text = reinterpret_cast<const char*>(file.data()) + 8;
    header = parse_json_input<Json>(text, text + header_length, note_duplicates);
  } catch (const JsonInputError& error) {
    fail(path, 8 + std::max<int64_t>(error.byte(), 0), std::string("the header is ") + error.what(), hint_corrupt);
  }
  if (!header.is_object())
    fail(path, 8, "the header is JSON but not an object", hint_corrupt);
  if (!duplicate_key.empty())
    fail(path, 8, "the header lists \"" + duplicate_key + "\" twice", hint_corrupt);

  SafetensorsFile result;
  result.path = path;
  std::vector<Extent> extents;
  for (const auto& [key, entry] : header.items()) {
    if (key == kMetadataKey) {
      if (!entry.is_object())
        fail(path, 8, "\"__metadata__\" must be an object of strings", hint_corrupt);
      for (const auto& [meta_key, meta_value] : entry.items()) {
        if (!meta_value.is_string())
          fail(path, 8, "metadata value \"" + meta_key + "\" is " + meta_value.dump() + ", not a string",
               "safetensors metadata values must be strings; write numbers as text");
        result.metadata[meta_key] = meta_value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor \"" + key + "\"";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      fail(path, 8, where + " must be an object with dtype, shape and data_offsets", hint_corrupt);

    SafetensorsTensor tensor;
    tensor.name = key;
    const Json& dtype = entry["dtype"];
    if (!dtype.is_string() || !parse_dtype(dtype.get<std::string>(), &tensor.dtype))
      fail(path, 8, where + " has unknown dtype " + dtype.dump(),
           "supported dtypes are " + supported_dtype_list());

    const Json& shape = entry["shape"];
    if (!shape.is_array()) fail(path, 8, where + " has a shape that is not an array", hint_corrupt);
    uint64_t byte_count = static_cast<uint64_t>(safetensors_dtype_size(tensor.dtype));
    for (const Json& dim : shape) {
      if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(path, 8, where + " has shape " + shape.dump() + " with a dimension that is not a size",
             hint_corrupt);
      if (__builtin_mul_overflow(byte_count, dim.get<uint64_t>(), &byte_count))
        fail(path, 8, where + " has shape " + shape.dump() + " whose byte size overflows", hint_corrupt);
      tensor.shape.push_back(dim.get<int64_t>());
    }

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(path, 8, where + " has data_offsets " + offsets.dump() + ", not two byte offsets", hint_corrupt);
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail(path, 8, where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                        "] outside the data section of " + std::to_string(data_size) + " bytes (starting at byte " +
                        std::to_string(data_start) + ")", hint_corrupt);
    if (end - begin != byte_count)
      fail(path, static_cast<int64_t>(data_start + begin),
           where + " spans " + std::to_string(end - begin) + " bytes but shape " + shape_string(tensor.shape) +
               " of " + safetensors_dtype_name(tensor.dtype) + " needs " + std::to_string(byte_count),
           hint_corrupt);
    tensor.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(data_start + begin),
                        file.begin() + static_cast<std::ptrdiff_t>(data_start + end));
    extents.push_back({begin, end, result.tensors.size()});
    result.tensors.push_back(std::move(tensor));
  }

  // The tensors must tile the data section exactly, in offset order.
  std::stable_sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  std::vector<SafetensorsTensor> in_file_order;
  for (const Extent& extent : extents) {
    const std::string& name = result.tensors[extent.index].name;
    if (extent.begin < cursor)
      fail(path, static_cast<int64_t>(data_start + extent.begin),
           "tensor \"" + name + "\" overlaps the tensor before it (it starts at data offset " +
               std::to_string(extent.begin) + ", the previous one ends at " + std::to_string(cursor) + ")",
           hint_corrupt);
    if (extent.begin > cursor)
      fail(path, static_cast<int64_t>(data_start + cursor),
           "data offsets " + std::to_string(cursor) + ".." + std::to_string(extent.begin) +
               " belong to no tensor (a hole before \"" + name + "\")", hint_corrupt);
    cursor = extent.end;
    in_file_order.push_back(std::move(result.tensors[extent.index]));
  }
  if (cursor != data_size)
    fail(path, static_cast<int64_t>(data_start + cursor),
         std::to_string(data_size - cursor) + " bytes at the end of the file belong to no tensor",
         hint_corrupt);
  result.tensors = std::move(in_file_order);
  return result;
}

}  // namespace fcn
