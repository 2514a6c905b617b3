// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) for TFRecord framing.
// Two paths with identical results: the SSE4.2 crc32 instruction (chosen at run time when the CPU has it)
// and a portable slicing-by-8 table walk (eight table lookups per 8 input bytes).
#include "io/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define FCN_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace fcn {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reversed

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by k zero bytes,
// which lets one step fold 8 bytes with 8 independent lookups.
using SlicingTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr SlicingTables make_tables() {
  SlicingTables tables{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    tables[0][byte] = crc;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t byte = 0; byte < 256; ++byte) {
      uint32_t prev = tables[k - 1][byte];
      tables[k][byte] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr SlicingTables kTables = make_tables();

inline uint32_t load_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// Works on the raw (not inverted) register state.
uint32_t update_portable(uint32_t state, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint32_t lo = load_le32(p) ^ state;
    uint32_t hi = load_le32(p + 4);
    state = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
            kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFu] ^ kTables[2][(hi >> 8) & 0xFFu] ^
            kTables[1][(hi >> 16) & 0xFFu] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) state = kTables[0][(state ^ *p++) & 0xFFu] ^ (state >> 8);
  return state;
}

#if FCN_CRC32C_X86
// The crc32 instruction computes exactly this CRC (same polynomial, same bit order) on the raw state.
__attribute__((target("sse4.2"))) uint32_t update_hardware(uint32_t state, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {  // align to 8 for the 64-bit steps
    state = _mm_crc32_u8(state, *p++);
    --n;
  }
  uint64_t wide = state;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    wide = _mm_crc32_u64(wide, v);
    p += 8;
    n -= 8;
  }
  state = static_cast<uint32_t>(wide);
  while (n-- > 0) state = _mm_crc32_u8(state, *p++);
  return state;
}

bool detect_hardware() { return __builtin_cpu_supports("sse4.2"); }
#endif

}  // namespace

bool crc32c_hardware_available() {
#if FCN_CRC32C_X86
  static const bool available = detect_hardware();
  return available;
#else
  return false;
#endif
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t state = ~crc;
#if FCN_CRC32C_X86
  if (crc32c_hardware_available()) return ~update_hardware(state, bytes, size);
#endif
  return ~update_portable(state, bytes, size);
}

uint32_t crc32c(const void* data, size_t size) { return crc32c_extend(0, data, size); }

uint32_t crc32c_portable(const void* data, size_t size) {
  return ~update_portable(0xFFFFFFFFu, static_cast<const uint8_t*>(data), size);
}

}  // namespace fcn
