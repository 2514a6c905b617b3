// What every harness of tests/fuzz shares: the fuzz input as a file (the readers take paths), and the
// check of each reader's documented failure contract. A call may fail only with the exception type its
// header names, and that exception's message must name the input (the file's path, or what stands for
// it); any other exception escaping (nlohmann::json's, std::length_error, std::bad_alloc, ...) or an
// assertion of a harness that does not hold is a finding: the harness prints "fuzz finding: ..." and
// aborts, so that libFuzzer stops and saves the input as crash-<sha1>.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace fcn::fuzz {

// The input in an anonymous in-memory file (memfd), opened by path like any file: /proc/self/fd/N.
class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size);  // a finding when the file cannot be made
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Prints "fuzz finding: <what>" to stderr and aborts.
[[noreturn]] void finding(const std::string& what);

// A finding unless `condition` holds.
inline void require(bool condition, const std::string& what) {
  if (!condition) finding(what);
}

// For calls documented never to throw: failure_of<NeverThrown> makes every exception a finding.
struct NeverThrown : std::exception {};

// With FCN_FUZZ_VERBOSE=1 in the environment, failure_of prints each call's outcome to stderr ("api:
// returned" or "api: <message>"): to see what the readers say about one input.
bool verbose();
void report(const char* api, const char* outcome);

// The demangled type of the exception being handled, for findings.
std::string current_exception_type();

// Runs call(). Returns nothing when it returned, or a copy of the `Allowed` it threw, after checking that
// the message contains `names` (unless `names` is empty). Any other exception is a finding that names
// `api`, the exception's type and its message.
template <class Allowed, class Call>
std::optional<Allowed> failure_of(const char* api, const std::string& names, Call&& call) {
  try {
    call();
    if (verbose()) report(api, "returned");
    return std::nullopt;
  } catch (const Allowed& e) {
    if (!names.empty() && std::string_view(e.what()).find(names) == std::string_view::npos) {
      finding(std::string(api) + " threw a message that does not name " + names + ": " + e.what());
    }
    if (verbose()) report(api, e.what());
    return e;
  } catch (const std::exception& e) {
    finding(std::string(api) + " let " + current_exception_type() + " escape: " + e.what());
  } catch (...) {
    finding(std::string(api) + " let " + current_exception_type() + " escape");
  }
}

}  // namespace fcn::fuzz
