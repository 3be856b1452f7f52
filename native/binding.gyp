# Builds picket_pcap.node, the live-capture addon over libpcap (see src/capture.cc).
# Built by `npm install` / `npm ci` through the root package.json "install" script
# (native/install.mjs -> node-gyp rebuild --directory native). Needs a C++ compiler and
# libpcap headers (Debian: build-essential libpcap-dev).
{
  'targets': [
    {
      'target_name': 'picket_pcap',
      'sources': ['src/addon.cc', 'src/capture.cc', 'src/errors.cc'],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-Wall', '-Wextra', '-O2'],
      'libraries': ['-lpcap'],
    },
  ],
}
