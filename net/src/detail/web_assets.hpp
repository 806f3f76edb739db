#pragma once

// The dashboard's files, embedded at build time from net/web/ and Debian's libjs-chart.js by
// net/cmake/embed_web_assets.cmake (the generated .cpp stays in the build tree).

#include <span>
#include <string_view>

namespace pgc::net::detail {

struct web_asset {
  std::string_view path;  // the route, e.g. "/chart.js"; the page itself is "/"
  std::string_view content_type;
  std::string_view body;
};

std::span<const web_asset> web_assets() noexcept;

// Null when no asset has this route.
inline const web_asset* find_web_asset(std::string_view path) noexcept {
  for (const auto& asset : web_assets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace pgc::net::detail
