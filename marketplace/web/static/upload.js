// Browser upload for the new-version wizard: hash each file with SHA-256 as it streams from disk,
// declare it, then send its parts straight to storage through presigned URLs, with progress.
// The server verifies size and digest again at publish, so nothing here is trusted.
(function () {
  "use strict";
  var root = document.getElementById("uploader");
  if (!root) return;
  var CSRF = root.dataset.csrf, FILES_API = root.dataset.api, CHUNK = 8 * 1024 * 1024, PARALLEL = 4;

  // ---- SHA-256, incremental (WebCrypto has no streaming digest and files may be huge).
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function Sha256() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.buf = new Uint8Array(64); this.bufLen = 0; this.total = 0; this.w = new Uint32Array(64);
  }
  Sha256.prototype.block = function (d, o) {
    var w = this.w, h = this.h, i, a, b, c, e, f, g, hh, dd, t1, t2, x, y;
    for (i = 0; i < 16; i++) w[i] = (d[o + 4 * i] << 24) | (d[o + 4 * i + 1] << 16) | (d[o + 4 * i + 2] << 8) | d[o + 4 * i + 3];
    for (i = 16; i < 64; i++) {
      x = w[i - 15]; y = w[i - 2];
      w[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 16] +
             (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + w[i - 7] | 0;
    }
    a = h[0]; b = h[1]; c = h[2]; dd = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
      t1 = hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + w[i] | 0;
      t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c)) | 0;
      hh = g; g = f; f = e; e = dd + t1 | 0; dd = c; c = b; b = a; a = t1 + t2 | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += dd; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };
  Sha256.prototype.update = function (data) {
    var i = 0, n = data.length;
    this.total += n;
    if (this.bufLen) {
      while (this.bufLen < 64 && i < n) this.buf[this.bufLen++] = data[i++];
      if (this.bufLen === 64) { this.block(this.buf, 0); this.bufLen = 0; }
    }
    for (; i + 64 <= n; i += 64) this.block(data, i);
    while (i < n) this.buf[this.bufLen++] = data[i++];
  };
  Sha256.prototype.hex = function () {
    var bits = this.total * 8, pad = new Uint8Array(((this.bufLen < 56) ? 56 : 120) - this.bufLen + 8), i, out = "";
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[pad.length - 1 - i] = Math.floor(bits / Math.pow(2, 8 * i)) & 0xff;
    this.update(pad);
    for (i = 0; i < 8; i++) out += ("00000000" + this.h[i].toString(16)).slice(-8);
    return out;
  };

  // ---- HTTP helpers (the session cookie authenticates; the CSRF token goes in a header).
  function api(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
      headers: body ? {"Content-Type": "application/json", "X-CSRF-Token": CSRF} : {"X-CSRF-Token": CSRF},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (j) {
        if (!r.ok) { var e = new Error(j.detail || j.title || ("HTTP " + r.status)); e.problem = j; throw e; }
        return j;
      });
    });
  }
  function putPart(url, headers, blob, onProgress) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open("PUT", url);
      // A part URL signed for a checksum must carry it (S3's x-amz-checksum-crc32).
      Object.keys(headers || {}).forEach(function (h) { x.setRequestHeader(h, headers[h]); });
      x.upload.onprogress = function (ev) { onProgress(ev.loaded); };
      x.onload = function () {
        if (x.status >= 200 && x.status < 300) resolve((x.getResponseHeader("ETag") || "").replace(/"/g, ""));
        else reject(new Error("storage refused a part (HTTP " + x.status + ")"));
      };
      x.onerror = function () { reject(new Error("storage unreachable (network error)")); };
      x.send(blob);
    });
  }

  function row(file, path) {
    var li = document.createElement("li");
    li.innerHTML = '<span class="name"></span> <progress max="100" value="0"></progress> <span class="state">waiting</span>';
    li.querySelector(".name").textContent = path;
    li.querySelector("progress").setAttribute("aria-label", "Upload of " + path);
    document.getElementById("upload-list").appendChild(li);
    return {
      set: function (pct, state) { li.querySelector("progress").value = pct; if (state) li.querySelector(".state").textContent = state; },
      fail: function (msg) { li.classList.add("failed"); li.querySelector(".state").textContent = "failed: " + msg; },
      el: li
    };
  }

  // ---- CRC-32 (IEEE, as S3's x-amz-checksum-crc32) of each part, in the same pass as SHA-256.
  var CRC_TABLE = (function () {
    var t = new Int32Array(256), c, n, k;
    for (n = 0; n < 256; n++) { c = n; for (k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c; }
    return t;
  })();
  function crc32(data, crc) {
    crc = ~crc;
    for (var i = 0, n = data.length; i < n; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    return ~crc;
  }
  function crcBase64(crc) {
    return btoa(String.fromCharCode((crc >>> 24) & 0xff, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff));
  }
  // Parts are whole hashing chunks (so a part's CRC is the CRC of its chunks), within S3's
  // 10,000-part limit.
  function partSizeFor(size) {
    return Math.max(1, Math.ceil(size / 10000 / CHUNK)) * CHUNK;
  }

  function hashFile(file, ui) {
    var h = new Sha256(), offset = 0, partSize = partSizeFor(file.size), crc = 0, crcs = [];
    function next() {
      if (offset >= file.size) {
        if (offset % partSize) crcs.push(crcBase64(crc));
        return Promise.resolve({sha256: h.hex(), partSize: partSize, crcs: crcs});
      }
      var end = Math.min(offset + CHUNK, file.size);
      return file.slice(offset, end).arrayBuffer().then(function (buf) {
        var bytes = new Uint8Array(buf);
        h.update(bytes);
        crc = crc32(bytes, crc);
        offset = end;
        if (offset % partSize === 0) { crcs.push(crcBase64(crc)); crc = 0; }
        ui.set(Math.round(offset * 100 / Math.max(file.size, 1)), "computing SHA-256…");
        return next();
      });
    }
    return next();
  }

  function uploadParts(file, meta, digest, ui) {
    var fileApi = FILES_API.replace(/\/versions\/[^/]+\/files$/, "/files/" + meta.id);
    // Each part URL is signed for the part's CRC-32, so storage refuses a part damaged on the way.
    var start = digest.crcs.length ? {part_size: digest.partSize, part_checksums: digest.crcs} : {part_size: digest.partSize};
    return api("POST", fileApi + "/multipart", start).then(function (plan) {
      var etags = {}, sent = {}, urls = {}, queue = [], total = file.size || 1;
      (plan.received || []).forEach(function (p) { etags[p.part_number] = p.etag; sent[p.part_number] = p.size; });
      (plan.parts || []).forEach(function (p) { urls[p.part_number] = p; });
      for (var n = 1; n <= plan.part_count; n++) if (!etags[n]) queue.push(n);
      function progress() {
        var s = 0; for (var k in sent) s += sent[k];
        ui.set(Math.round(s * 100 / total), "uploading " + Math.round(s * 100 / total) + "%");
      }
      function urlFor(n) {
        if (urls[n]) return Promise.resolve(urls[n]);
        return api("GET", fileApi + "/multipart?first=" + n + "&count=100").then(function (more) {
          (more.parts || []).forEach(function (p) { urls[p.part_number] = p; });
          return urls[n];
        });
      }
      function worker() {
        var n = queue.shift();
        if (n === undefined) return Promise.resolve();
        return urlFor(n).then(function (p) {
          return putPart(p.url, p.headers, file.slice(p.offset, p.offset + p.size), function (loaded) { sent[n] = loaded; progress(); })
            .then(function (etag) { etags[n] = etag; sent[n] = p.size; progress(); return worker(); });
        });
      }
      var workers = [];
      for (var i = 0; i < PARALLEL; i++) workers.push(worker());
      return Promise.all(workers).then(function () {
        ui.set(100, "assembling…");
        var parts = Object.keys(etags).map(Number).sort(function (a, b) { return a - b; })
          .map(function (k) { return {part_number: k, etag: etags[k]}; });
        return api("POST", fileApi + "/multipart/complete", {parts: parts});
      });
    });
  }

  function uploadOne(file, prefix) {
    var path = (prefix ? prefix.replace(/\/*$/, "/") : "") + (file.webkitRelativePath || file.name);
    var ui = row(file, path);
    var digest;
    return hashFile(file, ui).then(function (d) {
      digest = d;
      var sha = d.sha256;
      return api("POST", FILES_API, {path: path, size: file.size, sha256: sha}).catch(function (e) {
        // Declared by an earlier, interrupted attempt: resume that file if it is the same bytes.
        return api("GET", FILES_API).then(function (list) {
          var prev = list.filter(function (f) { return f.path === path; })[0];
          if (!prev || prev.sha256 !== sha || prev.size !== file.size) throw e;
          prev.already_stored = prev.status === "uploaded" || prev.status === "verified";
          return prev;
        });
      });
    }).then(function (meta) {
      if (meta.already_stored) { ui.set(100, "already stored (identical bytes)"); return; }
      return uploadParts(file, meta, digest, ui).then(function (done) { ui.set(100, done.status === "uploaded" ? "uploaded" : done.status); });
    }).catch(function (e) {
      var extra = e.problem && e.problem.errors ? " " + JSON.stringify(e.problem.errors) : "";
      ui.fail(e.message + extra);
      throw e;
    });
  }

  document.getElementById("upload-btn").addEventListener("click", function () {
    var files = Array.prototype.slice.call(document.getElementById("files").files), prefix = document.getElementById("prefix").value.trim();
    if (!files.length) return;
    var btn = this; btn.disabled = true;
    var failed = 0;
    files.reduce(function (p, f) { return p.then(function () { return uploadOne(f, prefix).catch(function () { failed++; }); }); }, Promise.resolve())
      .then(function () {
        btn.disabled = false;
        var msg = document.createElement("li");
        msg.className = failed ? "failed" : "done";
        msg.id = "upload-done";
        msg.textContent = failed ? failed + " file(s) failed; fix and try again (finished parts are kept)." : "All files uploaded. Reloading…";
        document.getElementById("upload-list").appendChild(msg);
        if (!failed) setTimeout(function () { location.reload(); }, 600);
      });
  });
})();
