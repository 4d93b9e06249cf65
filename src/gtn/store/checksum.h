// The checksum of GTN-F files: XXH3 64-bit, seed 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gtn::store {

uint64_t checksum64(const void* data, size_t size);

// "0x1234abcd..." for messages.
std::string checksum_to_string(uint64_t sum);

}  // namespace gtn::store
