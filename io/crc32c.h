// CRC-32C (Castagnoli) as TFRecord uses it, with the SSE4.2 crc32 instruction where the CPU has it
// and a portable slicing-by-8 table otherwise (identical results).
#pragma once
#include <cstddef>
#include <cstdint>

namespace fcn {

uint32_t crc32c(const void* data, size_t size);                   // full CRC, init/final xor 0xFFFFFFFF
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);  // continue a CRC
uint32_t crc32c_portable(const void* data, size_t size);          // table path, always available
bool crc32c_hardware_available();

// TFRecord's mask: ((c >> 15) | (c << 17)) + 0xA282EAD8, and its inverse.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - 0xA282EAD8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace fcn
