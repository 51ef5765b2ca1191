// wss:// transport: WebSocket frames over TLS, with peer and host name verification.
#include <cstdlib>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "core/client.h"
#include "core/transport_impl.h"

namespace vr::detail {

namespace ssl = boost::asio::ssl;

namespace {

using tls_stream = beast::ssl_stream<read_ahead_socket>;

bool is_ip_literal(const std::string& name) {
  error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

class tls_transport final : public ws_transport<tls_stream> {
 public:
  tls_transport(std::weak_ptr<transport_listener> listener, std::uint64_t generation, const strand_type& strand,
                std::shared_ptr<ssl::context> context, std::string server_name, bool verify_peer)
      : ws_transport(std::move(listener), generation, strand, *context),
        context_(std::move(context)),
        server_name_(std::move(server_name)),
        verify_peer_(verify_peer) {}

 protected:
  // io thread.
  void on_tcp_connected() override {
    auto& stream = stream_;
    // SNI carries host names only (RFC 6066).
    if (!is_ip_literal(server_name_)) SSL_set_tlsext_host_name(stream.native_handle(), server_name_.c_str());
    if (verify_peer_) {
      stream.set_verify_mode(ssl::verify_peer);
      stream.set_verify_callback(
          [this, check = ssl::host_name_verification(server_name_)](bool preverified, ssl::verify_context& ctx) mutable {
            const bool ok = check(preverified, ctx);
            if (!ok && verify_failure_.empty()) {
              if (!preverified) {
                verify_failure_ = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.native_handle()));
              } else {
                verify_failure_ = "certificate does not match the host name " + server_name_;
              }
            }
            return ok;
          });
    } else {
      stream.set_verify_mode(ssl::verify_none);
    }
    auto self = std::static_pointer_cast<tls_transport>(shared_from_this());
    stream.async_handshake(ssl::stream_base::client, [self](error_code ec) {
      if (ec) return self->notify_connected(ec, connect_stage::tls);
      self->start_upgrade();
    });
  }

 private:
  std::shared_ptr<ssl::context> context_;  // outlives the stream that refers to it
  std::string server_name_;
  bool verify_peer_;
};

// The node binary's OpenSSL looks for certificates in its own compiled-in directory, which is
// usually not where the system keeps them, so the usual bundle locations are tried explicitly.
bool load_system_trust(ssl::context& ctx) {
  error_code ec;
  if (const char* file = std::getenv("SSL_CERT_FILE"); file && *file) {
    ctx.load_verify_file(file, ec);
    if (!ec) return true;
  }
  static const char* const bundles[] = {
      "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Arch, Gentoo
      "/etc/pki/tls/certs/ca-bundle.crt",    // Fedora, RHEL, CentOS
      "/etc/ssl/ca-bundle.pem",              // openSUSE
      "/etc/ssl/cert.pem",                   // Alpine, macOS, the BSDs
  };
  for (const char* bundle : bundles) {
    ec = {};
    ctx.load_verify_file(bundle, ec);
    if (!ec) return true;
  }
  if (const char* dir = std::getenv("SSL_CERT_DIR"); dir && *dir) {
    ec = {};
    ctx.add_verify_path(dir, ec);
    if (!ec) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_config& config, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  if (!config.ca.empty()) {
    for (std::size_t i = 0; i < config.ca.size(); ++i) {
      ctx->add_certificate_authority(boost::asio::buffer(config.ca[i]), ec);
      if (ec) {
        error = "tls.ca[" + std::to_string(i) + "] holds no usable PEM certificate: " + ec.message();
        return nullptr;
      }
    }
  } else if (config.reject_unauthorized && !load_system_trust(*ctx)) {
    error = "no system CA bundle could be loaded; pass tls.ca";
    return nullptr;
  }
  if (!config.cert.empty()) {
    ctx->use_certificate_chain(boost::asio::buffer(config.cert), ec);
    if (ec) {
      error = "tls.cert is not a usable PEM certificate chain: " + ec.message();
      return nullptr;
    }
  }
  if (!config.key.empty()) {
    ctx->use_private_key(boost::asio::buffer(config.key), ssl::context::pem, ec);
    if (ec) {
      error = "tls.key is not a usable PEM private key: " + ec.message();
      return nullptr;
    }
  }
  return ctx;
}

std::shared_ptr<transport> make_tls_transport(const strand_type& strand, std::weak_ptr<transport_listener> listener,
                                              std::uint64_t generation, std::shared_ptr<ssl::context> context,
                                              std::string server_name, bool verify_peer) {
  return std::make_shared<tls_transport>(std::move(listener), generation, strand, std::move(context),
                                         std::move(server_name), verify_peer);
}

}  // namespace vr::detail
