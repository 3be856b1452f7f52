#include "errors.h"

#include <pcap/pcap.h>

namespace picket {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Permission: return "permission";
    case ErrorKind::NoSuchDevice: return "no_such_device";
    case ErrorKind::IfaceDown: return "iface_down";
    case ErrorKind::Filter: return "filter";
    case ErrorKind::Closed: return "closed";
    case ErrorKind::Invalid: return "invalid";
    case ErrorKind::Other: return "other";
  }
  return "other";
}

ErrorKind KindFromActivateStatus(int status) {
  switch (status) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return ErrorKind::Permission;
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return ErrorKind::NoSuchDevice;
    case PCAP_ERROR_IFACE_NOT_UP:
      return ErrorKind::IfaceDown;
    default:
      return ErrorKind::Other;
  }
}

ErrorKind KindFromRuntimeText(const std::string& text) {
  // libpcap 1.10 (pcap-linux.c): ENETDOWN -> "The interface went down", ENODEV/ENXIO ->
  // "The interface disappeared"; older versions used "No such device".
  if (text.find("went down") != std::string::npos) return ErrorKind::IfaceDown;
  if (text.find("disappeared") != std::string::npos ||
      text.find("No such device") != std::string::npos)
    return ErrorKind::NoSuchDevice;
  if (text.find("ermission") != std::string::npos || text.find("not permitted") != std::string::npos)
    return ErrorKind::Permission;
  return ErrorKind::Other;
}

Napi::Error MakeError(Napi::Env env, const std::string& message, ErrorKind kind, int status) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("kind", Napi::String::New(env, ErrorKindName(kind)));
  err.Set("pcapStatus", Napi::Number::New(env, status));
  return err;
}

}  // namespace picket
