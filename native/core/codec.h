// Wire codecs. The documented dialect (VoIPBIN's public docs) is implemented here; the live
// dialect (what production sends) lives in live_codec.h and produces the same frame_view.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace vr {

enum class frame_kind {
  event,      // event_type, timestamp, topic, data are set
  ack,        // action, topics, raw are set
  error,      // action, topics, code, message, raw are set
  malformed,  // reason is set
  ignored,    // valid JSON the client has no use for (reason says why)
};

// Views point into the frame buffer or into the codec's own storage, and stay valid until the
// codec's next call. `data` is the raw JSON text of the resource, fully validated.
struct frame_view {
  frame_kind kind = frame_kind::malformed;
  std::string_view event_type;
  std::string_view timestamp;
  std::string_view topic;
  std::string_view data;
  std::string_view action;
  std::string_view code;
  std::string_view message;
  std::vector<std::string> topics;
  std::string_view raw;  // the whole frame, for ack and error
  std::string reason;
  // Live dialect (live_codec.h); the documented codec leaves them empty / 0.
  std::string_view alt_topic;    // a second topic the event is known under
  std::uint64_t dedupe_key = 0;  // 0 = never a duplicate
  std::string_view resource;     // the resource segment of `topic`
  // The server's own event name (live_codec.h) when it differs from or stands beside the
  // documented one in `event_type`; empty for documented envelopes.
  std::string_view server_event_type;
};

// `capacity` is the number of readable bytes from `data` (at least size + SIMDJSON_PADDING).
class documented_codec {
 public:
  documented_codec();

  const frame_view& classify(const char* data, std::size_t size, std::size_t capacity);

  // Gives back what a large frame grew (parser buffers, its decoded topics) once nothing refers
  // to the last result any more: the parsers otherwise shrink only when the next frame comes.
  void release_memory() noexcept;

  // {"type":"subscribe","topics":["a","b"]} with JSON string escaping.
  static std::string encode(std::string_view action, const std::vector<std::string>& topics);

 private:
  struct fields;
  bool classify_fast(const char* data, std::size_t size, std::string_view frame);
  const frame_view& classify_slow(const char* data, std::size_t size, std::size_t capacity,
                                  std::string_view frame);
  const frame_view& finish(fields& f, std::string_view frame);
  void reset() noexcept;

  // The DOM parser validates a whole frame in one pass with the kernel picked at run time for
  // this CPU; frames it refuses (or finds too deep) take the on-demand path, which decides.
  simdjson::dom::parser dom_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::parser validator_;
  frame_view out_;
};

// A simdjson parser keeps the capacity of the largest document it has parsed, and a dense frame
// costs about fifteen times its size in parser memory: after one large frame that memory would
// stay for the life of the connection. Called before each parse: a parser grown past
// kRetainParserBytes by an earlier frame goes back to a small allocation when this frame is small.
inline constexpr std::size_t kRetainParserBytes = std::size_t{1} << 20;
template <class Parser>
void shrink_parser(Parser& parser, std::size_t next_size) noexcept {
  if (parser.capacity() <= kRetainParserBytes || next_size >= kRetainParserBytes) return;
  const auto e = parser.allocate(4096, parser.max_depth());
  static_cast<void>(e);  // on failure the next parse allocates what it needs
}

// The DOM parser keeps its document (tape and strings, about ten bytes per input byte) apart
// from the parser's own buffers: both go back.
inline void shrink_parser(simdjson::dom::parser& parser, std::size_t next_size) noexcept {
  if (parser.capacity() <= kRetainParserBytes || next_size >= kRetainParserBytes) return;
  const auto e = parser.allocate(4096, parser.max_depth());
  const auto d = parser.doc.allocate(0);  // the next parse allocates what it needs
  static_cast<void>(e);
  static_cast<void>(d);
}

// Empties a frame_view and frees the storage its lists and strings hold.
void release_frame(frame_view& out) noexcept;

// Appends `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

// Appends `items` to `out` as a JSON array of strings.
void append_json_string_array(std::string& out, const std::vector<std::string>& items);

}  // namespace vr
