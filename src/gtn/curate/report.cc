// The dedup report as JSON and as text.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "gtn/curate.h"

namespace gtn::curate {

std::string report_json(const DedupReport& r) {
  nlohmann::json j;
  j["rows"] = r.rows;
  j["rows_kept"] = r.rows_kept;
  j["rows_removed"] = r.rows_removed;
  j["empty_rows"] = r.empty_rows;
  j["clusters"] = r.clusters;
  j["largest_cluster"] = r.largest_cluster;
  nlohmann::json sizes = nlohmann::json::object();
  for (auto [size, count] : r.cluster_sizes) sizes[std::to_string(size)] = count;
  j["cluster_sizes"] = sizes;
  nlohmann::json stages = nlohmann::json::array();
  for (const StageCount& s : r.stages) {
    stages.push_back({{"stage", s.stage},
                      {"candidate_pairs", s.candidate_pairs},
                      {"matched_pairs", s.matched_pairs},
                      {"rejected_pairs", s.rejected_pairs},
                      {"rows_removed", s.rows_removed},
                      {"seconds", s.seconds}});
  }
  j["stages"] = stages;
  nlohmann::json ex = nlohmann::json::array();
  for (const DedupExample& e : r.examples) {
    ex.push_back({{"stage", e.stage}, {"row", e.row}, {"matched_row", e.matched_row}, {"similarity", e.similarity}});
  }
  j["examples"] = ex;
  if (r.lsh.bands > 0) {
    j["lsh"] = {{"bands", r.lsh.bands}, {"rows", r.lsh.rows}};
    j["s_curve"] = r.s_curve;
  }
  j["commit"] = r.commit;
  j["view"] = r.view;
  j["rows_indexed_before"] = r.rows_indexed_before;
  j["rows_hashed"] = r.rows_hashed;
  j["seconds"] = r.seconds;
  j["peak_signature_bytes"] = r.peak_signature_bytes;
  return j.dump(2);
}

std::string report_text(const DedupReport& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%llu rows: %llu kept, %llu duplicates in %llu clusters (largest %llu)\n",
                static_cast<unsigned long long>(r.rows), static_cast<unsigned long long>(r.rows_kept),
                static_cast<unsigned long long>(r.rows_removed), static_cast<unsigned long long>(r.clusters),
                static_cast<unsigned long long>(r.largest_cluster));
  out += line;
  if (r.rows_indexed_before > 0) {
    std::snprintf(line, sizeof line, "incremental: %llu rows from the index, %llu hashed now\n",
                  static_cast<unsigned long long>(r.rows_indexed_before), static_cast<unsigned long long>(r.rows_hashed));
    out += line;
  }
  if (r.empty_rows) {
    std::snprintf(line, sizeof line, "%llu empty rows kept alone\n", static_cast<unsigned long long>(r.empty_rows));
    out += line;
  }
  for (const StageCount& s : r.stages) {
    std::snprintf(line, sizeof line,
                  "  %-8s %10llu candidate pairs, %10llu matched, %10llu rejected, %10llu rows removed  (%.2f s)\n",
                  s.stage.c_str(), static_cast<unsigned long long>(s.candidate_pairs),
                  static_cast<unsigned long long>(s.matched_pairs), static_cast<unsigned long long>(s.rejected_pairs),
                  static_cast<unsigned long long>(s.rows_removed), s.seconds);
    out += line;
  }
  if (!r.cluster_sizes.empty()) {
    out += "cluster sizes:";
    for (auto [size, count] : r.cluster_sizes) {
      std::snprintf(line, sizeof line, " %llux%llu", static_cast<unsigned long long>(size),
                    static_cast<unsigned long long>(count));
      out += line;
    }
    out += "\n";
  }
  if (r.lsh.bands > 0) out += r.s_curve;
  for (const DedupExample& e : r.examples) {
    std::snprintf(line, sizeof line, "  example (%s): row %llu ~ row %llu, similarity %.3f\n", e.stage.c_str(),
                  static_cast<unsigned long long>(e.row), static_cast<unsigned long long>(e.matched_row), e.similarity);
    out += line;
  }
  if (!r.commit.empty()) out += "committed " + r.commit + "\n";
  if (!r.view.empty()) out += "saved the kept rows as view '" + r.view + "'\n";
  return out;
}

}  // namespace gtn::curate
