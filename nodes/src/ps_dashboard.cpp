// The parameter server's live dashboard: a net::status_server fed with ps_monitor snapshots.
#include <chrono>
#include <memory>
#include <string>

#include "detail/ps_impl.hpp"

namespace pgc::nodes {

namespace {

// Snapshots go out at most this often while things change, and at least once a second (the
// page's "seconds since progress" keeps counting).
constexpr auto publish_interval = std::chrono::milliseconds(100);
constexpr auto publish_keepalive = std::chrono::seconds(1);

}  // namespace

void parameter_server::impl::start_dashboard() {
  net::status_server_options so;
  so.listen = *opt_.dashboard;
  so.token = opt_.dashboard_token;
  so.log = [log = log_](const std::string& line) { log.info(line); };
  // A request still in flight when the PS goes must not reach a dead impl.
  so.metrics = [weak = weak_from_this()]() -> std::string {
    const auto self = weak.lock();
    if (!self) return {};
    return self->monitor_.metrics(self->machine_, std::chrono::steady_clock::now());
  };
  dashboard_.server = std::make_unique<net::status_server>(ex_, std::move(so));
  dashboard_.server->start();
  publish_status(true);
  schedule_publish();
}

void parameter_server::impl::publish_status(bool force) {
  if (!dashboard_.server) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && monitor_.version() == dashboard_.published_version &&
      now - dashboard_.published_at < publish_keepalive) {
    return;
  }
  dashboard_.published_version = monitor_.version();
  dashboard_.published_at = now;
  dashboard_.server->publish(monitor_.snapshot(machine_, now));
}

void parameter_server::impl::schedule_publish() {
  publish_timer_.expires_after(publish_interval);
  publish_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || !self->running()) return;
    self->publish_status(false);
    self->schedule_publish();
  });
}

}  // namespace pgc::nodes
