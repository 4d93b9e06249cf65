// The query language's function table (functions.cc).
#pragma once

#include <string>
#include <vector>

namespace gtn::query {

struct FunctionInfo {
  std::string name;
  std::string signature;
  std::string doc;
};

const std::vector<FunctionInfo>& function_table();

}  // namespace gtn::query
