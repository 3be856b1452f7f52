#include "capture.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace picket {

namespace {

// Bounds for options; values outside are rejected rather than clamped so a typo in a config file
// is reported instead of silently changed.
constexpr int kMinSnapLen = 64;
constexpr int kMaxSnapLen = 262144;  // libpcap's MAXIMUM_SNAPLEN
constexpr int64_t kMinBufferBytes = 64 * 1024;
constexpr int64_t kMaxBufferBytes = 1LL << 30;  // pcap_set_buffer_size takes an int
constexpr int64_t kMinBatchBytes = 64 * 1024;
constexpr int64_t kMaxBatchBytes = 64LL * 1024 * 1024;
// One meta slot per 64 bytes of batch space: minimum Ethernet frames fill both at about the same
// time, larger frames run out of bytes first.
constexpr size_t kBytesPerFrameSlot = 64;
// pcap_dispatch rounds per poll wake-up. Each round drains what is ready; the bound keeps one
// interface under flood from starving timers and other interfaces (uv_poll is level-triggered,
// so anything left makes the fd readable again on the next loop turn).
constexpr int kMaxRoundsPerWake = 16;
// Consecutive poll errors with no cause found before the capture is declared failed.
constexpr int kMaxBadPolls = 100;

bool ReadInt(Napi::Object opts, const char* key, int64_t def, int64_t lo, int64_t hi, int64_t* out,
             std::string* err) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) {
    *out = def;
    return true;
  }
  if (!v.IsNumber()) {
    *err = std::string("option ") + key + " must be a number";
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<int64_t>(d)) {
    *err = std::string("option ") + key + " must be an integer in [" + std::to_string(lo) + ", " +
           std::to_string(hi) + "]";
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ReadBool(Napi::Object opts, const char* key, bool def) {
  Napi::Value v = opts.Get(key);
  return v.IsUndefined() ? def : v.ToBoolean().Value();
}

// Text for a failed pcap call: libpcap's own message when it left one, else the status name.
std::string PcapText(pcap_t* p, int status) {
  const char* msg = pcap_geterr(p);
  if (msg != nullptr && msg[0] != '\0') return msg;
  return pcap_statustostr(status);
}

// Compiles and installs a BPF filter; on failure returns false with libpcap's text in *err.
bool ApplyFilter(pcap_t* p, const std::string& expr, std::string* err) {
  struct bpf_program prog;
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    *err = "bad capture filter \"" + expr + "\": " + pcap_geterr(p);
    return false;
  }
  int rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    *err = "cannot install capture filter \"" + expr + "\": " + pcap_geterr(p);
    return false;
  }
  return true;
}

Napi::FunctionReference* CaptureConstructor(Napi::Env env) {
  return env.GetInstanceData<Napi::FunctionReference>();
}

}  // namespace

Napi::Function Capture::Define(Napi::Env env) {
  return DefineClass(env, "Capture",
                     {
                         InstanceMethod<&Capture::Stats>("stats"),
                         InstanceMethod<&Capture::SetFilter>("setFilter"),
                         InstanceMethod<&Capture::Pause>("pause"),
                         InstanceMethod<&Capture::Resume>("resume"),
                         InstanceMethod<&Capture::Close>("close"),
                         InstanceAccessor<&Capture::GetClosed>("closed"),
                     });
}

Napi::Value Capture::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    MakeError(env, "open(options, onBatch, onError): wrong arguments", ErrorKind::Invalid, 0)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value devV = opts.Get("device");
  if (!devV.IsString() || devV.As<Napi::String>().Utf8Value().empty()) {
    MakeError(env, "option device must be a non-empty string", ErrorKind::Invalid, 0)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string device = devV.As<Napi::String>().Utf8Value();
  std::string filter;
  Napi::Value filterV = opts.Get("filter");
  if (filterV.IsString()) filter = filterV.As<Napi::String>().Utf8Value();

  int64_t snapLen, bufferBytes, timeoutMs, batchBytes;
  std::string err;
  if (!ReadInt(opts, "snapLen", kMaxSnapLen, kMinSnapLen, kMaxSnapLen, &snapLen, &err) ||
      !ReadInt(opts, "bufferBytes", 16 * 1024 * 1024, kMinBufferBytes, kMaxBufferBytes, &bufferBytes, &err) ||
      !ReadInt(opts, "timeoutMs", 100, 1, 60000, &timeoutMs, &err) ||
      !ReadInt(opts, "batchBytes", 1024 * 1024, kMinBatchBytes, kMaxBatchBytes, &batchBytes, &err)) {
    MakeError(env, err, ErrorKind::Invalid, 0).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A batch must hold at least one full frame, or a large frame could never be delivered.
  batchBytes = std::max(batchBytes, snapLen);
  bool promiscuous = ReadBool(opts, "promiscuous", false);
  bool immediate = ReadBool(opts, "immediate", false);
  bool wantNano = ReadBool(opts, "nanoseconds", true);

  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  pcap_t* p = pcap_create(device.c_str(), errbuf);
  if (p == nullptr) {
    MakeError(env, device + ": " + errbuf, ErrorKind::Other, PCAP_ERROR).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Everything below closes `p` on failure, so a failed open leaves no state behind (the `cap`
  // package keeps a half-open handle on its instance and crashes when open() is called again).
  auto fail = [&](const std::string& msg, ErrorKind kind, int status) -> Napi::Value {
    pcap_close(p);
    MakeError(env, msg, kind, status).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  pcap_set_snaplen(p, static_cast<int>(snapLen));
  pcap_set_promisc(p, promiscuous ? 1 : 0);
  pcap_set_timeout(p, static_cast<int>(timeoutMs));
  pcap_set_buffer_size(p, static_cast<int>(bufferBytes));
  pcap_set_immediate_mode(p, immediate ? 1 : 0);
  if (wantNano) {
    // Not every platform offers ns stamps; micro is the fallback and JS is told which it got.
    (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  }
  int status = pcap_activate(p);
  std::string warning;
  if (status < 0) {
    std::string text = PcapText(p, status);
    // libpcap names the device in some messages and not in others; always name it once.
    if (text.compare(0, device.size() + 1, device + ":") != 0) text = device + ": " + text;
    return fail(text, KindFromActivateStatus(status), status);
  }
  if (status > 0) warning = PcapText(p, status);
  if (!filter.empty() && !ApplyFilter(p, filter, &err)) {
    return fail(err, ErrorKind::Filter, PCAP_ERROR);
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    return fail(device + ": cannot set non-blocking mode: " + errbuf, ErrorKind::Other, PCAP_ERROR);
  }
  if (pcap_get_selectable_fd(p) < 0) {
    return fail(device + ": libpcap offers no selectable descriptor on this platform", ErrorKind::Other,
                PCAP_ERROR);
  }

  OpenedPcap* opened = new OpenedPcap();
  opened->pcap = p;
  opened->device = device;
  opened->warning = warning;
  opened->snapLen = static_cast<int>(snapLen);
  opened->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  opened->batchBytes = static_cast<size_t>(batchBytes);
  opened->batchFrames = std::max<size_t>(256, opened->batchBytes / kBytesPerFrameSlot);
  // The constructor takes ownership of `opened` (and of the pcap handle inside) at once.
  return CaptureConstructor(env)->New({Napi::External<OpenedPcap>::New(env, opened), info[1], info[2]});
}

Capture::Capture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Capture>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsExternal()) {
    MakeError(env, "Capture objects are made by open()", ErrorKind::Invalid, 0).ThrowAsJavaScriptException();
    return;
  }
  OpenedPcap* opened = info[0].As<Napi::External<OpenedPcap>>().Data();
  pcap_ = opened->pcap;
  snapLen_ = static_cast<uint32_t>(opened->snapLen);
  dataCap_ = opened->batchBytes;
  frameCap_ = opened->batchFrames;
  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("device", Napi::String::New(env, opened->device));
  self.Set("warning", Napi::String::New(env, opened->warning));
  self.Set("snapLen", Napi::Number::New(env, opened->snapLen));
  self.Set("nanoseconds", Napi::Boolean::New(env, opened->nano));
  self.Set("linkType", Napi::Number::New(env, pcap_datalink(pcap_)));
  delete opened;

  Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, dataCap_);
  Napi::Float64Array meta = Napi::Float64Array::New(env, frameCap_ * kMetaStride);
  if (env.IsExceptionPending()) {
    Shutdown();
    return;
  }
  data_ = buffer.Data();
  meta_ = meta.Data();
  self.Set("buffer", buffer);
  self.Set("meta", meta);
  bufferRef_ = Napi::Persistent(buffer.As<Napi::Object>());
  metaRef_ = Napi::Persistent(meta.As<Napi::Object>());
  onBatch_ = Napi::Persistent(info[1].As<Napi::Function>());
  onError_ = Napi::Persistent(info[2].As<Napi::Function>());
  asyncContext_ = new Napi::AsyncContext(env, "picket:capture", self);

  poll_ = new uv_poll_t;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, poll_, pcap_get_selectable_fd(pcap_));
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    std::string msg = std::string("cannot poll capture descriptor: ") + uv_strerror(rc);
    Shutdown();
    MakeError(env, msg, ErrorKind::Other, 0).ThrowAsJavaScriptException();
    return;
  }
  poll_->data = this;
  // An open capture must outlive its last JS reference: the event loop still calls into it.
  Ref();
  refd_ = true;
  StartPolling();
}

Capture::~Capture() {
  // Normally Shutdown() ran from close(); this covers environment teardown.
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (pcap_ != nullptr) pcap_close(pcap_);
  pcap_ = nullptr;
  delete asyncContext_;
}

void Capture::StartPolling() {
  if (poll_ == nullptr || polling_) return;
  if (uv_poll_start(poll_, UV_READABLE, &Capture::OnPoll) == 0) polling_ = true;
}

void Capture::StopPolling() {
  if (poll_ == nullptr || !polling_) return;
  uv_poll_stop(poll_);
  polling_ = false;
}

void Capture::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  Capture* self = static_cast<Capture*>(handle->data);
  if (self == nullptr || self->pcap_ == nullptr) return;
  Napi::HandleScope scope(self->Env());
  if (status < 0) {
    // libuv reports POLLERR as UV_EBADF and stops the watcher. The fd is fine; the socket has a
    // pending error (ENETDOWN when the interface goes down or is deleted) that libpcap reads and
    // words properly, so let pcap_dispatch find it first.
    self->polling_ = false;
    self->Drain();
    if (self->failed_ || self->closing_) return;
    self->OnSocketError(status);
    return;
  }
  self->badPolls_ = 0;
  self->Drain();
}

void Capture::OnSocketError(int status) {
  // libpcap 1.10 in non-blocking mode consumes the socket error itself and, for ENETDOWN, treats
  // "interface went down" as "no packets" (the packet socket stays bound). Seen here with
  // `ip link set down`: dispatch returned 0 and SO_ERROR was already clear. We still report it,
  // so the owner logs the state change and reopens (which fails until the interface is up),
  // instead of a capture that silently goes quiet.
  std::string device = Value().Get("device").ToString().Utf8Value();
  int fd = pcap_get_selectable_fd(pcap_);
  int soErr = 0;
  socklen_t len = sizeof soErr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr != 0) {
    ErrorKind kind = soErr == ENETDOWN                     ? ErrorKind::IfaceDown
                     : (soErr == ENODEV || soErr == ENXIO) ? ErrorKind::NoSuchDevice
                                                           : ErrorKind::Other;
    ReportError(device + ": " + std::strerror(soErr), kind);
    return;
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, device.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    if (errno == ENODEV || errno == ENXIO) {
      ReportError(device + ": the interface disappeared", ErrorKind::NoSuchDevice);
      return;
    }
  } else if ((ifr.ifr_flags & IFF_UP) == 0) {
    ReportError(device + ": the interface went down", ErrorKind::IfaceDown);
    return;
  }
  // A spurious error indication: keep polling, but never spin on one that keeps coming back.
  if (++badPolls_ > kMaxBadPolls) {
    ReportError(device + ": poll failed: " + uv_strerror(status), ErrorKind::Other);
    return;
  }
  StartPolling();
}

void Capture::Drain() {
  inDispatch_ = true;
  int rc = 0;
  for (int round = 0; round < kMaxRoundsPerWake; round++) {
    rc = pcap_dispatch(pcap_, -1, &Capture::OnPacket, reinterpret_cast<u_char*>(this));
    if (rc <= 0 || closing_ || paused_) break;
  }
  if (count_ > 0 && !closing_) Flush();
  inDispatch_ = false;
  if (closing_) {
    Shutdown();
    return;
  }
  if (rc == PCAP_ERROR) {
    std::string text = pcap_geterr(pcap_);
    ReportError(text, KindFromRuntimeText(text));
  }
}

void Capture::OnPacket(u_char* user, const struct pcap_pkthdr* hdr, const u_char* bytes) {
  Capture* self = reinterpret_cast<Capture*>(user);
  if (self->closing_) return;
  size_t caplen = std::min<size_t>(hdr->caplen, self->dataCap_);
  if (self->count_ == self->frameCap_ || self->used_ + caplen > self->dataCap_) {
    self->Flush();
    if (self->closing_) return;
  }
  std::memcpy(self->data_ + self->used_, bytes, caplen);
  double* m = self->meta_ + self->count_ * kMetaStride;
  m[0] = static_cast<double>(self->used_);
  m[1] = static_cast<double>(caplen);
  m[2] = static_cast<double>(hdr->len);
  m[3] = static_cast<double>(hdr->ts.tv_sec);
  m[4] = static_cast<double>(hdr->ts.tv_usec);  // ns when the handle has nano precision
  self->used_ += caplen;
  self->count_++;
}

void Capture::Flush() {
  Napi::Env env = Env();
  // Flushes can repeat many times within one poll wake-up; keep their handles short-lived.
  Napi::HandleScope scope(env);
  size_t n = count_;
  // JS reads the frames in place during the call; the slots are reused right after it returns.
  onBatch_.MakeCallback(Value(), {Napi::Number::New(env, static_cast<double>(n))}, *asyncContext_);
  count_ = 0;
  used_ = 0;
  if (env.IsExceptionPending()) {
    // A throwing consumer must not be fed more frames; hand the exception to Node's usual
    // uncaught-exception path and stop this capture.
    Napi::Error e = env.GetAndClearPendingException();
    failed_ = true;
    closing_ = true;
    if (inDispatch_) pcap_breakloop(pcap_);
    napi_fatal_exception(env, e.Value());
  }
}

void Capture::ReportError(const std::string& message, ErrorKind kind) {
  if (failed_ || closing_) return;
  failed_ = true;
  StopPolling();
  Napi::Env env = Env();
  Napi::Error err = MakeError(env, message, kind, PCAP_ERROR);
  onError_.MakeCallback(Value(), {err.Value()}, *asyncContext_);
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

void Capture::Shutdown() {
  StopPolling();
  if (poll_ != nullptr) {
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
    pcap_ = nullptr;
    onBatch_.Reset();
    onError_.Reset();
    delete asyncContext_;
    asyncContext_ = nullptr;
    closing_ = true;
  }
  if (refd_) {
    refd_ = false;
    Unref();
  }
}

Napi::Value Capture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (pcap_ == nullptr) {
    MakeError(env, "capture is closed", ErrorKind::Closed, 0).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct pcap_stat st;
  std::memset(&st, 0, sizeof st);
  if (pcap_stats(pcap_, &st) != 0) {
    std::string text = pcap_geterr(pcap_);
    MakeError(env, text, KindFromRuntimeText(text), PCAP_ERROR).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  // u_int counters: they wrap at 2^32; the TS layer accumulates deltas modulo 2^32.
  out.Set("received", Napi::Number::New(env, st.ps_recv));
  out.Set("dropped", Napi::Number::New(env, st.ps_drop));
  out.Set("ifDropped", Napi::Number::New(env, st.ps_ifdrop));
  return out;
}

Napi::Value Capture::SetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (pcap_ == nullptr || closing_) {
    MakeError(env, "capture is closed", ErrorKind::Closed, 0).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (inDispatch_) {
    // libpcap may be walking the ring with the old program; change it between batches instead.
    MakeError(env, "setFilter() cannot run inside onBatch; call it from another tick", ErrorKind::Invalid, 0)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 1 || !info[0].IsString()) {
    MakeError(env, "setFilter(expression: string)", ErrorKind::Invalid, 0).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string expr = info[0].As<Napi::String>().Utf8Value();
  std::string err;
  // An empty expression means "everything": libpcap compiles "" to accept-all.
  if (!ApplyFilter(pcap_, expr, &err)) {
    MakeError(env, err, ErrorKind::Filter, PCAP_ERROR).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Capture::Pause(const Napi::CallbackInfo& info) {
  paused_ = true;
  StopPolling();
  if (inDispatch_ && pcap_ != nullptr) pcap_breakloop(pcap_);
  return info.Env().Undefined();
}

Napi::Value Capture::Resume(const Napi::CallbackInfo& info) {
  if (paused_ && !failed_ && !closing_) {
    paused_ = false;
    StartPolling();
  }
  return info.Env().Undefined();
}

Napi::Value Capture::Close(const Napi::CallbackInfo& info) {
  if (pcap_ != nullptr && !closing_) {
    closing_ = true;
    if (inDispatch_) {
      // Closing from inside onBatch: libpcap is still on the stack, so the handle is released
      // when pcap_dispatch returns (see Drain).
      pcap_breakloop(pcap_);
    } else {
      Shutdown();
    }
  }
  return info.Env().Undefined();
}

Napi::Value Capture::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), pcap_ == nullptr || closing_);
}

}  // namespace picket
