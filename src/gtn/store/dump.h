// The declaration moved to the public header include/gtn/dump.h; this name stays for the
// store's own tests, which call store::dump.
#pragma once

#include "gtn/dump.h"

namespace gtn::store {
using ::gtn::dump;
}  // namespace gtn::store
