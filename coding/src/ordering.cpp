#include "pgc/coding/ordering.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

using core::input_error;

// Sum of the k smallest values; reorders `values`.
std::int64_t sum_of_smallest(std::vector<std::int64_t>& values, int k) {
  const auto kth = values.begin() + k;
  if (kth != values.end()) std::nth_element(values.begin(), kth, values.end());
  return std::accumulate(values.begin(), kth, std::int64_t{0});
}

// v_j = sum of the |H_j| - ell + 1 smallest r_i(j) is the least work the cluster must lose to keep
// chunk j below ell copies, so Q_max = 1 + total - min_j v_j.
//
// The local search ranks a chunk by its key: v_j, then its r_i(j) sorted increasingly,
// compared lexicographically; and an order by its chunk keys sorted increasingly, compared
// lexicographically (leximin). The first key is the weakest chunk's, so a better order never has
// a smaller min_j v_j, that is a larger Q_max. This refines the plain objective (min_j v_j, then
// the number of chunks at it): the r tie-break counts as progress a swap that moves a bottleneck
// chunk earlier in one list while its v_j does not change yet. Without it a chunk that sits last
// in more lists than |H_j| - ell + 1 could never be lifted, since no single swap improves the
// plain objective; on random regular orders with N = 5000, delta = 6, ell = 3 that blocked the
// search at its start (Q_max 29997, while it now reaches 29991). Every accepted swap is a strict
// leximin improvement, so the search cannot cycle.
struct chunk_key {
  std::int64_t v;
  std::span<const int> r;  // sorted increasingly
};

bool operator<(const chunk_key& a, const chunk_key& b) {
  if (a.v != b.v) return a.v < b.v;
  return std::lexicographical_compare(a.r.begin(), a.r.end(), b.r.begin(), b.r.end());
}
bool operator==(const chunk_key& a, const chunk_key& b) {
  return a.v == b.v && std::equal(a.r.begin(), a.r.end(), b.r.begin(), b.r.end());
}

// A swap replaces the keys of two chunks. The sorted key sequences first differ at the smallest
// key whose multiplicity changes, and the swap improves the order if that multiplicity drops.
bool leximin_better(const chunk_key& old_a, const chunk_key& old_b, const chunk_key& new_a,
                    const chunk_key& new_b) {
  std::array<std::pair<chunk_key, int>, 4> change{
      {{old_a, -1}, {old_b, -1}, {new_a, +1}, {new_b, +1}}};
  std::sort(change.begin(), change.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t i = 0; i < change.size();) {
    int net = 0;
    std::size_t j = i;
    for (; j < change.size() && change[j].first == change[i].first; ++j) {
      net += change[j].second;
    }
    if (net != 0) return net < 0;
    i = j;
  }
  return false;
}

// Every chunk's key flattened as (v, r...), sorted: orders compare by these lexicographically.
using ranking = std::vector<std::vector<std::int64_t>>;

// Incremental state of the local search. A copy of chunk c on worker w is an "edge"; swapping
// two positions in one list moves two edges, so only their two chunks' keys change.
class swap_search {
 public:
  swap_search(const assignment& tasks, int ell, std::mt19937_64& rng)
      : tasks_(tasks), ell_(ell), rng_(rng) {
    const auto m = static_cast<std::size_t>(tasks.chunks());
    const auto copies = static_cast<std::size_t>(tasks.total_load());
    edge_worker_.resize(copies);
    edge_chunk_.resize(copies);
    position_.resize(copies);
    sorted_r_.resize(copies);
    chunk_offset_.assign(m + 1, 0);
    for (int c = 0; c < tasks.chunks(); ++c) {
      chunk_offset_[static_cast<std::size_t>(c) + 1] =
          chunk_offset_[static_cast<std::size_t>(c)] + tasks.replication(c);
    }
    slots_.resize(static_cast<std::size_t>(tasks.workers()));
    for (int w = 0; w < tasks.workers(); ++w) {
      slots_[static_cast<std::size_t>(w)].resize(static_cast<std::size_t>(tasks.load(w)));
    }
    // Edges are numbered chunk by chunk, so the copies of chunk c are a contiguous range.
    for (int c = 0; c < tasks.chunks(); ++c) {
      int e = chunk_offset_[static_cast<std::size_t>(c)];
      for (const holder& h : tasks.holders(c)) {
        const auto ue = static_cast<std::size_t>(e);
        edge_worker_[ue] = h.worker;
        edge_chunk_[ue] = c;
        position_[ue] = h.position;
        slots_[static_cast<std::size_t>(h.worker)][static_cast<std::size_t>(h.position)] = e;
        ++e;
      }
    }
    v_.resize(m);
    for (int c = 0; c < tasks.chunks(); ++c) {
      const std::int64_t v = compute_key(c, scratch_a_);
      std::copy(scratch_a_.begin(), scratch_a_.end(), sorted_r_.begin() + offset(c));
      v_[static_cast<std::size_t>(c)] = v;
      ++v_count_[v];
    }
  }

  // First-improvement descent. Cheap passes that only try to move a bottleneck chunk earlier
  // (the only swaps that can raise min_j v_j or thin out the chunks at it) alternate with full
  // passes over every swap, which run only when the cheap pass is stuck; a full pass without an
  // improvement is a local optimum. `budget` counts swap evaluations and bounds the work.
  void descend(std::int64_t& budget) {
    while (budget > 0) {
      if (lift_bottleneck(budget)) continue;
      if (!sweep_all(budget)) return;
    }
  }

  ranking rank() const {
    ranking out(v_.size());
    for (int c = 0; c < tasks_.chunks(); ++c) {
      auto& key = out[static_cast<std::size_t>(c)];
      key.push_back(v_[static_cast<std::size_t>(c)]);
      for (const int r : key_of(c).r)
        key.push_back(r);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::vector<int>> lists() const {
    std::vector<std::vector<int>> out(slots_.size());
    for (std::size_t w = 0; w < slots_.size(); ++w) {
      for (const int e : slots_[w])
        out[w].push_back(edge_chunk_[static_cast<std::size_t>(e)]);
    }
    return out;
  }

 private:
  std::ptrdiff_t offset(int c) const { return chunk_offset_[static_cast<std::size_t>(c)]; }

  chunk_key key_of(int c) const {
    return {v_[static_cast<std::size_t>(c)], std::span<const int>(sorted_r_).subspan(
                                                 static_cast<std::size_t>(offset(c)),
                                                 static_cast<std::size_t>(tasks_.replication(c)))};
  }

  // Chunk c's r values at the current positions, sorted, into `r`; returns v.
  std::int64_t compute_key(int c, std::vector<int>& r) const {
    r.clear();
    for (auto e = offset(c); e < offset(c + 1); ++e) {
      const auto ue = static_cast<std::size_t>(e);
      r.push_back(tasks_.load(edge_worker_[ue]) - position_[ue]);
    }
    std::sort(r.begin(), r.end());
    const auto k = static_cast<std::ptrdiff_t>(r.size()) - ell_ + 1;
    return std::accumulate(r.begin(), r.begin() + k, std::int64_t{0});
  }

  bool lift_bottleneck(std::int64_t& budget) {
    const std::int64_t min_v = v_count_.begin()->first;
    bottleneck_.clear();
    for (int c = 0; c < tasks_.chunks(); ++c) {
      if (v_[static_cast<std::size_t>(c)] == min_v) bottleneck_.push_back(c);
    }
    std::shuffle(bottleneck_.begin(), bottleneck_.end(), rng_);
    bool improved = false;
    for (const int c : bottleneck_) {
      if (v_[static_cast<std::size_t>(c)] != v_count_.begin()->first) continue;  // lifted
      copies_.resize(static_cast<std::size_t>(tasks_.replication(c)));
      std::iota(copies_.begin(), copies_.end(), static_cast<int>(offset(c)));
      std::shuffle(copies_.begin(), copies_.end(), rng_);
      bool lifted = false;
      for (auto e = copies_.begin(); e != copies_.end() && !lifted; ++e) {
        const int w = edge_worker_[static_cast<std::size_t>(*e)];
        const int p = position_[static_cast<std::size_t>(*e)];
        for (int q = p - 1; q >= 0 && !lifted; --q) {
          if (budget-- <= 0) return improved;
          lifted = try_swap(w, q, p);
        }
      }
      improved = improved || lifted;
    }
    return improved;
  }

  bool sweep_all(std::int64_t& budget) {
    workers_.resize(slots_.size());
    std::iota(workers_.begin(), workers_.end(), 0);
    std::shuffle(workers_.begin(), workers_.end(), rng_);
    bool improved = false;
    for (const int w : workers_) {
      const int load = static_cast<int>(slots_[static_cast<std::size_t>(w)].size());
      for (int p = 0; p < load; ++p) {
        for (int q = p + 1; q < load; ++q) {
          if (budget-- <= 0) return improved;
          improved = try_swap(w, p, q) || improved;
        }
      }
    }
    return improved;
  }

  void swap_positions(int w, int p, int q) {
    auto& slots = slots_[static_cast<std::size_t>(w)];
    std::swap(slots[static_cast<std::size_t>(p)], slots[static_cast<std::size_t>(q)]);
    position_[static_cast<std::size_t>(slots[static_cast<std::size_t>(p)])] = p;
    position_[static_cast<std::size_t>(slots[static_cast<std::size_t>(q)])] = q;
  }

  void set_key(int c, std::int64_t v, const std::vector<int>& r) {
    auto& old = v_[static_cast<std::size_t>(c)];
    if (const auto it = v_count_.find(old); --it->second == 0) v_count_.erase(it);
    old = v;
    ++v_count_[v];
    std::copy(r.begin(), r.end(), sorted_r_.begin() + offset(c));
  }

  // Swaps positions p and q of worker w and keeps the swap only if it is a strict improvement.
  bool try_swap(int w, int p, int q) {
    const auto& slots = slots_[static_cast<std::size_t>(w)];
    const int a = edge_chunk_[static_cast<std::size_t>(slots[static_cast<std::size_t>(p)])];
    const int b = edge_chunk_[static_cast<std::size_t>(slots[static_cast<std::size_t>(q)])];
    swap_positions(w, p, q);
    const std::int64_t new_a = compute_key(a, scratch_a_);
    const std::int64_t new_b = compute_key(b, scratch_b_);
    if (leximin_better(key_of(a), key_of(b), {new_a, scratch_a_}, {new_b, scratch_b_})) {
      set_key(a, new_a, scratch_a_);
      set_key(b, new_b, scratch_b_);
      return true;
    }
    swap_positions(w, p, q);
    return false;
  }

  const assignment& tasks_;
  int ell_;
  std::mt19937_64& rng_;
  std::vector<int> edge_worker_;
  std::vector<int> edge_chunk_;
  std::vector<int> position_;            // of each edge in its worker's list
  std::vector<int> chunk_offset_;        // the edges of chunk c are [offset[c], offset[c + 1])
  std::vector<std::vector<int>> slots_;  // slots_[w][p] = the edge at position p of worker w
  std::vector<int> sorted_r_;            // the r values of chunk c, sorted, at its edge range
  std::vector<std::int64_t> v_;
  std::map<std::int64_t, int> v_count_;  // v value -> number of chunks with it
  std::vector<int> scratch_a_;
  std::vector<int> scratch_b_;
  std::vector<int> bottleneck_;
  std::vector<int> copies_;
  std::vector<int> workers_;
};

// Hopcroft-Karp maximum matching in a bipartite graph (left = workers, right = chunks).
// Written here rather than taken from Boost.Graph: its edmonds_augmenting_path_finder clears
// O(V + E) state for every single augmentation, so it is quadratic in N (1.2 s for the matching
// order at N = 10,000, delta = 10; 13 s with fractional repetition at N = 100,000 even from a
// Karp-Sipser start), and it retrieves each augmenting path recursively; its depth-first search
// finds paths thousands of vertices long, which overflowed the stack (a crash) at
// N = 300,000 in Release and N = 100,000 under ASan. This one is O(E sqrt(V)) and iterative.
class bipartite_matcher {
 public:
  explicit bipartite_matcher(const std::vector<std::vector<int>>& adjacency)
      : adjacency_(adjacency),
        left_mate_(adjacency.size()),
        right_mate_(adjacency.size()),
        dist_(adjacency.size()),
        next_edge_(adjacency.size()) {}

  // A maximum matching of the current adjacency (right side as large as the left side);
  // left_mate()[u] is the right vertex matched to u, or -1. Returns its size.
  int run() {
    std::fill(left_mate_.begin(), left_mate_.end(), -1);
    std::fill(right_mate_.begin(), right_mate_.end(), -1);
    int size = 0;
    while (layer()) {
      std::fill(next_edge_.begin(), next_edge_.end(), std::size_t{0});
      for (std::size_t u = 0; u < adjacency_.size(); ++u) {
        if (left_mate_[u] < 0 && augment(static_cast<int>(u))) ++size;
      }
    }
    return size;
  }

  const std::vector<int>& left_mate() const noexcept { return left_mate_; }

 private:
  static constexpr int k_unreached = std::numeric_limits<int>::max();

  // Breadth-first layers from the free left vertices along alternating paths; false when no
  // free right vertex is reachable (the matching is maximum).
  bool layer() {
    queue_.clear();
    for (std::size_t u = 0; u < adjacency_.size(); ++u) {
      dist_[u] = left_mate_[u] < 0 ? 0 : k_unreached;
      if (dist_[u] == 0) queue_.push_back(static_cast<int>(u));
    }
    free_dist_ = k_unreached;
    for (std::size_t head = 0; head < queue_.size(); ++head) {
      const auto u = static_cast<std::size_t>(queue_[head]);
      if (dist_[u] >= free_dist_) break;  // only shortest augmenting paths
      for (const int c : adjacency_[u]) {
        const int v = right_mate_[static_cast<std::size_t>(c)];
        if (v < 0) {
          free_dist_ = std::min(free_dist_, dist_[u] + 1);
        } else if (dist_[static_cast<std::size_t>(v)] == k_unreached) {
          dist_[static_cast<std::size_t>(v)] = dist_[u] + 1;
          queue_.push_back(v);
        }
      }
    }
    return free_dist_ != k_unreached;
  }

  // Depth-first search for a shortest augmenting path from `root` along the layers, with an
  // explicit stack: stack_[i] is a left vertex and adjacency_[stack_[i]][next_edge_[...]] the
  // edge to the next one. Dead ends leave the layering so later searches skip them.
  bool augment(int root) {
    stack_.assign(1, root);
    while (!stack_.empty()) {
      const auto u = static_cast<std::size_t>(stack_.back());
      std::size_t& edge = next_edge_[u];
      if (edge == adjacency_[u].size()) {
        dist_[u] = k_unreached;
        stack_.pop_back();
        if (!stack_.empty()) ++next_edge_[static_cast<std::size_t>(stack_.back())];
        continue;
      }
      const int c = adjacency_[u][edge];
      const int v = right_mate_[static_cast<std::size_t>(c)];
      if (v < 0) {
        if (dist_[u] + 1 != free_dist_) {
          ++edge;
          continue;
        }
        for (const int w : stack_) {  // flip the path: each w takes the edge it stands on
          const auto uw = static_cast<std::size_t>(w);
          const int cw = adjacency_[uw][next_edge_[uw]];
          left_mate_[uw] = cw;
          right_mate_[static_cast<std::size_t>(cw)] = w;
        }
        return true;
      }
      if (dist_[static_cast<std::size_t>(v)] == dist_[u] + 1) {
        stack_.push_back(v);
      } else {
        ++edge;
      }
    }
    return false;
  }

  const std::vector<std::vector<int>>& adjacency_;
  std::vector<int> left_mate_;
  std::vector<int> right_mate_;
  std::vector<int> dist_;
  std::vector<std::size_t> next_edge_;
  std::vector<int> queue_;
  std::vector<int> stack_;
  int free_dist_ = k_unreached;
};

// A perfect matching of a 2-regular bipartite graph: a union of even cycles, so every second
// edge of each cycle. Hopcroft-Karp is slowest exactly here (augmenting paths run along cycles
// that are O(N) long: 4 s at N = 300,000), and with load >= 2 every order passes through it.
std::vector<int> match_cycles(const std::vector<std::vector<int>>& adjacency) {
  const std::size_t n = adjacency.size();
  std::vector<std::array<int, 2>> holders(n, {-1, -1});
  for (std::size_t w = 0; w < n; ++w) {
    for (const int c : adjacency[w]) {
      auto& h = holders[static_cast<std::size_t>(c)];
      (h[0] < 0 ? h[0] : h[1]) = static_cast<int>(w);
    }
  }
  std::vector<int> mate(n, -1);
  for (std::size_t start = 0; start < n; ++start) {
    auto w = start;
    int c = adjacency[w][0];
    while (mate[w] < 0) {  // walk the cycle: worker w takes c, the other holder of c goes next
      mate[w] = c;
      const auto& h = holders[static_cast<std::size_t>(c)];
      w = static_cast<std::size_t>(h[0] == static_cast<int>(w) ? h[1] : h[0]);
      c = adjacency[w][0] == c ? adjacency[w][1] : adjacency[w][0];
    }
  }
  return mate;
}

}  // namespace

std::int64_t q_max(const assignment& tasks, int ell) {
  tasks.check_ell(ell);
  std::int64_t min_v = -1;
  std::vector<std::int64_t> r;
  for (int c = 0; c < tasks.chunks(); ++c) {
    r.clear();
    for (const holder& h : tasks.holders(c)) {
      r.push_back(tasks.load(h.worker) - h.position);
    }
    const std::int64_t v = sum_of_smallest(r, tasks.replication(c) - ell + 1);
    if (min_v < 0 || v < min_v) min_v = v;
  }
  return 1 + tasks.total_load() - min_v;
}

std::int64_t q_max_balanced_order(int workers, int load, int ell) {
  if (workers < 1) throw input_error("workers must be at least 1, got " + std::to_string(workers));
  if (load < 1 || load > workers) {
    throw input_error("load must be between 1 and the number of workers (" +
                      std::to_string(workers) + "), got " + std::to_string(load));
  }
  if (ell < 1 || ell > load) {
    throw input_error("ell must be between 1 and the load (" + std::to_string(load) + "), got " +
                      std::to_string(ell));
  }
  const std::int64_t k = load - ell + 1;  // holders that must stop before the weakest chunk
  return 1 + std::int64_t{workers} * load - k * (k + 1) / 2;
}

assignment order_random(const assignment& tasks, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto lists = tasks.lists();
  for (auto& l : lists) {
    std::shuffle(l.begin(), l.end(), rng);
  }
  return tasks.reordered(std::move(lists));
}

assignment order_regular_optimal(const assignment& tasks) {
  if (!tasks.is_regular()) {
    throw input_error(
        "the matching order needs a regular assignment (as many chunks as workers, every worker "
        "and every chunk of the same degree)");
  }
  const int n = tasks.workers();
  const int load = tasks.load(0);

  // The remaining worker-chunk edges. Removing a perfect matching from a k-regular bipartite
  // graph leaves a (k-1)-regular one, which has a perfect matching again (König), so `load`
  // rounds use up every edge and every chunk lands once at every position.
  std::vector<std::vector<int>> remaining = tasks.lists();
  std::vector<std::vector<int>> lists(static_cast<std::size_t>(n));
  bipartite_matcher matcher(remaining);
  std::vector<int> taken(static_cast<std::size_t>(n));
  for (int round = 0; round < load; ++round) {
    std::vector<int> mate;
    if (load - round == 2) {
      mate = match_cycles(remaining);
    } else {
      matcher.run();
      mate = matcher.left_mate();
    }
    for (std::size_t w = 0; w < remaining.size(); ++w) {
      const int chunk = mate[w];
      if (chunk < 0 || taken[static_cast<std::size_t>(chunk)] > round) {
        throw std::logic_error("matching " + std::to_string(round) +
                               " of a regular bipartite graph is not perfect");
      }
      taken[static_cast<std::size_t>(chunk)] = round + 1;
      lists[w].push_back(chunk);
      auto& edges = remaining[w];
      *std::find(edges.begin(), edges.end(), chunk) = edges.back();
      edges.pop_back();
    }
  }
  return tasks.reordered(std::move(lists));
}

assignment order_local_search(const assignment& tasks, int ell, std::uint64_t seed) {
  tasks.check_ell(ell);
  // Swap evaluations per run: a few hundred milliseconds at most, enough to converge for a
  // few thousand workers with loads around 10.
  constexpr std::int64_t k_budget_per_run = 2'000'000;
  constexpr int k_restarts = 3;

  std::mt19937_64 rng(seed);
  auto search_from = [&](const assignment& start) {
    swap_search s(start, ell, rng);
    std::int64_t budget = k_budget_per_run;
    s.descend(budget);
    return std::pair{s.rank(), s.lists()};
  };

  // The first run starts from the input and only takes strict improvements, so the result is
  // never worse than the input; the restarts from random orders only replace it when better.
  auto [best_rank, best_lists] = search_from(tasks);
  for (int run = 0; run < k_restarts; ++run) {
    auto [rank, lists] = search_from(order_random(tasks, rng()));
    if (best_rank < rank) {
      best_rank = std::move(rank);
      best_lists = std::move(lists);
    }
  }
  return tasks.reordered(std::move(best_lists));
}

namespace {

constexpr std::array<std::pair<std::string_view, order_kind>, 4> k_order_names{{
    {"keep", order_kind::keep},
    {"random", order_kind::random},
    {"optimal", order_kind::optimal},
    {"heuristic", order_kind::heuristic},
}};

}  // namespace

core::name_table<order_kind> order_kind_names() noexcept { return k_order_names; }

order_kind parse_order_kind(std::string_view text) {
  return core::parse_name(order_kind_names(), text, "order");
}

std::string_view to_string(order_kind kind) noexcept {
  return core::name_of(order_kind_names(), kind);
}

ordered apply_order(const assignment& tasks, order_kind kind, int ell, std::uint64_t seed) {
  // Validated for every kind, so a bad ell is reported the same way whatever the order.
  tasks.check_ell(ell);
  switch (kind) {
    case order_kind::keep:
      return {tasks, "keep"};
    case order_kind::random:
      return {order_random(tasks, seed), "random"};
    case order_kind::optimal:
      if (tasks.is_regular()) {
        assignment balanced = order_regular_optimal(tasks);
        // The balanced order is optimal for ell = 1 and ell = delta only; in between other orders
        // can do better (tests/coding/test_ordering.cpp), and local search never makes it worse.
        if (ell > 1 && ell < tasks.load(0)) {
          return {order_local_search(balanced, ell, seed), "matchings + local search"};
        }
        return {std::move(balanced), "matchings"};
      }
      return {order_local_search(tasks, ell, seed), "local search"};
    case order_kind::heuristic:
      return {order_local_search(tasks, ell, seed), "local search"};
  }
  throw std::logic_error("unhandled order_kind");
}

}  // namespace pgc::coding
