// CRC-32C: published check values, TFRecord's mask, and agreement of the hardware and table paths.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/crc32c.h"

using namespace fcn;

TEST_CASE("crc32c matches the published check values", "[io][crc32c]") {
  const char* check = "123456789";
  CHECK(crc32c(check, 9) == 0xE3069283u);
  CHECK(crc32c_portable(check, 9) == 0xE3069283u);
  CHECK(crc32c(nullptr, 0) == 0u);
  CHECK(crc32c_portable(nullptr, 0) == 0u);

  // iSCSI test vectors (RFC 3720, B.4).
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = uint8_t(i);
    down[i] = uint8_t(31 - i);
  }
  CHECK(crc32c(zeros.data(), 32) == 0x8A9136AAu);
  CHECK(crc32c(ones.data(), 32) == 0x62A8AB43u);
  CHECK(crc32c(up.data(), 32) == 0x46DD794Eu);
  CHECK(crc32c(down.data(), 32) == 0x113FDB5Cu);
  CHECK(crc32c_portable(up.data(), 32) == 0x46DD794Eu);
}

TEST_CASE("crc32c mask gives TFRecord's values for an empty record", "[io][crc32c]") {
  const uint8_t zero_length[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // uint64 LE 0
  CHECK(crc32c_mask(crc32c(zero_length, 8)) == 0x07980329u);
  CHECK(crc32c_mask(crc32c(nullptr, 0)) == 0xA282EAD8u);

  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    uint32_t value = rng();
    CHECK(crc32c_unmask(crc32c_mask(value)) == value);
  }
}

TEST_CASE("crc32c_extend continues a CRC", "[io][crc32c]") {
  std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t split = 0; split <= text.size(); ++split) {
    uint32_t head = crc32c(text.data(), split);
    CHECK(crc32c_extend(head, text.data() + split, text.size() - split) == crc32c(text.data(), text.size()));
  }
}

TEST_CASE("crc32c hardware and portable paths agree on every length and alignment", "[io][crc32c]") {
  if (!crc32c_hardware_available()) {
    WARN("no SSE4.2 on this CPU: crc32c() runs the portable path, so this only checks it against itself");
  }
  std::mt19937 rng(1234);
  std::vector<uint8_t> buffer(300 + 8 + 8);
  for (auto& b : buffer) b = uint8_t(rng());
  for (size_t start = 0; start < 8; ++start) {
    for (size_t length = 0; length <= 300; ++length) {
      const uint8_t* p = buffer.data() + start;
      uint32_t fast = crc32c(p, length);
      uint32_t portable = crc32c_portable(p, length);
      if (fast != portable) FAIL("start " << start << " length " << length);
    }
  }
  // And a large buffer, through extend in uneven pieces.
  std::vector<uint8_t> big(1 << 20);
  for (auto& b : big) b = uint8_t(rng());
  uint32_t pieces = 0;
  size_t done = 0;
  for (size_t piece = 1; done < big.size(); piece = piece * 3 + 1) {
    size_t n = std::min(piece, big.size() - done);
    pieces = crc32c_extend(pieces, big.data() + done, n);
    done += n;
  }
  CHECK(pieces == crc32c_portable(big.data(), big.size()));
}
