#include <algorithm>

#include "module.h"

namespace gtn::py {

std::vector<std::pair<int, BindFn>>& BindingRegistry::entries() {
  static std::vector<std::pair<int, BindFn>> e;
  return e;
}

}  // namespace gtn::py

NB_MODULE(_core, m) {
  m.doc() = "GTN's C++ core (use the `gtn` package, not this module directly)";
  auto& entries = gtn::py::BindingRegistry::entries();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, fn] : entries) fn(m);
}
