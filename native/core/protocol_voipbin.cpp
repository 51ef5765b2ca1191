// VoIPBIN on the protocol seam (docs/protocol-voipbin.md): wire_dialect decides what goes on
// the wire and how subscriptions settle; this adapter reads frames through it. VoIPBIN has no
// post-upgrade exchange: the connection is ready at the upgrade.
#include <memory>

#include "core/natterbox_cti.h"
#include "core/natterbox_messages.h"
#include "core/protocol.h"
#include "core/wire_dialect.h"

namespace vr {

namespace {

class voipbin_protocol final : public protocol {
 public:
  voipbin_protocol(const detail::strand_type& strand, const client_config& config, topic_matcher& matcher,
                   protocol_host& host)
      : host_(host),
        wire_(strand, config, matcher,
              {[&host](std::string text) { host.send_text(std::move(text)); },
               [&host](std::string_view json) { host.push_control(json); },
               [&host](std::string_view json) { host.push_server(json); },
               [&host] { return host.keep_alive(); }}) {}

  bool on_upgraded() override { return true; }
  bool refused_by_close(std::uint16_t) const override { return false; }
  std::vector<std::string> on_open() override { return wire_.on_open(); }
  void after_open() override { wire_.after_open(); }
  bool on_lost(bool refused) override { return wire_.on_lost(refused); }
  void on_teardown() override { wire_.on_teardown(); }
  void append_name(std::string& out) const override { wire_.append_name(out); }

  void on_frame(const char* data, std::size_t size, std::size_t capacity) override {
    if (wire_.unmatched_event(data, size)) {
      host_.count_received();
      host_.count_filtered();
      return;
    }
    const frame_view& frame = wire_.classify(data, size, capacity);
    switch (frame.kind) {
      case frame_kind::event: {
        host_.count_received();
        std::string_view also;
        const std::string_view topic = wire_.matched_topic(frame, also);
        if (!topic.empty() && wire_.duplicate(frame)) {
          host_.count_duplicate();
        } else if (!topic.empty()) {
          host_.push_event(frame.event_type, topic, frame.timestamp, frame.data, frame.server_event_type, also);
        } else {
          host_.count_filtered();
        }
        break;
      }
      case frame_kind::ack:
      case frame_kind::error:
        host_.push_server(frame.raw);
        break;
      case frame_kind::malformed:
        host_.malformed(frame.reason);
        break;
      case frame_kind::ignored:
        break;
    }
  }

  void release_memory() noexcept override { wire_.release_memory(); }

  void subscribe(std::vector<std::string> patterns, bool open) override { wire_.subscribe(std::move(patterns), open); }
  void unsubscribe(std::vector<std::string> patterns, bool open) override {
    wire_.unsubscribe(std::move(patterns), open);
  }
  void drop(const std::vector<std::string>& patterns) override { wire_.drop(patterns); }

 private:
  protocol_host& host_;
  wire_dialect wire_;
};

}  // namespace

std::unique_ptr<protocol> make_protocol(const detail::strand_type& strand, const client_config& config,
                                        topic_matcher& matcher, protocol_host& host) {
  if (config.protocol == protocol_kind::natterbox_cti) return make_natterbox_cti(strand, config, host);
  if (config.protocol == protocol_kind::natterbox_messages) return make_natterbox_messages(strand, config, host);
  return std::make_unique<voipbin_protocol>(strand, config, matcher, host);
}

}  // namespace vr
