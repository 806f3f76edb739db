#include "options/dashboard_options.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {

net::endpoint dashboard_endpoint(const std::string& text) {
  const bool bare_port = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  try {
    return net::parse_endpoint(bare_port ? "127.0.0.1:" + text : text);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--dashboard: ") + e.what());
  }
}

void dashboard_options::add_to(CLI::App& app) {
  app.add_option("--dashboard", dashboard,
                 "The PS serves the live dashboard (HTTP + WebSocket) on ADDR:PORT, or on "
                 "127.0.0.1:PORT for a bare PORT (port 0: any free; pgc launch --compare: both "
                 "runs on the same port)");
  app.add_option("--dashboard-token-file", token_file,
                 "The dashboard requires the token in this file on every request");
  app.add_option("--baseline-summary", baseline_summary,
                 "Show this --summary file's iteration times on the dashboard beside ours");
}

std::vector<std::string> dashboard_options::arguments() const {
  std::vector<std::string> a;
  append_if_set(a, "--dashboard", dashboard);
  append_if_set(a, "--dashboard-token-file", token_file);
  append_if_set(a, "--baseline-summary", baseline_summary);
  return a;
}

void dashboard_options::validate() const {
  (void)endpoint();
  (void)token();
  (void)baseline();
}

std::optional<net::endpoint> dashboard_options::endpoint() const {
  if (dashboard.empty()) return std::nullopt;
  return dashboard_endpoint(dashboard);
}

std::string dashboard_options::token() const {
  if (token_file.empty()) return {};
  std::ifstream in(token_file);
  if (!in) throw core::input_error("cannot read --dashboard-token-file '" + token_file + "'");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  if (token.empty()) {
    throw core::input_error("--dashboard-token-file '" + token_file + "' is empty");
  }
  return token;
}

std::optional<std::pair<std::string, std::vector<double>>> dashboard_options::baseline() const {
  if (baseline_summary.empty()) return std::nullopt;
  const std::string& path = baseline_summary;
  std::ifstream in(path);
  if (!in) throw core::input_error("cannot read --baseline-summary file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("per_iteration") ||
      !v.at("per_iteration").is_array()) {
    throw core::input_error("--baseline-summary '" + path + "' is not a pgc --summary file");
  }
  std::vector<double> seconds;
  for (const auto& it : v.at("per_iteration").as_array()) {
    const auto* s = it.is_object() ? it.as_object().if_contains("seconds") : nullptr;
    if (s == nullptr || !s->is_number()) {
      throw core::input_error("--baseline-summary '" + path + "' is not a pgc --summary file");
    }
    seconds.push_back(s->to_number<double>());
  }
  const auto* scheme = v.as_object().if_contains("scheme");
  return std::pair{scheme && scheme->is_string() ? std::string(scheme->as_string()) : "baseline",
                   std::move(seconds)};
}

}  // namespace pgc::tools
