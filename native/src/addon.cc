// picket_pcap: live packet capture for Picket over libpcap.
//
// Exports:
//   open(options, onBatch, onError) -> Capture   (see capture.h / agent/source/live/pcap-addon.ts)
//   listInterfaces() -> { name, description, up, running, loopback }[]
//   libVersion: string (pcap_lib_version())
#include <napi.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "errors.h"

namespace picket {

Napi::Value ListInterfaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pcap_if_t* devs = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  if (pcap_findalldevs(&devs, errbuf) != 0) {
    MakeError(env, errbuf, ErrorKind::Other, PCAP_ERROR).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  // The list is libpcap's own linked list; 4096 bounds a corrupted or absurd list.
  for (pcap_if_t* d = devs; d != nullptr && i < 4096; d = d->next) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, d->name != nullptr ? d->name : ""));
    o.Set("description", Napi::String::New(env, d->description != nullptr ? d->description : ""));
    o.Set("up", Napi::Boolean::New(env, (d->flags & PCAP_IF_UP) != 0));
    o.Set("running", Napi::Boolean::New(env, (d->flags & PCAP_IF_RUNNING) != 0));
    o.Set("loopback", Napi::Boolean::New(env, (d->flags & PCAP_IF_LOOPBACK) != 0));
    out.Set(i++, o);
  }
  pcap_freealldevs(devs);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Capture::Define(env);
  // Kept as instance data so open() can construct Capture objects (freed with the env).
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("Capture", ctor);
  exports.Set("open", Napi::Function::New(env, &Capture::Open, "open"));
  exports.Set("listInterfaces", Napi::Function::New(env, &ListInterfaces, "listInterfaces"));
  exports.Set("libVersion", Napi::String::New(env, pcap_lib_version()));
  return exports;
}

}  // namespace picket

static Napi::Object InitPicketPcap(Napi::Env env, Napi::Object exports) { return picket::Init(env, exports); }

NODE_API_MODULE(picket_pcap, InitPicketPcap)
