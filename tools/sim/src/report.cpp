#include "pgc/sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace pgc::sim {

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream out;
  out << std::setprecision(10) << v;
  return out.str();
}

std::string text(const cell& c) {
  if (const auto* i = std::get_if<std::int64_t>(&c)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&c)) return number(*d);
  return std::get<std::string>(c);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s)
    out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + '"';
}

boost::json::value json_cell(const cell& c) {
  if (const auto* i = std::get_if<std::int64_t>(&c)) return *i;
  if (const auto* d = std::get_if<double>(&c)) {
    if (std::isfinite(*d)) return *d;
    return nullptr;
  }
  return boost::json::string(std::get<std::string>(c));
}

void write_file(const std::filesystem::path& path, const std::string& content,
                report_files& files) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
  files.written.push_back(path);
}

// A gnuplot string literal in single quotes ('' is a quote inside).
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

// A shell word in single quotes.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

const table* find_table(const experiment_result& r, const std::string& name) {
  for (const auto& t : r.tables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// gnuplot reads "NaN" as a missing point.
std::string plot_number(const cell& c) {
  if (const auto* d = std::get_if<double>(&c); d != nullptr && !std::isfinite(*d)) return "NaN";
  return text(c);
}

}  // namespace

std::string to_csv(const table& t) {
  std::string out;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    out += (i ? "," : "") + csv_field(t.columns[i]);
  }
  out += '\n';
  for (const auto& row : t.rows) {
    for (std::size_t i = 0; i < row.size(); ++i)
      out += (i ? "," : "") + csv_field(text(row[i]));
    out += '\n';
  }
  return out;
}

boost::json::object to_json(const experiment_result& r) {
  boost::json::object out;
  out["experiment"] = r.name;
  boost::json::object params;
  for (const auto& [k, v] : r.parameters)
    params[k] = v;
  out["parameters"] = std::move(params);
  boost::json::object tables;
  for (const auto& t : r.tables) {
    boost::json::array rows;
    for (const auto& row : t.rows) {
      boost::json::object o;
      for (std::size_t i = 0; i < row.size() && i < t.columns.size(); ++i) {
        o[t.columns[i]] = json_cell(row[i]);
      }
      rows.push_back(std::move(o));
    }
    tables[t.name] = std::move(rows);
  }
  out["tables"] = std::move(tables);
  return out;
}

bool gnuplot_available() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

report_files write_report(const experiment_result& r, const std::filesystem::path& dir,
                          bool run_gnuplot) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  report_files files;
  for (const auto& t : r.tables)
    write_file(dir / (t.name + ".csv"), to_csv(t), files);
  write_file(dir / (r.name + ".json"), boost::json::serialize(to_json(r)) + "\n", files);
  files.gnuplot_found = run_gnuplot && gnuplot_available();

  for (const auto& p : r.plots) {
    const table* t = find_table(r, p.table);
    if (t == nullptr) {
      files.problems.push_back(p.name + ": no table " + p.table);
      continue;
    }
    // One data block per line of the plot, blocks separated by two blank lines (gnuplot index).
    std::string data;
    std::string commands;
    int index = 0;
    for (const auto& s : p.lines) {
      data += "# " + s.label + '\n';
      const std::size_t x = t->column(p.x);
      const std::size_t y = t->column(s.y);
      const bool bars = !s.low.empty();
      for (const auto& row : t->rows) {
        bool match = true;
        for (const auto& [col, value] : s.match)
          match = match && text(row[t->column(col)]) == value;
        if (!match) continue;
        data += text(row[x]) + ' ' + plot_number(row[y]);
        if (bars) {
          data +=
              ' ' + plot_number(row[t->column(s.low)]) + ' ' + plot_number(row[t->column(s.high)]);
        }
        data += '\n';
      }
      data += "\n\n";
      // Paths relative to the output directory, so the directory can be moved and replotted.
      const std::string dat = quoted(p.name + ".dat");
      commands += std::string(commands.empty() ? "plot " : ", \\\n     ") + dat + " index " +
                  std::to_string(index++) +
                  (bars ? " using 1:2:3:4 with yerrorlines" : " using 1:2 with linespoints") +
                  " title " + quoted(s.label);
    }
    std::ostringstream gp;
    gp << "# Generated by pgc sim --experiment " << r.name
       << "; in this directory, rerun with: gnuplot " << p.name << ".gp\n"
       << "set terminal svg size 800,500 dynamic enhanced font 'sans,12' background rgb 'white'\n"
       << "set output " << quoted(p.name + ".svg") << '\n'
       << "set title " << quoted(p.title) << " noenhanced\n"
       << "set xlabel " << quoted(p.xlabel) << " noenhanced\n"
       << "set ylabel " << quoted(p.ylabel) << " noenhanced\n"
       << "set grid\n"
       // Outside the plot area: the curves of these experiments fill every corner.
       << "set key outside bottom center horizontal noenhanced\n";
    if (p.log_y) gp << "set logscale y\nset format y '10^{%T}'\n";
    // A few integer x values (ell): one tic each instead of gnuplot's 0.5 steps.
    bool integer_x = !t->rows.empty();
    std::int64_t lo = std::numeric_limits<std::int64_t>::max();
    std::int64_t hi = std::numeric_limits<std::int64_t>::min();
    for (const auto& row : t->rows) {
      const auto* v = std::get_if<std::int64_t>(&row[t->column(p.x)]);
      integer_x = integer_x && v != nullptr;
      if (v == nullptr) break;
      lo = std::min(lo, *v);
      hi = std::max(hi, *v);
    }
    if (integer_x && hi - lo <= 12) {
      gp << "set xtics 1\nset xrange [" << static_cast<double>(lo) - 0.25 << ":"
         << static_cast<double>(hi) + 0.25 << "]\n";
    }
    gp << commands << '\n';
    write_file(dir / (p.name + ".dat"), data, files);
    const auto script = dir / (p.name + ".gp");
    write_file(script, gp.str(), files);
    if (!files.gnuplot_found) continue;
    const std::string command = "cd " + shell_quoted(dir.string()) + " && gnuplot " +
                                shell_quoted(p.name + ".gp") + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) {
      files.problems.push_back(p.name + ": gnuplot failed on " + script.string());
    } else {
      files.written.push_back(dir / (p.name + ".svg"));
    }
  }
  return files;
}

}  // namespace pgc::sim
