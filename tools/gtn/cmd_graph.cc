// gtn graph ingest-ogb SRC DST [--split NAME] [--undirected] [--csc] [--int32] [--chunk-bytes N]
// [--chunk-compression C]: an OGB node-property dataset in its raw on-disk format (the
// raw/ and split/ folders it unpacks to) -> a graph dataset (docs/graph.md), one commit.
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/graph.h"

namespace gtn::cli {
namespace {

struct IngestArgs {
  std::string src, dst, split, message, chunk_compression = "none";
  bool undirected = false, csc = false, int32 = false, quiet = false;
  uint64_t chunk_bytes = 8ull << 20;
};

Status run_ingest(const IngestArgs& a) {
  graph::OgbIngestOptions o;
  o.split = a.split;
  o.to_undirected = a.undirected;
  o.csc = a.csc;
  o.int32_ids = a.int32;
  o.chunk_target_bytes = a.chunk_bytes;
  GTN_ASSIGN_OR_RETURN(o.chunk_compression, parse_compression(a.chunk_compression));
  o.message = a.message;
  if (!a.quiet) {
    o.progress = [last = std::string()](std::string_view stage, uint64_t done, uint64_t total) mutable {
      if (stage != last) {
        std::cerr << "  " << stage << "\n";
        last = std::string(stage);
      }
    };
  }
  std::error_code ec;
  if (std::filesystem::exists(a.dst, ec)) {
    return Status::AlreadyExists(a.dst + " exists; ingest-ogb writes a new dataset");
  }
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(a.dst));
  auto report = graph::ingest_ogb(a.src, *ds, o);
  if (!report.ok()) {
    ds.reset();
    std::filesystem::remove_all(a.dst, ec);
    return report.status();
  }
  GTN_RETURN_IF_ERROR(ds->close());
  const graph::OgbIngestReport& r = *report;
  std::cout << "ingested " << a.src << " -> " << a.dst << "\n"
            << "  nodes " << r.nodes << ", edges " << r.input_edges << " in edge.csv.gz, " << r.stored_edges
            << " stored in neighbors\n"
            << "  features " << r.features << ", edge features " << r.edge_features << ", classes " << r.classes
            << "\n"
            << "  split '" << r.split << "': train " << r.train << ", valid " << r.valid << ", test " << r.test << "\n"
            << "  tensors";
  for (const auto& t : r.tensors) std::cout << " " << t;
  std::cout << "\n  commit " << r.commit << "\n";
  return Status::OK();
}

void add(CLI::App& app) {
  CLI::App* graph = app.add_subcommand("graph", "Graph datasets (docs/graph.md)");
  graph->require_subcommand(1);
  auto a = std::make_shared<IngestArgs>();
  CLI::App* ing = graph->add_subcommand("ingest-ogb", "Ingest an OGB node-property dataset from its raw files");
  ing->add_option("src", a->src, "Folder holding raw/ and split/ (an unpacked OGB dataset)")->required();
  ing->add_option("dst", a->dst, "New dataset folder")->required();
  ing->add_option("--split", a->split, "Folder under split/ to read (default: the only one)");
  ing->add_flag("--undirected", a->undirected, "Add reverse edges and merge duplicates (to_undirected)");
  ing->add_flag("--csc", a->csc, "Also write in_neighbors (each node's in-neighbours)");
  ing->add_flag("--int32", a->int32, "Store neighbour ids as int32");
  ing->add_option("--chunk-bytes", a->chunk_bytes, "Target chunk size of every tensor (default 8 MiB)")
      ->check(CLI::PositiveNumber);
  ing->add_option("--chunk-compression", a->chunk_compression, "none (default), lz4 or zstd");
  ing->add_option("-m,--message", a->message, "Commit message");
  ing->add_flag("-q,--quiet", a->quiet, "No progress lines");
  ing->callback([a] { exit_on_error(run_ingest(*a)); });
}

RegisterCommand reg(25, add);

}  // namespace
}  // namespace gtn::cli
