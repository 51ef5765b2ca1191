// libFuzzer target for the client's WebSocket message reader (native/core/ws_frame.h), which
// reads whatever bytes the server sends. The same stream is read twice: appended at once, and
// fed in pieces of random size through space()/commit(), commit_read() and append() as the
// transport does. The oracle: both readings yield the same items in the same order (a chunk
// boundary never changes what a frame means), every message respects the size limit and carries
// the promised padding, and an error is final.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/ws_frame.h"
#include "fuzz_support.h"

namespace {

using vr::fuzz::require;
using reader = vr::ws::message_reader;

struct record {
  reader::result result;
  std::string payload;
  bool text;
  std::uint16_t close_code;
  std::string close_reason;
  int ec;
  bool operator==(const record&) const = default;
};

// Takes every item the reader has now. Returns false once it reported an error.
bool drain(reader& r, std::uint64_t max_message, std::vector<record>& out) {
  for (;;) {
    reader::item item;
    const auto result = r.next(item);
    if (result == reader::result::more) return true;
    record rec{result, {}, false, 0, {}, 0};
    switch (result) {
      case reader::result::message:
        require(item.payload.size() <= max_message, "message above the limit");
        vr::fuzz::touch_padding(item.payload, reader::kPadding);
        rec.text = item.text;
        [[fallthrough]];
      case reader::result::ping:
      case reader::result::pong:
        rec.payload.assign(item.payload);
        break;
      case reader::result::close:
        rec.close_code = item.close_code;
        rec.close_reason.assign(item.close_reason);
        require(item.close_code == 0 ? item.close_reason.empty() : vr::ws::valid_close_code(item.close_code),
                "close code");
        break;
      case reader::result::error: {
        require(static_cast<bool>(item.ec), "error without a code");
        rec.ec = item.ec.value();
        out.push_back(rec);
        reader::item again;
        require(r.next(again) == reader::result::error, "an error is final");
        return false;
      }
      default:
        break;
    }
    out.push_back(std::move(rec));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  // Small limits and chunks reach the size checks and the buffer's growth paths with small inputs.
  const std::uint64_t max_message = in.ConsumeIntegralInRange<std::uint64_t>(0, 1 << 16);
  const std::size_t chunk = in.ConsumeIntegralInRange<std::size_t>(0, 4096);
  vr::fuzz::chunker pieces(in.ConsumeIntegral<std::uint32_t>());
  const std::string stream = in.ConsumeRemainingBytesAsString();

  std::vector<record> whole;
  {
    reader r(max_message, chunk);
    r.append(stream.data(), stream.size());
    drain(r, max_message, whole);
  }

  std::vector<record> pieced;
  {
    reader r(max_message, chunk);
    const std::size_t base = r.read_size();  // the chunk as the reader took it (at least 256)
    bool ok = true;
    for (std::size_t at = 0; ok && at < stream.size();) {
      std::size_t n = std::min(pieces.next(), stream.size() - at);
      if (n % 5 == 0) {
        r.append(stream.data() + at, n);  // bytes read together with the handshake response
      } else {
        char* to = r.space();
        require(r.space_size() > 0, "space() gave no room");
        n = std::min(n, r.space_size());
        std::memcpy(to, stream.data() + at, n);
        // Socket reads size the room of the next ones (commit_read); it stays within its bounds.
        if (n % 5 == 1) {
          r.commit(n);
        } else {
          r.commit_read(n);
          require(r.read_size() >= base && r.read_size() <= reader::kMaxReadChunks * base,
                  "read size out of bounds");
        }
      }
      at += n;
      ok = drain(r, max_message, pieced);
    }
  }
  require(whole == pieced, "chunking changed what the stream means");

  // A text message the encoder framed reads back unchanged.
  if (stream.size() <= max_message) {
    reader r(max_message, chunk);
    const std::string frame = vr::ws::encode_frame(vr::ws::text, stream);
    r.append(frame.data(), frame.size());
    reader::item item;
    require(r.next(item) == reader::result::message && item.text && item.payload == stream, "round trip");
  }
  return 0;
}
