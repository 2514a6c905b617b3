// The shared parts of the fuzz harnesses (harness.h): the memfd input file and the finding report.
#include "tests/fuzz/harness.h"

#include <cxxabi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <typeinfo>

namespace fcn::fuzz {

InputFile::InputFile(const uint8_t* data, size_t size) {
  fd_ = ::memfd_create("fuzz-input", MFD_CLOEXEC);
  if (fd_ < 0) finding(std::string("memfd_create failed: ") + std::strerror(errno));
  size_t done = 0;
  while (done < size) {
    const ssize_t wrote = ::write(fd_, data + done, size - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) finding(std::string("writing the input file failed: ") + std::strerror(errno));
    done += size_t(wrote);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

bool verbose() {
  static const bool on = [] {
    const char* value = std::getenv("FCN_FUZZ_VERBOSE");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  return on;
}

void report(const char* api, const char* outcome) { std::fprintf(stderr, "%s: %s\n", api, outcome); }

std::string current_exception_type() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return "an unknown exception";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && name ? name.get() : type->name();
}

}  // namespace fcn::fuzz
