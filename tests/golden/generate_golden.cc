// Writes the GTN-F v1 golden dataset and the XXH3 list of its files:
//   gtn_golden_generate tests/golden/v1 tests/golden/v1.xxh3
// Run it only to create a new format version's golden files: committed golden files
// must never change (golden_test checks their bytes).
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "golden_v1.h"

namespace fs = std::filesystem;
using namespace gtn;

namespace {
void check(const Status& st) {
  if (!st.ok()) {
    std::cerr << st.ToString() << "\n";
    std::exit(1);
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gtn_golden_generate <dataset dir> <hash list file>\n";
    return 2;
  }
  std::string dir = argv[1];
  fs::remove_all(dir);
  {
    auto ds = Dataset::Open(dir);
    check(ds.status());
    auto specs = golden::specs();
    for (size_t t = 0; t + 1 < specs.size(); ++t) check((*ds)->create_tensor(specs[t]));
    auto row = [&](uint64_t i, bool with_late) {
      Sample s;
      for (size_t t = 0; t + 1 < specs.size(); ++t) s[specs[t].name] = golden::value(specs[t].name, i);
      if (with_late) s["late"] = golden::late(i);
      // The updated caption is first written with other text, then rewritten below.
      if (i == golden::kUpdatedSample) s["caption"] = Array::Text("original caption, replaced by update()");
      return s;
    };
    for (uint64_t i = 0; i < golden::kLateFrom; ++i) check((*ds)->append(row(i, false)));
    check((*ds)->create_tensor(specs.back()));
    SampleBatch batch;
    for (uint64_t i = golden::kLateFrom; i < golden::kSamples; ++i) {
      for (auto& [name, v] : row(i, true)) batch[name].push_back(v);
    }
    check((*ds)->extend(batch));
    // One extra row, popped again: pop is part of the history the files record.
    check((*ds)->append(row(golden::kSamples, true)));
    check((*ds)->pop());
    check((*ds)->update("caption", golden::kUpdatedSample, golden::caption(golden::kUpdatedSample)));
    check((*ds)->flush());
    // History (manifest format 2, v3 on): the samples above as a tagged commit on main,
    // and a branch "relabel" whose commit changes the label of sample 0.
    auto first = (*ds)->commit("golden samples", "golden");
    check(first.status());
    check((*ds)->tag("golden"));
    CheckoutOptions create;
    create.create = true;
    check((*ds)->checkout("relabel", create));
    Array label = golden::value("label", 0);
    check((*ds)->update("label", 0, Array::Scalar<int64_t>(DType::kInt64, (label.data_as<int64_t>()[0] + 1) % 3)));
    check((*ds)->commit("relabel sample 0", "golden").status());
    check((*ds)->checkout("main"));
    // v4 on: a saved view of the golden commit (its first ten rows, in reverse).
    ViewRecord view;
    view.name = "first-ten";
    view.commit = *first;
    view.query = "SELECT * LIMIT 10";
    for (uint64_t i = 10; i-- > 0;) view.rows.push_back(i);
    view.message = "golden view";
    check((*ds)->save_view(view));
    check((*ds)->close());
  }
  fs::remove(fs::path(dir) / "gtn.lock");
  fs::remove(fs::path(dir) / "gtn.readers");
  fs::remove_all(fs::path(dir) / "readers");
  // The chunk files that update() and pop() replaced stay, referenced by nothing: old
  // readers may still use them and fsck ignores them (docs/format.md, "Crash safety").
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).generic_string());
  }
  std::sort(files.begin(), files.end());
  std::ofstream list(argv[2]);
  for (const auto& f : files) {
    std::ifstream in(fs::path(dir) / f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(XXH3_64bits(bytes.data(), bytes.size())));
    list << hex << "  " << f << "\n";
  }
  std::cout << "wrote " << files.size() << " files to " << dir << "\n";
  return 0;
}
