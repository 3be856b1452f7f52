// One open libpcap capture, exposed to JS as a `Capture` object.
//
// Delivery model (why uv_poll and not a worker thread): libpcap gives a selectable fd on Linux
// and the BSDs; in non-blocking mode pcap_dispatch() then drains whatever the kernel ring holds
// without ever sleeping. Polling that fd on the Node event loop lets us copy frames straight into
// a batch buffer that JS reads in place, with no thread, no lock, no second copy and no
// ThreadSafeFunction queue that could grow without bound while JS is busy. Back-pressure is
// natural: while JS runs, the kernel ring (sized by bufferBytes) absorbs the burst and pcap_stats
// reports what it could not hold. The cost is that the copy runs on the JS thread; at the rates
// an edge sensor sees the copy is small next to the per-packet JS work that follows it.
#pragma once

#include <napi.h>
#include <pcap/pcap.h>
#include <uv.h>

#include "errors.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace picket {

// Doubles per frame in the meta array: offset, caplen, wirelen, ts_sec, ts_frac.
constexpr size_t kMetaStride = 5;

// Everything needed to build a Capture once libpcap has activated the handle; ownership of
// `pcap` moves into the Capture.
struct OpenedPcap {
  pcap_t* pcap = nullptr;
  std::string device;
  std::string warning;
  int snapLen = 0;
  bool nano = false;
  size_t batchBytes = 0;
  size_t batchFrames = 0;
};

class Capture : public Napi::ObjectWrap<Capture> {
 public:
  static Napi::Function Define(Napi::Env env);
  // open(options, onBatch, onError): activates a pcap handle and returns a polling Capture, or
  // throws an Error with .kind. Nothing survives a failed open, so retrying is always safe.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit Capture(const Napi::CallbackInfo& info);
  ~Capture() override;

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnPacket(u_char* user, const struct pcap_pkthdr* hdr, const u_char* bytes);

  void StartPolling();
  void StopPolling();
  void OnSocketError(int status);
  void Drain();
  void Flush();
  void ReportError(const std::string& message, ErrorKind kind);
  void Shutdown();

  pcap_t* pcap_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  Napi::ObjectReference bufferRef_;
  Napi::ObjectReference metaRef_;
  Napi::AsyncContext* asyncContext_ = nullptr;
  uint8_t* data_ = nullptr;
  double* meta_ = nullptr;
  size_t dataCap_ = 0;
  size_t frameCap_ = 0;
  size_t used_ = 0;
  size_t count_ = 0;
  uint32_t snapLen_ = 0;
  bool polling_ = false;
  bool paused_ = false;
  bool failed_ = false;
  bool closing_ = false;
  bool inDispatch_ = false;
  bool refd_ = false;
  int badPolls_ = 0;
};

}  // namespace picket
