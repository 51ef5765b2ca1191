// ws:// transport: WebSocket frames over a plain TCP socket.
#include "core/transport_impl.h"

namespace vr::detail {

std::shared_ptr<transport> make_plain_transport(const strand_type& strand,
                                                std::weak_ptr<transport_listener> listener,
                                                std::uint64_t generation) {
  return std::make_shared<ws_transport<socket_type>>(std::move(listener), generation, strand);
}

}  // namespace vr::detail
