#include "pgc/coding/assignment.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

using core::input_error;

std::string worker_name(std::size_t i) {
  return "worker " + std::to_string(i);
}

}  // namespace

assignment::assignment(int chunks, std::vector<std::vector<int>> lists)
    : chunks_(chunks), lists_(std::move(lists)) {
  if (lists_.empty()) throw input_error("an assignment needs at least one worker");
  if (chunks_ < 1) throw input_error("an assignment needs at least one chunk");

  std::vector<int> degree(static_cast<std::size_t>(chunks_), 0);
  std::vector<int> seen_in(static_cast<std::size_t>(chunks_), -1);
  for (std::size_t w = 0; w < lists_.size(); ++w) {
    for (std::size_t p = 0; p < lists_[w].size(); ++p) {
      const int c = lists_[w][p];
      if (c < 0 || c >= chunks_) {
        throw input_error(worker_name(w) + ", position " + std::to_string(p) + ": chunk id " +
                          std::to_string(c) + " is out of range [0, " + std::to_string(chunks_) +
                          ")");
      }
      auto& seen = seen_in[static_cast<std::size_t>(c)];
      if (seen == static_cast<int>(w)) {
        throw input_error(worker_name(w) + " holds chunk " + std::to_string(c) + " twice");
      }
      seen = static_cast<int>(w);
      ++degree[static_cast<std::size_t>(c)];
    }
    total_load_ += static_cast<std::int64_t>(lists_[w].size());
  }
  for (int c = 0; c < chunks_; ++c) {
    if (degree[static_cast<std::size_t>(c)] == 0) {
      throw input_error("chunk " + std::to_string(c) + " is held by no worker");
    }
  }
  min_replication_ = *std::min_element(degree.begin(), degree.end());

  holder_offsets_.assign(static_cast<std::size_t>(chunks_) + 1, 0);
  std::partial_sum(degree.begin(), degree.end(), holder_offsets_.begin() + 1);
  holders_.resize(static_cast<std::size_t>(total_load_));
  std::vector<int> fill(holder_offsets_.begin(), holder_offsets_.end() - 1);
  for (std::size_t w = 0; w < lists_.size(); ++w) {
    for (std::size_t p = 0; p < lists_[w].size(); ++p) {
      auto& slot = fill[static_cast<std::size_t>(lists_[w][p])];
      holders_[static_cast<std::size_t>(slot++)] = {static_cast<int>(w), static_cast<int>(p)};
    }
  }
}

std::span<const holder> assignment::holders(int chunk) const {
  if (chunk < 0 || chunk >= chunks_) throw std::out_of_range("chunk id out of range");
  const auto b = static_cast<std::size_t>(holder_offsets_[static_cast<std::size_t>(chunk)]);
  const auto e = static_cast<std::size_t>(holder_offsets_[static_cast<std::size_t>(chunk) + 1]);
  return std::span<const holder>(holders_).subspan(b, e - b);
}

bool assignment::is_regular() const noexcept {
  if (chunks_ != workers()) return false;
  const auto d = lists_.front().size();
  if (d == 0) return false;
  for (const auto& l : lists_) {
    if (l.size() != d) return false;
  }
  for (int c = 0; c < chunks_; ++c) {
    if (static_cast<std::size_t>(holder_offsets_[static_cast<std::size_t>(c) + 1] -
                                 holder_offsets_[static_cast<std::size_t>(c)]) != d) {
      return false;
    }
  }
  return true;
}

void assignment::check_ell(int ell) const {
  if (ell < 1) throw input_error("ell must be at least 1, got " + std::to_string(ell));
  if (ell > min_replication_) {
    int worst = 0;
    for (int c = 0; c < chunks_; ++c) {
      if (replication(c) == min_replication_) {
        worst = c;
        break;
      }
    }
    throw input_error("ell = " + std::to_string(ell) + " is larger than the replication of chunk " +
                      std::to_string(worst) + " (held by " + std::to_string(min_replication_) +
                      " worker" + (min_replication_ == 1 ? "" : "s") +
                      "): every chunk needs at least ell holders");
  }
}

assignment assignment::reordered(std::vector<std::vector<int>> lists) const {
  if (lists.size() != lists_.size()) {
    throw input_error("reordering has " + std::to_string(lists.size()) + " lists, expected " +
                      std::to_string(lists_.size()));
  }
  for (std::size_t w = 0; w < lists.size(); ++w) {
    auto a = lists[w];
    auto b = lists_[w];
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      throw input_error("new list of " + worker_name(w) + " is not a permutation of its old one");
  }
  return assignment(chunks_, std::move(lists));
}

assignment cyclic(int workers, int load, int chunks) {
  if (workers < 1) throw input_error("--workers must be at least 1");
  if (chunks < 1) throw input_error("--chunks must be at least 1");
  if (load < 1 || load > chunks) {
    throw input_error("--load must be between 1 and the number of chunks (" +
                      std::to_string(chunks) + "), got " + std::to_string(load));
  }
  std::vector<std::vector<int>> lists(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    const auto first = static_cast<int>(static_cast<std::int64_t>(w) * chunks / workers);
    for (int k = 0; k < load; ++k)
      lists[static_cast<std::size_t>(w)].push_back((first + k) % chunks);
  }
  return assignment(chunks, std::move(lists));
}

assignment fractional_repetition(int workers, int load) {
  if (workers < 1) throw input_error("--workers must be at least 1");
  if (load < 1 || load > workers || workers % load != 0) {
    throw input_error("fractional repetition needs --load to divide --workers (" +
                      std::to_string(workers) + "), got " + std::to_string(load));
  }
  std::vector<std::vector<int>> lists(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    const int group = w / load;
    for (int k = 0; k < load; ++k)
      lists[static_cast<std::size_t>(w)].push_back(group * load + k);
  }
  return assignment(workers, std::move(lists));
}

assignment random_regular(int workers, int load, std::uint64_t seed) {
  if (workers < 1) throw input_error("--workers must be at least 1");
  if (load < 1 || load > workers) {
    throw input_error("--load must be between 1 and --workers (" + std::to_string(workers) +
                      "), got " + std::to_string(load));
  }
  // Start from the cyclic graph and mix it with random double-edge swaps (w1,c1),(w2,c2) ->
  // (w1,c2),(w2,c1) that keep it simple; degrees never change, so the result stays regular.
  std::vector<std::set<int>> held(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    for (int k = 0; k < load; ++k)
      held[static_cast<std::size_t>(w)].insert((w + k) % workers);
  }
  std::vector<std::pair<int, int>> edges;
  for (int w = 0; w < workers; ++w) {
    for (int c : held[static_cast<std::size_t>(w)])
      edges.emplace_back(w, c);
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, edges.size() - 1);
  const std::size_t swaps = 10 * edges.size() + 100;
  for (std::size_t t = 0; t < swaps; ++t) {
    auto& [w1, c1] = edges[pick(rng)];
    auto& [w2, c2] = edges[pick(rng)];
    if (w1 == w2 || c1 == c2) continue;
    auto& h1 = held[static_cast<std::size_t>(w1)];
    auto& h2 = held[static_cast<std::size_t>(w2)];
    if (h1.count(c2) != 0 || h2.count(c1) != 0) continue;
    h1.erase(c1);
    h2.erase(c2);
    h1.insert(c2);
    h2.insert(c1);
    std::swap(c1, c2);
  }
  std::vector<std::vector<int>> lists(static_cast<std::size_t>(workers));
  for (std::size_t w = 0; w < lists.size(); ++w)
    lists[w].assign(held[w].begin(), held[w].end());
  return assignment(workers, std::move(lists));
}

assignment parse_assignment(std::string_view text, int chunks) {
  std::vector<std::vector<int>> lists;
  int largest = -1;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);

    std::vector<int> list;
    bool any = false;
    bool dash = false;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        ++i;
      if (i == line.size()) break;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r')
        ++j;
      const std::string_view token = line.substr(i, j - i);
      i = j;
      any = true;
      if (token == "-") {
        dash = true;
        continue;
      }
      int value = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec != std::errc{} || ptr != token.data() + token.size() || value < 0) {
        throw input_error("assignment line " + std::to_string(line_no) + ": '" +
                          std::string(token) + "' is not a chunk id (a non-negative integer)");
      }
      list.push_back(value);
      largest = std::max(largest, value);
    }
    if (!any) continue;
    if (dash && !list.empty()) {
      throw input_error("assignment line " + std::to_string(line_no) +
                        ": '-' (no chunks) cannot be mixed with chunk ids");
    }
    lists.push_back(std::move(list));
  }
  if (lists.empty()) throw input_error("assignment has no workers (no non-comment lines)");
  if (chunks <= 0) chunks = largest + 1;
  return assignment(chunks, std::move(lists));
}

std::string format_assignment(const assignment& a) {
  std::ostringstream out;
  for (const auto& list : a.lists()) {
    if (list.empty()) out << '-';
    for (std::size_t p = 0; p < list.size(); ++p)
      out << (p ? " " : "") << list[p];
    out << '\n';
  }
  return out.str();
}

}  // namespace pgc::coding
