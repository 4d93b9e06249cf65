// plot_summary(): a DatasetSummary's distributions drawn with cairo as a grid of panels
// (value histograms, class bars, text lengths, sample sizes, chunk file sizes), each with
// a title, tick labels and axis labels, written as a PNG file.
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gtn/summary.h"

namespace gtn {
namespace {

constexpr int kPanelWidth = 420;
constexpr int kPanelHeight = 280;
constexpr int kHeaderHeight = 44;
constexpr int kMaxColumns = 3;
constexpr size_t kMaxPanels = 60;
constexpr size_t kMaxBars = 25;
constexpr const char* kFont = "DejaVu Sans";

enum class Units { kNumber, kBytes };

struct Panel {
  std::string title;
  std::string x_label, y_label;
  Units x_units = Units::kNumber;
  Histogram histogram;                             // a histogram panel, or
  std::vector<std::pair<std::string, uint64_t>> bars;  // a bar panel (horizontal bars)
};

std::string format_number(double v, Units units) {
  char buf[32];
  if (units == Units::kBytes) {
    static const char* names[] = {"B", "K", "M", "G", "T"};
    int u = 0;
    while (std::fabs(v) >= 1024 && u < 4) {
      v /= 1024;
      ++u;
    }
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, names[u]);
    return buf;
  }
  if (v == std::round(v) && std::fabs(v) < 1e6) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

bool histogram_has_counts(const Histogram& h) {
  for (uint64_t c : h.counts) {
    if (c) return true;
  }
  return false;
}

// More than one bin holds counts: a distribution worth drawing.
bool histogram_varies(const Histogram& h) {
  int nonzero = 0;
  for (uint64_t c : h.counts) nonzero += c != 0;
  return nonzero > 1;
}

std::vector<Panel> panels_of(const DatasetSummary& s) {
  std::vector<Panel> panels;
  for (const auto& t : s.tensors) {
    if (t.htype == "class_label" && t.labels > 0) {
      Panel p;
      std::vector<ClassCount> classes = t.class_counts;
      p.title = t.name + ": classes";
      if (classes.size() > kMaxBars) {
        std::stable_sort(classes.begin(), classes.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
        classes.resize(kMaxBars);
        p.title += " (top " + std::to_string(kMaxBars) + " of " + std::to_string(t.class_counts.size()) + ")";
      }
      for (const auto& c : classes) p.bars.emplace_back(c.name, c.count);
      p.x_label = "labels";
      panels.push_back(std::move(p));
    } else if (t.values && histogram_has_counts(t.values->histogram)) {
      Panel p;
      p.title = t.name + ": values";
      p.histogram = t.values->histogram;
      p.x_label = "value";
      p.y_label = "elements";
      panels.push_back(std::move(p));
    }
    if (t.text_lengths && histogram_has_counts(t.text_lengths->histogram)) {
      Panel p;
      p.title = t.name + ": text length";
      p.histogram = t.text_lengths->histogram;
      p.x_label = "characters";
      p.y_label = "samples";
      panels.push_back(std::move(p));
    } else if (histogram_varies(t.sample_sizes)) {
      Panel p;
      p.title = t.name + ": sample size";
      p.histogram = t.sample_sizes;
      const bool bytes_like = dtype_is_bytes_like(t.dtype);
      p.x_label = bytes_like ? "bytes" : "elements";
      p.x_units = bytes_like ? Units::kBytes : Units::kNumber;
      p.y_label = "samples";
      panels.push_back(std::move(p));
    }
    if (t.storage.num_chunks > 1) {
      Panel p;
      p.title = t.name + ": chunk file size";
      p.histogram = t.storage.file_bytes;
      p.x_label = "bytes";
      p.x_units = Units::kBytes;
      p.y_label = "chunks";
      panels.push_back(std::move(p));
    }
  }
  if (panels.size() > kMaxPanels) panels.resize(kMaxPanels);
  return panels;
}

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Draws `s` with its reference point at (x, y); align 0 left, 0.5 centre, 1 right.
void draw_text(cairo_t* cr, const std::string& s, double x, double y, double align = 0) {
  cairo_move_to(cr, x - align * text_width(cr, s), y);
  cairo_show_text(cr, s.c_str());
}

// `s` shortened with "..." to fit `width` pixels.
std::string fit(cairo_t* cr, std::string s, double width) {
  if (text_width(cr, s) <= width) return s;
  while (!s.empty() && text_width(cr, s + "...") > width) s.pop_back();
  return s + "...";
}

void draw_histogram(cairo_t* cr, const Panel& p, double x0, double y0, double w, double h) {
  const Histogram& hist = p.histogram;
  uint64_t top = 1;
  for (uint64_t c : hist.counts) top = std::max(top, c);
  const double lo = hist.edges.front(), hi = hist.edges.back();
  const double span = hi > lo ? hi - lo : 1;
  cairo_set_source_rgb(cr, 0.27, 0.51, 0.71);
  for (size_t i = 0; i < hist.counts.size(); ++i) {
    if (hist.counts[i] == 0) continue;
    const double bx0 = x0 + (hist.edges[i] - lo) / span * w;
    const double bx1 = x0 + (hist.edges[i + 1] - lo) / span * w;
    const double bh = static_cast<double>(hist.counts[i]) / static_cast<double>(top) * h;
    cairo_rectangle(cr, bx0, y0 + h - bh, std::max(1.0, bx1 - bx0 - (bx1 - bx0 > 3 ? 1 : 0)), bh);
  }
  cairo_fill(cr);

  // Axes, ticks and tick labels.
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_move_to(cr, x0 - 0.5, y0);
  cairo_line_to(cr, x0 - 0.5, y0 + h + 0.5);
  cairo_line_to(cr, x0 + w, y0 + h + 0.5);
  cairo_stroke(cr);
  set_font(cr, 10);
  // Bins of one integer each (class indices, small counts): label bin centres with their
  // value; otherwise label five evenly spaced positions.
  bool integer_edges = true, unit_bins = hist.counts.size() <= 64;
  for (size_t i = 0; i + 1 < hist.edges.size(); ++i) {
    integer_edges = integer_edges && hist.edges[i] == std::floor(hist.edges[i]);
    unit_bins = unit_bins && hist.edges[i + 1] - hist.edges[i] == 1;
  }
  unit_bins = unit_bins && integer_edges;
  const size_t bins = hist.counts.size();
  const int ticks = unit_bins ? static_cast<int>(std::min<size_t>(bins, 6)) : 5;
  for (int k = 0; k < ticks; ++k) {
    double value, x;
    double align = 0.5;
    if (unit_bins) {
      const size_t b = ticks == 1 ? 0 : k * (bins - 1) / (ticks - 1);
      value = hist.edges[b];
      x = x0 + (value + 0.5 - lo) / span * w;
    } else {
      value = lo + span * k / 4;
      if (integer_edges) value = std::round(value);
      x = x0 + (value - lo) / span * w;
      align = k == 0 ? 0 : (k == 4 ? 1 : 0.5);
    }
    cairo_move_to(cr, x, y0 + h);
    cairo_line_to(cr, x, y0 + h + 4);
    cairo_stroke(cr);
    draw_text(cr, format_number(value, p.x_units), x, y0 + h + 15, align);
  }
  for (uint64_t tick : {uint64_t{0}, (top + 1) / 2, top}) {
    const double y = y0 + h - h * static_cast<double>(tick) / static_cast<double>(top);
    cairo_move_to(cr, x0 - 4, y);
    cairo_line_to(cr, x0, y);
    cairo_stroke(cr);
    draw_text(cr, format_number(static_cast<double>(tick), Units::kNumber), x0 - 6, y + 4, 1);
  }
  set_font(cr, 11);
  draw_text(cr, p.x_label, x0 + w / 2, y0 + h + 32, 0.5);
  cairo_save(cr);
  cairo_move_to(cr, x0 - 44, y0 + h / 2 + text_width(cr, p.y_label) / 2);
  cairo_rotate(cr, -M_PI / 2);
  cairo_show_text(cr, p.y_label.c_str());
  cairo_restore(cr);
}

void draw_bars(cairo_t* cr, const Panel& p, double x0, double y0, double w, double h) {
  uint64_t top = 1;
  for (const auto& b : p.bars) top = std::max(top, b.second);
  const double label_w = 110;
  const double bx = x0 - 40 + label_w, bw = w + 40 - label_w - 50;
  const double row = h / static_cast<double>(p.bars.size());
  const double font = std::clamp(row * 0.8, 6.0, 11.0);
  for (size_t i = 0; i < p.bars.size(); ++i) {
    const double y = y0 + row * static_cast<double>(i);
    const double len = static_cast<double>(p.bars[i].second) / static_cast<double>(top) * bw;
    cairo_set_source_rgb(cr, 0.87, 0.52, 0.2);
    cairo_rectangle(cr, bx, y + row * 0.12, std::max(len, p.bars[i].second ? 1.0 : 0.0), row * 0.76);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    set_font(cr, font);
    draw_text(cr, fit(cr, p.bars[i].first, label_w - 8), bx - 4, y + row / 2 + font * 0.35, 1);
    draw_text(cr, std::to_string(p.bars[i].second), bx + len + 3, y + row / 2 + font * 0.35);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_move_to(cr, bx - 0.5, y0);
  cairo_line_to(cr, bx - 0.5, y0 + h);
  cairo_stroke(cr);
  set_font(cr, 11);
  draw_text(cr, p.x_label, bx + bw / 2, y0 + h + 32, 0.5);
}

void draw_panel(cairo_t* cr, const Panel& p, double px, double py) {
  cairo_set_source_rgb(cr, 0.97, 0.97, 0.97);
  cairo_rectangle(cr, px + 4, py + 4, kPanelWidth - 8, kPanelHeight - 8);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  set_font(cr, 13, true);
  draw_text(cr, fit(cr, p.title, kPanelWidth - 24), px + kPanelWidth / 2.0, py + 24, 0.5);
  const double x0 = px + 64, y0 = py + 38, w = kPanelWidth - 64 - 22, h = kPanelHeight - 38 - 50;
  if (!p.bars.empty()) {
    draw_bars(cr, p, x0, y0, w, h);
  } else {
    draw_histogram(cr, p, x0, y0, w, h);
  }
}

}  // namespace

Status plot_summary(const DatasetSummary& summary, const std::string& png_path) {
  const std::vector<Panel> panels = panels_of(summary);
  const int cols = std::max<int>(1, std::min<int>(kMaxColumns, static_cast<int>(panels.size())));
  const int rows = static_cast<int>((panels.size() + cols - 1) / cols);
  const int width = cols * kPanelWidth, height = kHeaderHeight + std::max(rows, 1) * kPanelHeight;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  std::string header = summary.is_view ? "View of " + std::to_string(summary.rows) + " rows of " : "";
  header += std::to_string(summary.dataset_rows) + " rows at " + (summary.version.empty() ? "(no commit)" : summary.version);
  cairo_set_source_rgb(cr, 0, 0, 0);
  set_font(cr, 16, true);
  draw_text(cr, fit(cr, header, width - 20), 12, 28);
  if (panels.empty()) {
    set_font(cr, 13);
    draw_text(cr, "no distributions to draw (no rows, or nothing varies)", width / 2.0,
              kHeaderHeight + kPanelHeight / 2.0, 0.5);
  }
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(cr, panels[i], static_cast<double>(i % cols) * kPanelWidth,
               kHeaderHeight + static_cast<double>(i / cols) * kPanelHeight);
  }
  cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_write_to_png(surface, png_path.c_str());
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    return Status::IOError("cannot write the summary plot to " + png_path + ": " + cairo_status_to_string(status));
  }
  return Status::OK();
}

}  // namespace gtn
