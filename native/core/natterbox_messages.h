// Natterbox's messages socket (unread counts) on the protocol seam (docs/protocol-natterbox.md
// §3, §6.3). One connection carries one user: pushes name no user, so JS opens one socket per
// `org:O:user:U:messages` pattern and every push on it belongs to that pattern.
//
// The credential travels in the upgrade (`?token=` or a header, chosen by JS), so the connection
// is usable at once. A subscribe is `{"request":"subscribe","clientRequestId":<uuid v4>,
// "data":{"users":["org:O:user:U"]}}`; any frame carrying the same clientRequestId acknowledges
// it, else it counts as accepted after `settle_ms`. Pushes `{"operation":"INSERT|MODIFY|REMOVE",
// "data":{...}}` become `userstatistics_created|updated|deleted` with `data` verbatim. Events read
// while a subscribe waits for its answer follow that answer. The server knows no unsubscribe: JS
// closes the socket instead, so unsubscribes are acknowledged locally.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/protocol.h"

namespace vr {

// `org:O:user:U:messages` (normalised by JS) -> the server's user key `org:O:user:U`.
bool parse_messages_pattern(std::string_view pattern, std::string& user_key);

std::unique_ptr<protocol> make_natterbox_messages(const detail::strand_type& strand, const client_config& config,
                                                  protocol_host& host);

}  // namespace vr
