// Union-find over rows whose root is always the smallest row of its set, so a cluster's
// id does not depend on the order edges arrive in.
#pragma once

#include <cstdint>
#include <numeric>
#include <vector>

namespace gtn::curate {

class UnionFind {
 public:
  explicit UnionFind(size_t n = 0) : parent_(n) { std::iota(parent_.begin(), parent_.end(), uint64_t{0}); }
  // Adds rows [size(), n) as singletons.
  void grow(size_t n) {
    size_t old = parent_.size();
    if (n <= old) return;
    parent_.resize(n);
    std::iota(parent_.begin() + static_cast<std::ptrdiff_t>(old), parent_.end(), uint64_t{old});
  }
  size_t size() const { return parent_.size(); }
  uint64_t find(uint64_t x) {
    uint64_t root = x;
    while (parent_[root] != root) root = parent_[root];
    while (parent_[x] != root) {
      uint64_t next = parent_[x];
      parent_[x] = root;
      x = next;
    }
    return root;
  }
  // True when a and b were in different sets.
  bool unite(uint64_t a, uint64_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return false;
    if (a < b) {
      parent_[b] = a;
    } else {
      parent_[a] = b;
    }
    return true;
  }
  // Sets parent of x directly (loading a saved state whose parents are roots).
  void set_parent(uint64_t x, uint64_t p) { parent_[x] = p; }

 private:
  std::vector<uint64_t> parent_;
};

}  // namespace gtn::curate
