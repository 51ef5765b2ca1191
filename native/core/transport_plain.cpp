// ws:// transport: Beast's websocket over a plain TCP stream.
#include "core/transport_impl.h"

namespace vr::detail {

std::shared_ptr<transport> make_plain_transport(const strand_type& strand,
                                                std::weak_ptr<transport_listener> listener,
                                                std::uint64_t generation) {
  return std::make_shared<ws_transport<read_ahead_socket>>(std::move(listener), generation, strand);
}

}  // namespace vr::detail
