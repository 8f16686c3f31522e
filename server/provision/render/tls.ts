// TLS settings shared by HAProxy and nginx: Mozilla's "intermediate" profile
// (TLS 1.2 and 1.3, forward-secret AEAD ciphers only). The DHE suites of the
// profile are left out, so no Diffie-Hellman parameters file is needed.
export const TLS_PROTOCOLS = ["TLSv1.2", "TLSv1.3"];
export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");
export const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
/** Two years, as Mozilla recommends. */
export const HSTS = "max-age=63072000";
