// RFC 6455 framing shared by the client transport and the emulator: header parsing, frame
// encoding, the handshake's accept key, and the client's message reader, which turns the bytes of
// a connection into messages in place (no copy for an unfragmented frame, no per-frame
// allocation). Pure code with no I/O, so every rule is testable on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

namespace vr::ws {

enum opcode : std::uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

struct frame_header {
  bool fin = false;
  std::uint8_t rsv = 0;  // the three reserved bits, shifted down
  std::uint8_t op = 0;
  bool masked = false;
  std::uint8_t mask[4] = {0, 0, 0, 0};
  std::uint64_t length = 0;  // payload bytes
  std::size_t size = 0;      // header bytes, mask included
  bool minimal = true;       // the length used the shortest encoding (RFC 6455 5.2)
};

// Reads a header from `avail` bytes. Returns false when more bytes are needed.
bool parse_header(const unsigned char* p, std::size_t avail, frame_header& out) noexcept;

// One complete frame. With a `mask` (client to server) the payload is masked.
std::string encode_frame(std::uint8_t op, std::string_view payload, const std::uint8_t* mask = nullptr);

// The close payload: a 2-byte code and a reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

// Codes a peer may send in a close frame (RFC 6455 7.4).
bool valid_close_code(std::uint16_t code) noexcept;

std::string base64_encode(const unsigned char* p, std::size_t n);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_key(std::string_view key);

// Reassembles what a server sends (unmasked frames) into messages. Fill it through space() and
// commit(); next() then yields messages and control frames until it needs more bytes. Views
// stay valid until the next call to space(), commit(), append() or next(), and every message
// payload has at least kPadding readable bytes after its end (simdjson reads that far).
class message_reader {
 public:
  static constexpr std::size_t kPadding = 64;

  enum class result { more, message, ping, pong, close, error };

  struct item {
    std::string_view payload;  // message, ping, pong
    bool text = false;         // message
    std::uint16_t close_code = 0;  // close: 0 when the frame carried no code
    std::string_view close_reason;
    boost::system::error_code ec;  // error: a beast::websocket::error
  };

  explicit message_reader(std::uint64_t max_message, std::size_t chunk = 64 * 1024);

  // Room for the next read (never empty). space() may move or grow the buffer, never shrink
  // the room (next() gives memory back once the buffer is empty), so space_size() read before
  // it is at most the room; prepare() gives both from one call.
  char* space();
  std::size_t space_size() const noexcept { return capacity_ - end_; }
  struct room {
    char* data;
    std::size_t size;
  };
  room prepare() {
    char* at = space();
    return {at, space_size()};
  }
  void commit(std::size_t n) noexcept { end_ += n; }
  // commit() for a read of the socket into the room the last space() gave, which also sizes the
  // next reads: a read that fills that room says the kernel holds more, and the room doubles, up
  // to kMaxReadChunks chunks; after kShrinkAfter reads in a row that take less than an eighth
  // of it, it is one chunk again (the memory goes back once the buffer is empty).
  void commit_read(std::size_t n) noexcept;
  static constexpr std::size_t kMaxReadChunks = 8;
  static constexpr unsigned kShrinkAfter = 64;
  // The room the reader aims to offer each read: one chunk, more while reads fill it.
  std::size_t read_size() const noexcept { return read_size_; }
  // Bytes that arrived some other way (read together with the handshake response).
  void append(const char* p, std::size_t n);

  result next(item& out);

  std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  void reallocate(std::size_t capacity);
  void settle_empty();

  std::uint64_t max_message_;
  std::size_t chunk_;
  std::size_t read_size_;     // chunk_ to kMaxReadChunks * chunk_ (commit_read)
  std::size_t offered_ = 0;   // the room the last space() gave
  unsigned small_reads_ = 0;  // reads in a row that took less than read_size_ / 8
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;  // usable bytes; kPadding more are allocated
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  // The size of the incomplete frame at begin_ (header included), 0 when unknown: the buffer
  // never grows past it.
  std::size_t frame_bytes_ = 0;
  // A fragmented message being put together.
  std::vector<char> assembled_;
  std::size_t assembled_size_ = 0;
  bool in_message_ = false;
  bool message_text_ = false;
  bool failed_ = false;
};

}  // namespace vr::ws
