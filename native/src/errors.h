// Turning libpcap failures into JS exceptions that carry a machine-readable `kind`, so the
// TypeScript layer can print one actionable line ("needs CAP_NET_RAW ...") instead of raw text.
#pragma once

#include <napi.h>

#include <string>

namespace picket {

// Values of Error.kind; keep in sync with PcapErrorKind in agent/source/live/pcap-addon.ts.
enum class ErrorKind { Permission, NoSuchDevice, IfaceDown, Filter, Closed, Invalid, Other };

const char* ErrorKindName(ErrorKind kind);

// Maps a pcap_activate() status (PCAP_ERROR_*) to a kind.
ErrorKind KindFromActivateStatus(int status);

// Runtime errors from pcap_dispatch() only come as text (status is plain PCAP_ERROR), so the
// kind is recovered from libpcap's wording for the cases the reopen logic must tell apart.
ErrorKind KindFromRuntimeText(const std::string& text);

// new Error(message) with .kind and .pcapStatus set.
Napi::Error MakeError(Napi::Env env, const std::string& message, ErrorKind kind, int status);

}  // namespace picket
