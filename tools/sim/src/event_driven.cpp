#include "pgc/sim/event_driven.hpp"

#include <cmath>
#include <functional>
#include <queue>
#include <tuple>
#include <vector>

namespace pgc::sim {

double event_driven_completion(const coding::scheme& code, const chunk_times& times) {
  times.check_shape(code.tasks());
  coding::progress_tracker progress(code.tasks(), code.ell());
  if (code.ready(progress)) return 0.0;

  // (finish time, worker, chunks done after this event); earliest first, ties by worker.
  using event = std::tuple<double, int, int>;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue;
  for (int w = 0; w < times.workers(); ++w) {
    const auto f = times.finish(w);
    if (!f.empty() && std::isfinite(f[0])) queue.emplace(f[0], w, 1);
  }
  while (!queue.empty()) {
    const auto [t, w, done] = queue.top();
    queue.pop();
    progress.report(w, done);
    if (code.ready(progress)) return t;
    const auto f = times.finish(w);
    if (done < static_cast<int>(f.size()) && std::isfinite(f[static_cast<std::size_t>(done)])) {
      queue.emplace(f[static_cast<std::size_t>(done)], w, done + 1);
    }
  }
  return k_never;
}

}  // namespace pgc::sim
