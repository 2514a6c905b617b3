// Tests for engine/safetensors: round trips, atomic writes, a clear error for every malformed input,
// and exact reading of a file written by the safetensors Python library
// (tests/fixtures/safetensors/reference.safetensors, from scripts/reference/make_safetensors_fixture.py).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace fs = std::filesystem;
using fcn::SafetensorsDtype;
using fcn::SafetensorsError;
using fcn::SafetensorsFile;
using fcn::SafetensorsTensor;

namespace {

// A fresh folder per test, removed afterwards.
struct TempFolder {
  fs::path path;
  explicit TempFolder(const std::string& name) {
    path = fs::temp_directory_path() / ("fcn_safetensors_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A raw file: 8-byte length of header_json, header_json, data.
std::string raw_file(const std::string& header_json, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t length = header_json.size();
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header_json + data;
}

template <typename T>
SafetensorsTensor tensor_of(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
                            const std::vector<T>& values) {
  SafetensorsTensor tensor{name, dtype, std::move(shape), {}};
  tensor.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

template <typename T>
std::vector<T> values_of(const SafetensorsTensor& tensor) {
  std::vector<T> values(tensor.bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  return values;
}

// Reading `bytes` must throw SafetensorsError whose message holds `fragment`, the path and a HINT line.
SafetensorsError expect_read_error(const TempFolder& folder, const std::string& bytes,
                                   const std::string& fragment) {
  const std::string path = folder.file("bad.safetensors");
  write_text(path, bytes);
  try {
    fcn::read_safetensors(path);
  } catch (const SafetensorsError& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.find(fragment) != std::string::npos);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("\nHINT: ") != std::string::npos);
    return error;
  }
  FAIL("no error for a file that should contain: " << fragment);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("safetensors dtype names and sizes", "[safetensors]") {
  CHECK(std::string(fcn::safetensors_dtype_name(SafetensorsDtype::kF32)) == "F32");
  CHECK(std::string(fcn::safetensors_dtype_name(SafetensorsDtype::kBF16)) == "BF16");
  CHECK(std::string(fcn::safetensors_dtype_name(SafetensorsDtype::kI64)) == "I64");
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kF32) == 4);
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kF64) == 8);
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kI64) == 8);
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kI32) == 4);
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kU8) == 1);
  CHECK(fcn::safetensors_dtype_size(SafetensorsDtype::kF16) == 2);
}

TEST_CASE("safetensors element_count and make_f32_tensor", "[safetensors]") {
  const float values[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 1e-30f};
  SafetensorsTensor tensor = fcn::make_f32_tensor("w", {2, 3}, values);
  CHECK(tensor.name == "w");
  CHECK(tensor.dtype == SafetensorsDtype::kF32);
  CHECK(tensor.element_count() == 6);
  REQUIRE(tensor.bytes.size() == 24);
  CHECK(std::memcmp(tensor.bytes.data(), values, 24) == 0);
  CHECK(fcn::make_f32_tensor("s", {}, values).element_count() == 1);
  CHECK(fcn::make_f32_tensor("z", {3, 0}, nullptr).bytes.empty());
}

TEST_CASE("safetensors round trip keeps tensors, order, dtypes and metadata", "[safetensors]") {
  TempFolder folder("round_trip");
  const std::string path = folder.file("model.safetensors");
  const float weight[6] = {0.1f, -0.2f, 3.5f, 1e-38f, -1e38f, 0.0f};
  std::vector<SafetensorsTensor> tensors = {
      fcn::make_f32_tensor("layer2.weight", {2, 3}, weight),  // written first although sorted last
      tensor_of<double>("layer1.f64", SafetensorsDtype::kF64, {2}, {0.1, -1e300}),
      tensor_of<int64_t>("step", SafetensorsDtype::kI64, {1}, {int64_t{1} << 40}),
      fcn::make_f32_tensor("empty", {0, 4}, nullptr),
      tensor_of<int32_t>("counts", SafetensorsDtype::kI32, {3}, {-1, 0, 2147483647}),
      tensor_of<uint8_t>("mask", SafetensorsDtype::kU8, {5}, {0, 1, 128, 254, 255}),
      tensor_of<float>("scalar", SafetensorsDtype::kF32, {}, {7.0f}),
  };
  const std::map<std::string, std::string> metadata = {{"format", "fcn.cu"}, {"step", "100"}, {"note", "ü"}};
  fcn::write_safetensors(path, tensors, metadata);

  CHECK_FALSE(fs::exists(path + ".tmp"));
  const std::string bytes = read_text(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK((8 + header_length) % 8 == 0);  // data section aligned as the reference writer aligns it
  CHECK(bytes[8] == '{');

  const SafetensorsFile file = fcn::read_safetensors(path);
  CHECK(file.path == path);
  CHECK(file.metadata == metadata);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {  // bit-exact, in the order written
    INFO(tensors[i].name);
    CHECK(file.tensors[i].name == tensors[i].name);
    CHECK(file.tensors[i].dtype == tensors[i].dtype);
    CHECK(file.tensors[i].shape == tensors[i].shape);
    CHECK(file.tensors[i].bytes == tensors[i].bytes);
  }
  CHECK(values_of<double>(*file.find("layer1.f64")) == std::vector<double>{0.1, -1e300});
  CHECK(values_of<int64_t>(*file.find("step")) == std::vector<int64_t>{int64_t{1} << 40});
  CHECK(file.as_floats("scalar", {}) == std::vector<float>{7.0f});
  CHECK(file.as_floats("empty", {0, 4}).empty());

  // No metadata and no tensors is still a valid file.
  fcn::write_safetensors(path, {}, {});
  const SafetensorsFile empty_file = fcn::read_safetensors(path);
  CHECK(empty_file.tensors.empty());
  CHECK(empty_file.metadata.empty());
}

TEST_CASE("safetensors find and as_floats", "[safetensors]") {
  TempFolder folder("as_floats");
  const std::string path = folder.file("model.safetensors");
  const float weight[6] = {1, 2, 3, 4, 5, 6};
  fcn::write_safetensors(path, {fcn::make_f32_tensor("conv.weight", {2, 3}, weight),
                                tensor_of<int32_t>("ids", SafetensorsDtype::kI32, {2}, {4, 5})});
  const SafetensorsFile file = fcn::read_safetensors(path);

  REQUIRE(file.find("conv.weight") != nullptr);
  CHECK(file.find("conv.weight")->shape == std::vector<int64_t>{2, 3});
  CHECK(file.find("conv.bias") == nullptr);
  CHECK(file.as_floats("conv.weight", {2, 3}) == std::vector<float>{1, 2, 3, 4, 5, 6});

  CHECK_THROWS_WITH(file.as_floats("conv.weight", {3, 2}),
                    Catch::Contains("tensor \"conv.weight\" has shape [2, 3] but the model expects [3, 2]") &&
                        Catch::Contains("HINT: "));
  CHECK_THROWS_WITH(file.as_floats("conv.weight", {6}), Catch::Contains("but the model expects [6]"));
  CHECK_THROWS_WITH(file.as_floats("conv.bias", {3}),
                    Catch::Contains("tensor \"conv.bias\" is not in the file") && Catch::Contains("conv.weight"));
  CHECK_THROWS_WITH(file.as_floats("ids", {2}), Catch::Contains("has dtype I32 but the model expects F32"));
}

TEST_CASE("safetensors write is atomic", "[safetensors]") {
  TempFolder folder("atomic");
  const std::string path = folder.file("ckpt.safetensors");
  const float old_values[2] = {1, 2}, new_values[3] = {3, 4, 5};
  fcn::write_safetensors(path, {fcn::make_f32_tensor("w", {2}, old_values)}, {{"step", "1"}});
  const std::string old_bytes = read_text(path);
  CHECK_FALSE(fs::exists(path + ".tmp"));

  SECTION("a failed write leaves the old file intact") {
    // "<path>.tmp" is a folder, so the temporary file cannot be created (works even as root).
    fs::create_directory(path + ".tmp");
    CHECK_THROWS_WITH(fcn::write_safetensors(path, {fcn::make_f32_tensor("w", {3}, new_values)}),
                      Catch::Contains(path + ".tmp") && Catch::Contains("cannot create the temporary file") &&
                          Catch::Contains("HINT: "));
    CHECK(read_text(path) == old_bytes);
    CHECK(fs::is_directory(path + ".tmp"));  // not ours to remove
  }
  SECTION("a write into a missing folder names the path") {
    const std::string missing = folder.file("no/such/folder/ckpt.safetensors");
    CHECK_THROWS_WITH(fcn::write_safetensors(missing, {fcn::make_f32_tensor("w", {3}, new_values)}),
                      Catch::Contains(missing));
    CHECK(read_text(path) == old_bytes);
  }
  SECTION("a refused tensor writes nothing") {
    SafetensorsTensor bad = fcn::make_f32_tensor("w", {3}, new_values);
    bad.bytes.pop_back();
    CHECK_THROWS_WITH(fcn::write_safetensors(path, {bad}), Catch::Contains("holds 11 bytes") &&
                                                                Catch::Contains("needs 12"));
    CHECK_THROWS_WITH(fcn::write_safetensors(path, {fcn::make_f32_tensor("w", {2}, old_values),
                                                    fcn::make_f32_tensor("w", {3}, new_values)}),
                      Catch::Contains("two tensors are called \"w\""));
    CHECK_THROWS_WITH(fcn::write_safetensors(path, {fcn::make_f32_tensor("__metadata__", {2}, old_values)}),
                      Catch::Contains("may not be called \"__metadata__\""));
    SafetensorsTensor negative{"n", SafetensorsDtype::kF32, {-1}, {}};
    CHECK_THROWS_WITH(fcn::write_safetensors(path, {negative}), Catch::Contains("negative dimension"));
    CHECK(read_text(path) == old_bytes);
    CHECK_FALSE(fs::exists(path + ".tmp"));
  }
  SECTION("a successful write replaces the file and leaves no temporary file") {
    fcn::write_safetensors(path, {fcn::make_f32_tensor("w", {3}, new_values)}, {{"step", "2"}});
    CHECK_FALSE(fs::exists(path + ".tmp"));
    const SafetensorsFile file = fcn::read_safetensors(path);
    CHECK(file.as_floats("w", {3}) == std::vector<float>{3, 4, 5});
    CHECK(file.metadata.at("step") == "2");
  }
}

TEST_CASE("safetensors reader refuses malformed files with clear errors", "[safetensors]") {
  TempFolder folder("malformed");
  const std::string four_floats(16, '\0');
  const std::string good_entry = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";

  SECTION("missing file") {
    const std::string missing = folder.file("missing.safetensors");
    CHECK_THROWS_WITH(fcn::read_safetensors(missing),
                      Catch::Contains(missing) && Catch::Contains("cannot open") && Catch::Contains("HINT: "));
  }
  SECTION("too short for the header length") {
    CHECK(expect_read_error(folder, "", "0 bytes long, shorter than the 8-byte header length").offset == 0);
    CHECK(expect_read_error(folder, "abcde", "5 bytes long").offset == 0);
  }
  SECTION("header length beyond the file") {
    std::string bytes = raw_file("{" + good_entry + "}", four_floats);
    const uint64_t too_long = bytes.size();  // 8 + header + data > remaining bytes
    std::memcpy(bytes.data(), &too_long, 8);
    CHECK(expect_read_error(folder, bytes, "runs past the end of the file").offset == 0);
    const uint64_t huge = ~uint64_t{0};
    std::memcpy(bytes.data(), &huge, 8);
    expect_read_error(folder, bytes, "runs past the end of the file");
  }
  SECTION("invalid JSON, with the byte offset of the problem") {
    // The stray '#' is the 6th header byte, so at file byte 8 + 5 = 13.
    CHECK(expect_read_error(folder, raw_file("{\"w\":#}", ""), "not valid JSON").offset == 13);
    expect_read_error(folder, raw_file("{\"w\":{\"dtype\":\"F32\"", ""), "not valid JSON");
    expect_read_error(folder, raw_file("{\"w\xff\":1}", ""), "not valid JSON");  // not UTF-8
    expect_read_error(folder, raw_file("", ""), "not valid JSON");
  }
  SECTION("hostile JSON: too deep to recurse into, or a number past double's range") {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    expect_read_error(folder, raw_file("{\"w\":" + deep + "}", ""), "nested deeper than 64 levels");
    expect_read_error(folder, raw_file(R"({"__metadata__":{"a":1e400}})", ""), "a number out of range");
  }
  SECTION("header that is not an object") {
    CHECK(expect_read_error(folder, raw_file("[1, 2]", ""), "not an object").offset == 8);
  }
  SECTION("duplicate tensor name") {
    expect_read_error(folder, raw_file("{" + good_entry + "," + good_entry + "}", four_floats),
                      "lists \"w\" twice");
  }
  SECTION("unknown dtype") {
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F99","shape":[4],"data_offsets":[0,16]}})", four_floats),
                      "tensor \"w\" has unknown dtype \"F99\"");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":7,"shape":[4],"data_offsets":[0,16]}})", four_floats),
                      "unknown dtype 7");
  }
  SECTION("entry missing a field or with a bad shape") {
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[4]}})", four_floats),
                      "must be an object with dtype, shape and data_offsets");
    expect_read_error(folder, raw_file(R"({"w":[1,2]})", four_floats), "must be an object");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", four_floats),
                      "not a size");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", four_floats),
                      "not a size");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", four_floats),
                      "not an array");
    expect_read_error(folder,
                      raw_file(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,16]}})",
                               four_floats),
                      "overflows");
  }
  SECTION("shape and offsets disagree") {
    const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})";
    const SafetensorsError error = expect_read_error(folder, raw_file(header, four_floats),
                                                     "tensor \"w\" spans 16 bytes but shape [3] of F32 needs 12");
    CHECK(error.offset == static_cast<int64_t>(8 + header.size()));  // the tensor's first data byte
  }
  SECTION("offsets out of range or malformed") {
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[5],"data_offsets":[0,20]}})", four_floats),
                      "outside the data section of 16 bytes");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", four_floats),
                      "outside the data section");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", four_floats),
                      "not two byte offsets");
    expect_read_error(folder, raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,"16"]}})", four_floats),
                      "not two byte offsets");
  }
  SECTION("overlapping tensors") {
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
    const SafetensorsError error = expect_read_error(folder, raw_file(header, four_floats),
                                                     "tensor \"b\" overlaps the tensor before it");
    CHECK(error.offset == static_cast<int64_t>(8 + header.size() + 8));
  }
  SECTION("hole between tensors and trailing bytes") {
    const std::string hole =
        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
    const SafetensorsError error = expect_read_error(folder, raw_file(hole, four_floats), "4..8 belong to no tensor");
    CHECK(error.offset == static_cast<int64_t>(8 + hole.size() + 4));
    expect_read_error(folder, raw_file("{" + good_entry + "}", four_floats + "xyz"),
                      "3 bytes at the end of the file belong to no tensor");
  }
  SECTION("metadata that is not a map of strings") {
    expect_read_error(folder, raw_file(R"({"__metadata__":{"step":7},)" + good_entry + "}", four_floats),
                      "metadata value \"step\" is 7, not a string");
    expect_read_error(folder, raw_file(R"({"__metadata__":["a"],)" + good_entry + "}", four_floats),
                      "\"__metadata__\" must be an object of strings");
  }
}

TEST_CASE("safetensors reader survives every truncation and byte flip", "[safetensors]") {
  TempFolder folder("fuzz");
  const std::string path = folder.file("model.safetensors");
  const float weight[6] = {1, 2, 3, 4, 5, 6};
  fcn::write_safetensors(path, {fcn::make_f32_tensor("a", {2, 3}, weight), fcn::make_f32_tensor("b", {1}, weight)},
                         {{"k", "v"}});
  const std::string good = read_text(path);
  const std::string bad_path = folder.file("bad.safetensors");

  // Every proper prefix is refused: the data section no longer matches the header.
  int refused = 0;
  for (size_t length = 0; length < good.size(); ++length) {
    write_text(bad_path, good.substr(0, length));
    try {
      fcn::read_safetensors(bad_path);
    } catch (const SafetensorsError&) {
      ++refused;
    }
  }
  CHECK(refused == static_cast<int>(good.size()));

  // Flipping any header byte either still parses or throws SafetensorsError; nothing else escapes.
  uint64_t header_length = 0;
  std::memcpy(&header_length, good.data(), 8);
  for (size_t at = 0; at < 8 + header_length; ++at) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5A);
    write_text(bad_path, flipped);
    try {
      fcn::read_safetensors(bad_path);
    } catch (const SafetensorsError&) {
    }
  }
}

TEST_CASE("safetensors reader reads the Python library's file exactly", "[safetensors]") {
  const std::string path = std::string(FCN_SOURCE_DIR) + "/tests/fixtures/safetensors/reference.safetensors";
  const SafetensorsFile file = fcn::read_safetensors(path);

  CHECK(file.metadata == std::map<std::string, std::string>{{"format", "fcn.cu-fixture"}, {"step", "7"}});
  std::vector<std::string> names;
  for (const SafetensorsTensor& tensor : file.tensors) names.push_back(tensor.name);
  // The library sorts by dtype size then name; "empty" (0 bytes) and "scale" share offset 52.
  CHECK(names == std::vector<std::string>{"step", "conv1.bias", "conv1.weight", "empty", "scale"});

  // Exact equality: numpy's float32 rounding of 0.1 and 3e-8 equals the C++ float literals'.
  CHECK(file.as_floats("conv1.weight", {2, 3}) == std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
  CHECK(file.as_floats("conv1.bias", {3}) == std::vector<float>{0.1f, -2.25f, 3.0e-8f});
  CHECK(file.as_floats("scale", {}) == std::vector<float>{42.0f});
  CHECK(file.as_floats("empty", {0, 4}).empty());
  REQUIRE(file.find("step") != nullptr);
  CHECK(file.find("step")->dtype == SafetensorsDtype::kI64);
  CHECK(file.find("step")->shape == std::vector<int64_t>{2});
  CHECK(values_of<int64_t>(*file.find("step")) == std::vector<int64_t>{1234567890123, -7});
}
