// The baseline push sender of `cargo xtask bench`: Node's `web-push`
// sending one message to each of N subscriptions, all at once.
//
// stdin, one JSON line: {"subscriptions": [PushSubscription JSON...],
// "payload": "..."}; then a line "go" per fan-out, answered on stdout with
// "sent <failures>" once every request has been answered. The VAPID key pair
// is made here; its public key is the first line on stdout.
//
// web-push always calls `https.request`; the harness's push service is plain
// HTTP on 127.0.0.1 (the Rust server talks to it without TLS too), so the
// requests to `http:` endpoints go through `http.request` instead.
'use strict';
const http = require('http');
const https = require('https');
const readline = require('readline');
const webpush = require('web-push');

// (It passes hostname, port and path only, so the hosts are told apart by
// the endpoints' own URLs.)
const plainHosts = new Set();
const httpsRequest = https.request;
https.request = (options, callback) =>
  plainHosts.has(`${options.hostname}:${options.port}`)
    ? http.request(options, callback)
    : httpsRequest(options, callback);

const keys = webpush.generateVAPIDKeys();
webpush.setVapidDetails('mailto:bench@example.com', keys.publicKey, keys.privateKey);
console.log(JSON.stringify({ publicKey: keys.publicKey }));

let job = null;
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (job === null) {
    job = JSON.parse(line);
    for (const { endpoint } of job.subscriptions) {
      const url = new URL(endpoint);
      if (url.protocol === 'http:') plainHosts.add(`${url.hostname}:${url.port}`);
    }
    console.log('ready');
    return;
  }
  if (line.trim() !== 'go') return;
  const results = await Promise.allSettled(
    job.subscriptions.map((subscription) =>
      // The same RFC 8030 delivery headers our server sends.
      webpush.sendNotification(subscription, job.payload, {
        TTL: 86400,
        urgency: 'normal',
        topic: 'new-articles',
      }),
    ),
  );
  const failures = results.filter((r) => r.status === 'rejected');
  if (failures.length > 0) console.error(String(failures[0].reason && (failures[0].reason.body || failures[0].reason)));
  console.log(`sent ${failures.length}`);
});
