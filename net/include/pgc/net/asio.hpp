#pragma once

// The one place that names the Asio and Beast namespaces for pgc code (STYLE.md item 2).
// Deliberately light: only the awaitable and TCP types. Include specific Asio or Beast headers
// where they are used, never from headers that pure protocol code includes.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace boost::beast {}

namespace pgc::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
template <class T>
using awaitable = asio::awaitable<T>;

}  // namespace pgc::net
