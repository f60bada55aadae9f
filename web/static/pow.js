// Floodgate join challenge solver, run in a Web Worker so the page stays
// responsive. It finds a nonce such that SHA-256(prefix ‖ nonce) begins with
// `difficulty` zero bits. The prefix and a nonce of up to 30 characters fit
// in one 64-byte block, so every try is a single compression of a block
// whose only changing bytes are the nonce's: no allocation per try.
"use strict";

var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);
var W = new Int32Array(64);
var block = new Uint8Array(64);

function b64url(s) {
  s = s.replace(/-/g, "+").replace(/_/g, "/");
  while (s.length % 4) s += "=";
  var bin = atob(s), out = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// leadingZeros compresses the block and counts the zero bits at the start
// of the digest, stopping at the first non-zero word.
function leadingZeros(need) {
  var i;
  for (i = 0; i < 16; i++) {
    W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
  }
  for (i = 16; i < 64; i++) {
    var w15 = W[i - 15], w2 = W[i - 2];
    var s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    var s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  var a = 0x6a09e667, b = 0xbb67ae85 | 0, c = 0x3c6ef372, d = 0xa54ff53a | 0,
    e = 0x510e527f, f = 0x9b05688c | 0, g = 0x1f83d9ab, h = 0x5be0cd19;
  for (i = 0; i < 64; i++) {
    var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    var ch = (e & f) ^ (~e & g);
    var t1 = (h + S1 + ch + K[i] + W[i]) | 0;
    var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    var maj = (a & b) ^ (a & c) ^ (b & c);
    var t2 = (S0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  out[0] = (a + 0x6a09e667) | 0; out[1] = (b + 0xbb67ae85) | 0; out[2] = (c + 0x3c6ef372) | 0;
  out[3] = (d + 0xa54ff53a) | 0; out[4] = (e + 0x510e527f) | 0; out[5] = (f + 0x9b05688c) | 0;
  out[6] = (g + 0x1f83d9ab) | 0; out[7] = (h + 0x5be0cd19) | 0;
  var zeros = 0;
  for (i = 0; i < 8 && zeros < need; i++) {
    if (out[i] !== 0) return zeros + Math.clz32(out[i]);
    zeros += 32;
  }
  return zeros;
}
var out = new Int32Array(8);

self.onmessage = function (ev) {
  var prefix = b64url(ev.data.prefix);
  var difficulty = ev.data.difficulty;
  if (prefix.length > 24) { self.postMessage({ error: "prefix too long" }); return; }
  var start = Date.now(), lastLen = -1;
  block.set(prefix, 0);
  for (var n = 0; ; n++) {
    var nonce = n.toString(36);
    var len = prefix.length + nonce.length;
    if (len !== lastLen) {
      // A longer nonce moves the padding: clear the tail once.
      block.fill(0, prefix.length);
      var bitsLen = len * 8;
      block[62] = (bitsLen >>> 8) & 0xff;
      block[63] = bitsLen & 0xff;
      block[len] = 0x80;
      lastLen = len;
    }
    for (var j = 0; j < nonce.length; j++) block[prefix.length + j] = nonce.charCodeAt(j);
    if (leadingZeros(difficulty) >= difficulty) {
      self.postMessage({ nonce: nonce, hashes: n + 1, ms: Date.now() - start });
      return;
    }
    if ((n & 0x3fff) === 0x3fff) self.postMessage({ hashes: n + 1 });
  }
};
