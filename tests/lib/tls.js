'use strict';
// TLS for tests: a certificate authority made by the test with the openssl command (nothing
// trusted by the system, nothing checked in), server certificates it signs for localhost and
// 127.0.0.1, a look at what a node's TLS handshake presents, and pusher-js over wss:// in a
// child process that trusts the CA (see pusher-js-tls-child.js).

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const tls = require('node:tls');
const { APP, HOST, Inbox, withTimeout, WAIT_MS } = require('./util');

function openssl(args) {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`);
}

// A new CA in a temporary directory: {dir, caFile, issue(name, cn) → {cert, key}}, where
// issue writes NAME.crt (the certificate, then the CA: a full chain) and NAME.key, valid for
// localhost and 127.0.0.1, and returns their paths.
function makeTestCa() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-tls-'));
  const caFile = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=rtmesh test CA']);
  let serial = 0;
  function issue(name, cn) {
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const leaf = path.join(dir, `${name}.leaf`);
    const ext = path.join(dir, `${name}.ext`);
    fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl(['req', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    serial += 1;
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(serial), '-days', '2', '-extfile', ext, '-out', leaf]);
    const cert = path.join(dir, `${name}.crt`);
    fs.writeFileSync(cert, fs.readFileSync(leaf, 'utf8') + fs.readFileSync(caFile, 'utf8'));
    return { cert, key };
  }
  return { dir, caFile, issue, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// Copies a pair issued by makeTestCa over the files a node reads ({cert, key} paths), each
// replaced by a rename as certbot and Kubernetes do, key first.
function installPair(pair, files) {
  for (const k of ['key', 'cert']) {
    fs.copyFileSync(pair[k], `${files[k]}.tmp`);
    fs.renameSync(`${files[k]}.tmp`, files[k]);
  }
}

// A TLS handshake with the node at port trusting caFile (options: tls.connect's, e.g.
// ALPNProtocols, maxVersion, session). Resolves {subjectCn, protocol, alpn, reused, session}
// and closes the connection.
function handshake(port, caFile, options = {}) {
  const connected = new Promise((resolve, reject) => {
    let session;
    const socket = tls.connect({ host: HOST, port, servername: 'localhost', ca: fs.readFileSync(caFile), ...options }, () => {
      const info = {
        subjectCn: (socket.getPeerCertificate().subject || {}).CN,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
        reused: socket.isSessionReused(),
      };
      // TLS 1.3 tickets come after the handshake: the session is complete on its event.
      const done = () => {
        socket.end();
        resolve({ ...info, session });
      };
      if (info.protocol === 'TLSv1.3' && !info.reused) socket.once('session', (s) => { session = s; done(); });
      else { session = socket.getSession(); done(); }
    });
    socket.on('error', reject);
  });
  return withTimeout(connected, WAIT_MS, `a TLS handshake with port ${port}`);
}

// pusher-js with forceTLS: true connecting to the node at port, trusting caFile, subscribed to
// channels. Resolves once every channel is subscribed, with {inbox, stop()}: inbox receives the
// child's lines (see pusher-js-tls-child.js); stop() disconnects it. Registers stop with t
// (a test context, or null: the caller stops it).
async function pusherJsOverTls(t, port, caFile, channels) {
  const child = spawn(process.execPath, [path.join(__dirname, 'pusher-js-tls-child.js'), String(port), APP.key, ...channels], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const inbox = new Inbox(`pusher-js over wss:// to port ${port}`);
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => inbox.push(JSON.parse(line)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then((code) => inbox.end(`the pusher-js process exited (${code}): ${stderr}`));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  if (t) t.after(stop);
  for (const channel of channels) await inbox.next((m) => m.type === 'subscribed' && m.channel === channel, `subscribed to ${channel}`);
  return { inbox, stop };
}

// A HOME directory for a browser that trusts caFile as Chromium on Linux trusts a CA a user
// added: its NSS database ($HOME/.pki/nssdb, made with certutil from libnss3-tools). Returns
// the path (inside dir).
function browserHomeTrusting(dir, caFile) {
  const home = path.join(dir, 'browser-home');
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  for (const args of [['-N', '--empty-password'], ['-A', '-t', 'C,,', '-n', 'rtmesh test CA', '-i', caFile]]) {
    const run = spawnSync('certutil', ['-d', `sql:${db}`, ...args], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`certutil ${args.join(' ')} failed (libnss3-tools): ${run.stderr || run.error}`);
  }
  return home;
}

module.exports = { makeTestCa, installPair, handshake, pusherJsOverTls, browserHomeTrusting };
