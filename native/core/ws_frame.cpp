#include "core/ws_frame.h"

#include <algorithm>
#include <cstring>

#include <boost/beast/websocket/error.hpp>
#include <openssl/sha.h>
#include <simdjson.h>

namespace vr::ws {

static_assert(message_reader::kPadding >= simdjson::SIMDJSON_PADDING, "payloads must be simdjson-readable");

namespace {

using websocket_error = boost::beast::websocket::error;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_control(std::uint8_t op) noexcept { return op >= 0x8; }

bool known_opcode(std::uint8_t op) noexcept {
  return op == continuation || op == text || op == binary || op == close || op == ping || op == pong;
}

}  // namespace

bool parse_header(const unsigned char* p, std::size_t avail, frame_header& out) noexcept {
  if (avail < 2) return false;
  out.fin = (p[0] & 0x80) != 0;
  out.rsv = static_cast<std::uint8_t>((p[0] >> 4) & 0x7);
  out.op = p[0] & 0x0f;
  out.masked = (p[1] & 0x80) != 0;
  std::uint64_t length = p[1] & 0x7f;
  std::size_t size = 2;
  out.minimal = true;
  if (length == 126) {
    if (avail < 4) return false;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    size = 4;
    out.minimal = length >= 126;
  } else if (length == 127) {
    if (avail < 10) return false;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    size = 10;
    // The most significant bit must be 0 as well (RFC 6455 5.2).
    out.minimal = length > 0xffff && (length >> 63) == 0;
  }
  if (out.masked) {
    if (avail < size + 4) return false;
    std::memcpy(out.mask, p + size, 4);
    size += 4;
  }
  out.length = length;
  out.size = size;
  return true;
}

std::string encode_frame(std::uint8_t op, std::string_view payload, const std::uint8_t* mask) {
  std::string out;
  const std::size_t n = payload.size();
  out.reserve(n + 14);
  out += static_cast<char>(0x80 | op);
  const char mask_bit = mask ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (n <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff);
    }
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  out.append(reinterpret_cast<const char*>(mask), 4);
  const std::size_t at = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < n; ++i) out[at + i] = static_cast<char>(out[at + i] ^ mask[i & 3]);
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xff);
  out.append(reason);
  return out;
}

bool valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

std::string base64_encode(const unsigned char* p, std::size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < n) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (i + 1 < n) v |= std::uint32_t{p[i + 1]} << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < n ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input.append(guid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64_encode(digest, sizeof digest);
}

// --- message_reader ------------------------------------------------------------------------

message_reader::message_reader(std::uint64_t max_message, std::size_t chunk)
    : max_message_(max_message), chunk_(std::max<std::size_t>(chunk, 256)), read_size_(chunk_) {
  reallocate(chunk_);
}

void message_reader::reallocate(std::size_t capacity) {
  // Not value-initialised: zero-filling would touch every page of a buffer grown for a large
  // frame before its bytes have arrived.
  std::unique_ptr<char[]> fresh(new char[capacity + kPadding]);
  const std::size_t live = end_ - begin_;
  if (live) std::memcpy(fresh.get(), buffer_.get() + begin_, live);
  buffer_ = std::move(fresh);
  capacity_ = capacity;
  begin_ = 0;
  end_ = live;
}

// Once everything buffered has been handed over: a message far above the usual size grew the
// buffer, or reads went back to one chunk, and the memory goes back. This is done here and not in
// space(), so that space() only ever adds room: a caller that read space_size() before calling
// space() (the two arguments of one read, evaluated in no fixed order) then asks for less than
// there is, never for more.
void message_reader::settle_empty() {
  begin_ = end_ = 0;
  if (capacity_ > 4 * read_size_) reallocate(read_size_);
}

char* message_reader::space() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (capacity_ - end_ < read_size_ / 4 && begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ < read_size_) {
    // Reads filled the room they were given (commit_read): those bytes arrived, and more wait.
    reallocate(read_size_);
  } else if (capacity_ - end_ < read_size_ / 4) {
    // The buffer grows only as bytes arrive (doubling, so copying stays linear), never ahead of
    // them to what a frame header announces: a header alone must not cost memory. It stops at
    // the size of the frame being read, when that is known.
    // (begin_ is 0 here: the data was moved to the front above.)
    std::size_t grown = std::max(capacity_ * 2, capacity_ + read_size_);
    const bool known = frame_bytes_ > end_;
    if (known && frame_bytes_ < grown) grown = frame_bytes_;
    if (!known || frame_bytes_ > capacity_) reallocate(grown);
  }
  offered_ = capacity_ - end_;
  return buffer_.get() + end_;
}

// Each read of the socket costs a system call and, in TCP, an acknowledgement that reopens the
// window (on loopback the sender's next transmission then runs on the reader's CPU). While the
// kernel holds more than one chunk, reading it in larger pieces pays those once per piece:
// bench/TARGETS.md, "Round five", measured the io thread's frames per CPU-second.
void message_reader::commit_read(std::size_t n) noexcept {
  const std::size_t offered = offered_;
  commit(n);
  // A room cut short by a large frame's known end (space()) says nothing about the kernel.
  if (n >= offered && offered >= read_size_ / 4) {
    small_reads_ = 0;
    read_size_ = std::min(read_size_ * 2, kMaxReadChunks * chunk_);
  } else if (n < read_size_ / 8 && read_size_ > chunk_) {
    if (++small_reads_ >= kShrinkAfter) {
      small_reads_ = 0;
      read_size_ = chunk_;
    }
  } else {
    small_reads_ = 0;
  }
}

void message_reader::append(const char* p, std::size_t n) {
  while (n > 0) {
    char* to = space();
    const std::size_t k = std::min(n, space_size());
    std::memcpy(to, p, k);
    commit(k);
    p += k;
    n -= k;
  }
}

message_reader::result message_reader::next(item& out) {
  const auto fail = [&](websocket_error e) {
    failed_ = true;
    out.ec = e;
    return result::error;
  };
  for (;;) {
    if (failed_) return result::error;
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.get() + begin_);
    const std::size_t avail = end_ - begin_;
    frame_header h;
    if (!parse_header(p, avail, h)) {
      if (avail == 0) settle_empty();
      return result::more;
    }
    if (h.rsv) return fail(websocket_error::bad_reserved_bits);
    if (!known_opcode(h.op)) return fail(websocket_error::bad_opcode);
    // RFC 6455 5.1: a client closes the connection when a server frame is masked.
    if (h.masked) return fail(websocket_error::bad_masked_frame);
    if (!h.minimal) return fail(websocket_error::bad_size);
    if (is_control(h.op)) {
      if (!h.fin) return fail(websocket_error::bad_control_fragment);
      if (h.length > 125) return fail(websocket_error::bad_control_size);
    } else {
      if (h.op == continuation && !in_message_) return fail(websocket_error::bad_continuation);
      if (h.op != continuation && in_message_) return fail(websocket_error::bad_data_frame);
      const std::uint64_t before = in_message_ ? assembled_size_ : 0;
      if (h.length > max_message_ || before + h.length > max_message_) return fail(websocket_error::message_too_big);
    }
    const std::size_t frame_size = h.size + static_cast<std::size_t>(h.length);
    if (avail < frame_size) {
      frame_bytes_ = frame_size;
      return result::more;
    }
    frame_bytes_ = 0;
    const char* payload = buffer_.get() + begin_ + h.size;
    const std::size_t length = static_cast<std::size_t>(h.length);
    begin_ += frame_size;
    switch (h.op) {
      case ping:
        out.payload = std::string_view(payload, length);
        return result::ping;
      case pong:
        out.payload = std::string_view(payload, length);
        return result::pong;
      case close:
        out.close_code = 0;
        out.close_reason = {};
        if (length == 1) return fail(websocket_error::bad_close_size);
        if (length >= 2) {
          const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                       static_cast<unsigned char>(payload[1]));
          if (!valid_close_code(code)) return fail(websocket_error::bad_close_code);
          const std::string_view reason(payload + 2, length - 2);
          if (!simdjson::validate_utf8(reason)) return fail(websocket_error::bad_close_payload);
          out.close_code = code;
          out.close_reason = reason;
        }
        return result::close;
      default:
        break;
    }
    if (h.fin && !in_message_) {
      out.payload = std::string_view(payload, length);
      out.text = h.op == text;
      return result::message;
    }
    if (!in_message_) {
      // A large message should not pin its memory until the next large message.
      if (assembled_.capacity() > 4 * chunk_) std::vector<char>().swap(assembled_);
      in_message_ = true;
      message_text_ = h.op == text;
      assembled_size_ = 0;
    }
    if (assembled_.size() < assembled_size_ + length + kPadding) assembled_.resize(assembled_size_ + length + kPadding);
    if (length) std::memcpy(assembled_.data() + assembled_size_, payload, length);
    assembled_size_ += length;
    if (!h.fin) continue;
    in_message_ = false;
    out.payload = std::string_view(assembled_.data(), assembled_size_);
    out.text = message_text_;
    return result::message;
  }
}

}  // namespace vr::ws
