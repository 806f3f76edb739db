// Boost.JSON is used header-only: its implementation is compiled once, here, and every other
// translation unit includes <boost/json.hpp>.
#include <boost/json/src.hpp>
