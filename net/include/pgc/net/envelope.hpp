#pragma once

#include <string>
#include <string_view>

#include "pgc/net/frame.hpp"
#include "pgc/net/schema/pgc.capnp.h"

namespace pgc::net {

// What is wrong with an envelope that decoded but does not make sense for its kind, or an
// empty string when nothing is. Walks every pointer once (so later reads cannot throw), checks
// the union tag and cheap invariants (Welcome: R has ell * N entries, chunk ids < m, the
// worker's list matches the assignment; EncodeAndTransmit: a nonempty state vector). Checks that
// need protocol state (sizes against d or N of this run, iteration numbers) are the nodes' job.
// Never throws for bad input.
std::string envelope_problem(wire::Envelope::Reader envelope);

// The same for a received frame, including a root pointer that is itself malformed. After an
// empty answer, f.envelope() and the getters envelope_problem() visited do not throw.
std::string frame_problem(const frame& f);

// "hello", "welcome", ...: for logs and error texts.
std::string_view kind_name(wire::Envelope::Which kind) noexcept;

}  // namespace pgc::net
