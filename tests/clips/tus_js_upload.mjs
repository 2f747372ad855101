// Upload a file with tus-js-client in Node, as tests/clips/test_tus_js_client.py asks.
//
//   node tests/clips/tus_js_upload.mjs ENDPOINT TOKEN FILE
//        [--stop-after BYTES] [--upload-url URL] [--chunk-size BYTES] [--slot ID]
//
// --stop-after aborts the upload once the server has accepted at least BYTES and prints
// where it stopped; --upload-url resumes that upload instead of creating a new one.
// Prints one JSON object a line: every request sent ({"event": "request", ...}), then
// {"event": "stopped" | "success", "url": ..., "offset": ...}, or {"event": "error"} and
// exit status 1.
import fs from "node:fs";
import path from "node:path";
import tus from "tus-js-client";

function parse(argv) {
  const [endpoint, token, file, ...rest] = argv;
  if (!endpoint || !token || !file) {
    console.error("usage: tus_js_upload.mjs ENDPOINT TOKEN FILE [--stop-after N] [--upload-url URL]");
    process.exit(2);
  }
  const options = { endpoint, token, file, stopAfter: null, uploadUrl: null, chunkSize: 65536, slot: null };
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    switch (rest[i]) {
      case "--stop-after": options.stopAfter = Number(value); break;
      case "--upload-url": options.uploadUrl = value; break;
      case "--chunk-size": options.chunkSize = Number(value); break;
      case "--slot": options.slot = value; break;
      default:
        console.error(`unknown option ${rest[i]}`);
        process.exit(2);
    }
  }
  return options;
}

function print(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

const options = parse(process.argv.slice(2));
const metadata = { filename: path.basename(options.file), filetype: "video/mp4" };
if (options.slot) metadata.slot = options.slot;

const upload = new tus.Upload(fs.createReadStream(options.file), {
  endpoint: options.endpoint,
  uploadUrl: options.uploadUrl,
  headers: { Authorization: `Bearer ${options.token}` },
  chunkSize: options.chunkSize,
  metadata,
  retryDelays: [0, 500, 1000],
  onBeforeRequest(req) {
    print({ event: "request", method: req.getMethod(), offset: req.getHeader("Upload-Offset") ?? null });
  },
  onChunkComplete(_size, accepted) {
    if (options.stopAfter !== null && accepted >= options.stopAfter) {
      // The server has these bytes: stop as a phone whose battery died would.
      upload.abort().then(() => {
        print({ event: "stopped", url: upload.url, offset: accepted });
        process.exit(0);
      });
    }
  },
  onSuccess() {
    print({ event: "success", url: upload.url, offset: fs.statSync(options.file).size });
    process.exit(0);
  },
  onError(error) {
    print({ event: "error", message: String(error) });
    process.exit(1);
  },
});
upload.start();
