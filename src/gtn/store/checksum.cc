#include "gtn/store/checksum.h"

#include <xxhash.h>

#include "gtn/store/coding.h"

namespace gtn::store {

uint64_t checksum64(const void* data, size_t size) { return XXH3_64bits(data, size); }

std::string checksum_to_string(uint64_t sum) { return "0x" + hex_id(sum); }

}  // namespace gtn::store
