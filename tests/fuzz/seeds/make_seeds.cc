// make_seeds [folder]: writes the seed corpora of the fuzz harnesses into folder (tests/fuzz/corpus by
// default, run from the repository root), replacing what is there except the inputs of past findings
// (files named finding-*, kept as regression inputs). Built with the fuzzers (fcn_fuzz_seeds).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/fuzz/seeds/seeds.h"

namespace fcn::seeds {

void SeedWriter::put(const std::string& harness, const std::string& name, const std::string& bytes) const {
  const std::filesystem::path folder = std::filesystem::path(root_) / harness;
  std::filesystem::create_directories(folder);
  std::ofstream file(folder / name, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), std::streamsize(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + (folder / name).string());
}

std::string flipped(std::string bytes, long index) {
  const long at = index < 0 ? long(bytes.size()) + index : index;
  if (at < 0 || at >= long(bytes.size())) throw std::logic_error("flipped: index outside the bytes");
  bytes[size_t(at)] = char(~bytes[size_t(at)]);
  return bytes;
}

std::string cut(const std::string& bytes, size_t size) { return bytes.substr(0, size); }

}  // namespace fcn::seeds

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  try {
    for (const char* harness : {"tfrecord_index", "tfrecord_read", "image", "example", "manifest", "kernel_plan",
                                "safetensors", "checkpoint"}) {
      const std::filesystem::path folder = std::filesystem::path(root) / harness;
      if (!std::filesystem::is_directory(folder)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        if (entry.path().filename().string().rfind("finding-", 0) != 0) std::filesystem::remove(entry.path());
      }
    }
    std::filesystem::create_directories(root);
    const fcn::seeds::SeedWriter out(root);
    fcn::seeds::write_tfrecord_seeds(out);
    fcn::seeds::write_image_seeds(out);
    fcn::seeds::write_text_seeds(out);
    fcn::seeds::write_safetensors_seeds(out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  std::printf("make_seeds: seed corpora written under %s\n", root.c_str());
  return 0;
}
