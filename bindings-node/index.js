'use strict';
// Nodemailer's API over polymailer's Rust engine: `require('nodemailer')` becomes
// `require('polymailer')`. This file only translates idioms (options shapes, callbacks and
// Promises, events, Error objects); every SMTP behaviour is in the Rust core.

const EventEmitter = require('events');
const fs = require('fs');
const native = loadNative();

/** The engine: a locally built `polymailer.<platform>.node`, or the platform package npm installed. */
function loadNative() {
  try {
    return require('./native.js');
  } catch (err) {
    const libc = process.platform === 'linux' ? (process.report && process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
    const platform = `${process.platform}-${process.arch}${libc}`;
    throw Object.assign(
      new Error(
        `polymailer has no engine for ${platform}: prebuilt packages exist for linux-x64-gnu (polymailer-linux-x64-gnu, ` +
          `installed through optionalDependencies; reinstall without --no-optional / --omit=optional). ` +
          `To build from source (needs Rust, https://rustup.rs): in a clone of the polymailer repository run \`make node\`, ` +
          `then install its bindings-node directory (npm install /path/to/polymailer/bindings-node)`
      ),
      { code: 'ENOENGINE', platform, cause: err }
    );
  }
}

const { NativeTransport, checkOptions, parseDataUri } = native;

/** Well-known service settings ({description, host, port, secure}) or false, as nodemailer/lib/well-known. */
function wellKnown(name) {
  const found = native.wellKnown(String(name));
  if (!found) return false;
  if (found.ignoreTLS == null) delete found.ignoreTLS;
  return found;
}

/** `smtp://user:pass@host:port/?pool=true&...` → options, as Nodemailer parses connection URLs. */
function parseConnectionUrl(str) {
  const { error, ...options } = native.parseConnectionUrl(String(str));
  if (error) throw toError(error);
  return options;
}

function toBuffer(value, encoding) {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') return Buffer.from(value, encoding || 'utf8');
  throw Object.assign(new Error(`content of type ${typeof value}: pass a Buffer, a string, a stream or a path`), {
    code: 'EMESSAGE',
  });
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Nodemailer's `logger` option: `true` logs to the console, an object is a bunyan-style logger. */
function makeLogger(option) {
  if (!option) return null;
  if (option === true) {
    const out = {};
    for (const level of LEVELS) {
      out[level] = (data, message, ...args) => {
        const text = require('util').format(message, ...args);
        const line = `[${new Date().toISOString()}] ${level.toUpperCase()} ${text}`;
        (level === 'error' || level === 'fatal' ? console.error : console.log)(line);
      };
    }
    return out;
  }
  return option;
}

const present = (v) => v !== undefined && v !== null && v !== false && v !== '';

const isStream = (v) => v !== null && typeof v === 'object' && typeof v.pipe === 'function' && typeof v.on === 'function';

function messageError(text) {
  return Object.assign(new Error(text), { code: 'EMESSAGE' });
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** `data:[type][;base64],data` → { content, contentType } (read by the core). */
function dataUri(uri) {
  const { content, contentType, error } = parseDataUri(uri);
  if (error) throw toError(error);
  return { content, contentType: contentType || undefined };
}

/** A file stream opened on a whole file is sent from its path (read while sending, never held). */
function wholeFileStream(v) {
  return (
    v instanceof fs.ReadStream &&
    typeof v.path === 'string' &&
    v.bytesRead === 0 &&
    !v.readableFlowing &&
    (v.start === undefined || v.start === 0) &&
    (v.end === undefined || v.end === Infinity)
  );
}

/**
 * text / html / raw as Nodemailer takes them: a string or Buffer, a stream, or an
 * attachment-like { content } / { path } (a local file, a data: URI, an http(s) URL) / { href }.
 */
async function bodySource(v, field) {
  if (v === undefined || v === null || v === false || typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (isStream(v)) return collect(v);
  if (typeof v === 'object') {
    if (v.content !== undefined) return bodySource(v.content, field);
    if (v.href !== undefined) return fetchUrl(v.href, v.httpHeaders, field);
    if (typeof v.path === 'string') {
      if (v.path.startsWith('data:')) return dataUri(v.path).content;
      if (/^https?:\/\//i.test(v.path)) return fetchUrl(v.path, v.httpHeaders, field);
      if (v.path.includes('://')) throw messageError(`${field}: path ${JSON.stringify(v.path)}: only local files and http(s) URLs are read`);
      try {
        return await fs.promises.readFile(v.path);
      } catch (e) {
        throw messageError(`${field}: ${e.message}`);
      }
    }
  }
  return String(v);
}

/**
 * Nodemailer's `href` (and http(s) `path`) sources: fetched with a bound (60 s), a non-2xx
 * answer or another scheme is an EMESSAGE error. `disableUrlAccess` refuses them earlier.
 */
async function fetchUrl(url, headers, field) {
  if (!/^https?:\/\//i.test(String(url))) throw messageError(`${field}: only http(s) URLs are fetched, not ${JSON.stringify(String(url))}`);
  let res;
  try {
    res = await fetch(String(url), { headers: headers || {}, signal: AbortSignal.timeout(60000), redirect: 'follow' });
  } catch (e) {
    throw messageError(`${field}: fetching ${url} failed: ${e.message}`);
  }
  if (!res.ok) throw messageError(`${field}: fetching ${url} answered ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Attachment streams and data: URIs become what the engine takes: a Buffer or a file path. */
async function attachmentSource(a) {
  if (a === null || typeof a !== 'object') return a;
  const url = a.content === undefined && (a.href !== undefined ? String(a.href) : /^https?:\/\//i.test(String(a.path || '')) ? a.path : null);
  if (url) {
    const content = await fetchUrl(url, a.httpHeaders, `attachment ${a.filename || ''}`);
    const filename = a.filename !== undefined ? a.filename : url.split('/').pop().split('?').shift() || 'attachment';
    return { ...a, href: undefined, path: undefined, content, filename };
  }
  if (isStream(a.content)) {
    if (wholeFileStream(a.content)) {
      const file = a.content.path;
      a.content.destroy();
      return { ...a, content: undefined, path: file };
    }
    return { ...a, content: await collect(a.content) };
  }
  if (a.content === undefined && typeof a.path === 'string' && a.path.startsWith('data:')) {
    const { content, contentType } = dataUri(a.path);
    return { ...a, path: undefined, content, contentType: a.contentType || contentType };
  }
  if (a.content !== undefined && !Buffer.isBuffer(a.content) && (a.encoding || typeof a.content !== 'string')) {
    return { ...a, content: toBuffer(a.content, a.encoding) };
  }
  return a;
}

/**
 * Nodemailer's `disableFileAccess` / `disableUrlAccess` (transport options): a body or
 * attachment read from a local path fails with EFILEACCESS, one from a URL with EURLACCESS.
 */
function checkSourceAccess(mail, options) {
  const noFiles = options.disableFileAccess || mail.disableFileAccess;
  const noUrls = options.disableUrlAccess || mail.disableUrlAccess;
  if (!noFiles && !noUrls) return;
  const sources = ['text', 'html', 'watchHtml', 'amp', 'icalEvent', 'raw']
    .map((k) => mail[k])
    .concat(mail.attachments || [], mail.alternatives || [])
    .filter((v) => v && typeof v === 'object' && !Buffer.isBuffer(v) && v.content === undefined);
  for (const v of sources) {
    const url = v.href !== undefined || (typeof v.path === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v.path));
    const file = !url && typeof v.path === 'string' && !v.path.startsWith('data:');
    if (url && noUrls) throw Object.assign(new Error(`Url access rejected for ${v.href || v.path}`), { code: 'EURLACCESS' });
    if (file && noFiles) throw Object.assign(new Error(`File access rejected for ${v.path}`), { code: 'EFILEACCESS' });
  }
}

/** Addresses as jsonTransport shows them: `{name, address}`, parsed by the core. */
function jsonAddresses(value) {
  const out = [];
  for (const v of [].concat(value).flat(Infinity)) {
    if (!present(v)) continue;
    if (typeof v === 'object') {
      out.push({ address: String(v.address), name: v.name || '' });
      continue;
    }
    const parsed = native.parseAddressList(String(v));
    if (parsed.error) throw toError(parsed.error);
    out.push(...parsed.list.map((m) => ({ address: m.address, name: m.name })));
  }
  return out;
}

async function readLocal(file, field) {
  if (typeof file !== 'string' || file.includes('://')) throw messageError(`${field}: only local files are read`);
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw messageError(`${field}: ${e.message}`);
  }
}

/** An attachment as jsonTransport shows it: base64 content, a file name and a type. */
async function jsonAttachment(a) {
  if (!a || typeof a !== 'object') return a;
  const { path: file, ...rest } = a;
  const content = a.content !== undefined ? toBuffer(a.content, a.encoding) : await readLocal(file, 'attachment');
  const filename = a.filename !== undefined ? a.filename : require('path').basename(String(file || 'attachment.bin'));
  const contentType = a.contentType || native.mimeType(filename);
  return { ...rest, content: content.toString('base64'), filename, contentType, encoding: 'base64' };
}

/**
 * Reads streams, URLs and files into what the engine takes (which reads the mail object's
 * fields by Nodemailer's rules); `date` as seconds since the epoch.
 */
async function resolveSources(mail) {
  const out = { ...mail };
  if (mail.date !== undefined && mail.date !== null) out.date = new Date(mail.date).getTime() / 1000;
  for (const field of ['text', 'html', 'raw']) {
    if (mail[field] !== undefined) out[field] = await bodySource(mail[field], field);
  }
  if (Array.isArray(mail.attachments)) out.attachments = await Promise.all(mail.attachments.map(attachmentSource));
  return out;
}

function toError(fields) {
  const err = new Error(fields.message);
  err.code = fields.code;
  if (fields.responseCode !== undefined && fields.responseCode !== null) err.responseCode = fields.responseCode;
  if (fields.response) err.response = fields.response;
  err.command = fields.command;
  if (fields.rejected && fields.rejected.length) err.rejected = fields.rejected;
  if (fields.rejectedErrors && fields.rejectedErrors.length) err.rejectedErrors = fields.rejectedErrors;
  err.kind = fields.kind;
  err.transient = fields.transient;
  if (fields.detail) err.detail = fields.detail;
  return err;
}

function settle(promise, callback) {
  if (typeof callback !== 'function') return promise;
  promise.then(
    (value) => callback(null, value),
    (err) => callback(err)
  );
  return undefined;
}

/** POSTs `body` and parses the JSON answer: `{ status, data }` (rejects on a network error or non-JSON). */
function postJson(url, body, headers) {
  const lib = url.protocol === 'http:' ? require('http') : require('https');
  const options = { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) }, rejectUnauthorized: true };
  return new Promise((resolve, reject) => {
    const req = lib.request(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, data: JSON.parse(Buffer.concat(chunks).toString()) });
        } catch (e) {
          reject(Object.assign(e, { status: res.statusCode }));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Nodemailer's default token endpoint for `auth.refreshToken` (Google's). */
const DEFAULT_ACCESS_URL = 'https://accounts.google.com/o/oauth2/token';

function authError(message, cause) {
  return Object.assign(new Error(message), { code: 'EAUTH', command: 'AUTH XOAUTH2', kind: 'auth', cause });
}

/**
 * OAuth2 access tokens as Nodemailer's XOAuth2 gets them: the configured `accessToken` while it
 * has not expired; else the `oauth2_provision_cb` set on the transporter; else a refresh
 * (`clientId`, `clientSecret`, `refreshToken` posted to `accessUrl`), announced with a 'token'
 * event. The engine receives each new token for the connections it opens next.
 */
class OAuth2Tokens {
  constructor(auth, transporter) {
    this.auth = auth;
    this.transporter = transporter;
    this.token = auth.accessToken || null;
    this.expires = Number(auth.expires) || 0;
    this.pending = null;
  }

  valid() {
    return Boolean(this.token) && (!this.expires || Date.now() < this.expires);
  }

  /** The current token, or a new one when `renew` or when there is none. */
  get(renew) {
    if (!renew && this.valid()) return Promise.resolve(this.token);
    if (!this.pending) {
      this.pending = this._fetch(renew).finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  async _fetch(renew) {
    const user = this.auth.user;
    const provision = this.transporter.get('oauth2_provision_cb');
    let token, expires;
    if (typeof provision === 'function') {
      [token, expires] = await new Promise((resolve, reject) =>
        provision(user, Boolean(renew), (err, accessToken, exp) => (err ? reject(authError(err.message || String(err), err)) : resolve([accessToken, exp])))
      );
    } else if (this.auth.serviceClient && this.auth.privateKey) {
      [token, expires] = await this._serviceToken();
    } else if (this.auth.refreshToken && this.auth.clientId) {
      [token, expires] = await this._refresh();
    } else {
      throw authError(`Can't create new access token for user ${user}: no refreshToken and no oauth2_provision_cb`);
    }
    if (!token) throw authError(`no access token for user ${user}`);
    this.token = String(token);
    this.expires = Number(expires) || 0;
    const problem = this.transporter._native.setAccessToken(this.token);
    if (problem) throw toError(problem);
    this.transporter.emit('token', { type: 'OAuth2', user, accessToken: this.token, expires: this.expires });
    return this.token;
  }

  /** POSTs the refresh token to the token endpoint (`accessUrl`). */
  _refresh() {
    return this._grant({
      client_id: this.auth.clientId,
      client_secret: this.auth.clientSecret || '',
      refresh_token: this.auth.refreshToken,
      grant_type: 'refresh_token',
    });
  }

  /**
   * A service account (`serviceClient`, `privateKey`): an RS256-signed JWT assertion for `user`
   * (RFC 7523), as Nodemailer's XOAuth2 makes it for Google Workspace delegation.
   */
  _serviceToken() {
    const iat = Math.floor(Date.now() / 1000);
    const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    const claims = {
      iss: this.auth.serviceClient,
      scope: this.auth.scope || 'https://mail.google.com/',
      sub: this.auth.user,
      aud: this.auth.accessUrl || DEFAULT_ACCESS_URL,
      iat,
      exp: iat + (Math.min(Math.max(Number(this.auth.serviceRequestTimeout) || 0, 0), 3600) || 300),
    };
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
    let signature;
    try {
      signature = require('crypto').sign('RSA-SHA256', Buffer.from(unsigned), this.auth.privateKey).toString('base64url');
    } catch (e) {
      throw authError(`service account key: ${e.message}`, e);
    }
    return this._grant({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` });
  }

  /** POSTs a grant to the token endpoint; [token, expiry ms]. */
  async _grant(fields) {
    const body = new URLSearchParams(fields).toString();
    let answer;
    try {
      answer = await postJson(new URL(this.auth.accessUrl || DEFAULT_ACCESS_URL), body, { 'Content-Type': 'application/x-www-form-urlencoded' });
    } catch (e) {
      throw authError(`token refresh failed: ${e.message}`, e);
    }
    const { status, data } = answer;
    if (!data.access_token) throw authError(`token refresh refused: ${data.error_description || data.error || status}`);
    return [data.access_token, data.expires_in ? Date.now() + Number(data.expires_in) * 1000 : 0];
  }
}

/**
 * A loopback relay in front of the engine for `getSocket` and `proxy`: the engine dials the
 * relay, and each connection it opens is joined to the socket the callback returns (or to a
 * tunnel through the proxy: HTTP CONNECT, or SOCKS with the module set as
 * `proxy_socks_module`). TLS, AUTH and the plain-text AUTH rule still see the real host.
 */
function startRelay(transporter) {
  const net = require('net');
  const opts = transporter.options;
  const target = transporter._native.target(); // host and port as the engine reads the options
  const open = (callback) => {
    if (typeof opts.getSocket === 'function') {
      return opts.getSocket(opts, (err, info) => callback(err, info && info.connection));
    }
    const proxy = new URL(opts.proxy);
    if (proxy.protocol === 'http:' || proxy.protocol === 'https:') {
      const lib = proxy.protocol === 'http:' ? require('http') : require('https');
      const headers = { Host: `${target.host}:${target.port}` };
      if (proxy.username) {
        headers['Proxy-Authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
      }
      const req = lib.request({ host: proxy.hostname, port: proxy.port || (proxy.protocol === 'http:' ? 80 : 443), method: 'CONNECT', path: `${target.host}:${target.port}`, headers });
      req.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          return callback(Object.assign(new Error(`proxy refused CONNECT: ${res.statusCode}`), { code: 'ECONNECTION' }));
        }
        callback(null, socket);
      });
      req.once('error', (e) => callback(e));
      return req.end();
    }
    if (/^socks[45]?[ah]?:$/.test(proxy.protocol)) {
      const socks = transporter.get('proxy_socks_module');
      if (!socks) return callback(Object.assign(new Error('socks proxy needs transporter.set("proxy_socks_module", require("socks"))'), { code: 'ECONNECTION' }));
      const type = proxy.protocol.startsWith('socks4') ? 4 : 5;
      return socks.SocksClient.createConnection(
        {
          proxy: { host: proxy.hostname, port: Number(proxy.port) || 1080, type, userId: decodeURIComponent(proxy.username) || undefined, password: decodeURIComponent(proxy.password) || undefined },
          command: 'connect',
          destination: target,
        },
        (err, info) => callback(err, info && info.socket)
      );
    }
    callback(Object.assign(new Error(`unsupported proxy protocol ${proxy.protocol}`), { code: 'ECONNECTION' }));
  };
  const server = net.createServer((local) => {
    local.pause();
    local.on('error', () => {});
    open((err, remote) => {
      if (err || !remote) {
        transporter.emit('error', err || new Error('getSocket returned no connection'));
        return local.destroy();
      }
      remote.on('error', () => local.destroy());
      local.on('close', () => remote.destroy());
      remote.on('close', () => local.destroy());
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
  });
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The native transport, its `send` returning a Promise of the outcome. The engine settles
 * every send through one callback (by id): cheaper than a native Promise per call.
 */
/** What a Nodemailer plugin is handed: the mail options as `data`, the transporter as `mailer`. */
function pluginMail(transporter, data) {
  return {
    data,
    mailer: transporter,
    resolveContent(obj, key, callback) {
      const p = bodySource(obj[key], key).then((value) => (obj[key] = value));
      return settle(p, callback);
    },
  };
}

function nativeTransport(options, record) {
  const waiting = new Map();
  const t = new NativeTransport(options, record, (id, outcome) => {
    const resolve = waiting.get(id);
    waiting.delete(id);
    resolve(outcome);
  });
  const send = t.send.bind(t);
  t.send = (input) => new Promise((resolve) => waiting.set(send(input), resolve));
  return t;
}

class Transporter extends EventEmitter {
  constructor(options, defaults) {
    super();
    let opts = typeof options === 'string' ? {} : { ...(options || {}) };
    try {
      if (typeof options === 'string') opts = parseConnectionUrl(options);
      if (opts.url) opts = { ...parseConnectionUrl(opts.url), ...opts };
    } catch (e) {
      // Nodemailer takes any URL and fails once it connects: verify() and sendMail() say why.
      this._unusable = e;
    }
    if (opts.service) {
      // An unknown service leaves the options as given (Nodemailer's rule: host and port stand).
      const known = wellKnown(opts.service);
      if (known) {
        const { description, ...preset } = known; // eslint-disable-line no-unused-vars
        opts = { ...preset, ...opts };
      }
    }
    this.options = opts;
    // Nodemailer's transport identity (shown in its logs); the version is polymailer's.
    this.name = opts.streamTransport ? 'StreamTransport' : opts.jsonTransport ? 'JSONTransport' : opts.pool ? 'SMTP (pool)' : 'SMTP';
    this.version = require('./package.json').version;
    this._defaults = defaults || {};
    this._meta = new Map();
    this._plugins = {};
    this._closed = 0; // generation: messages handed over before a close() fail with it
    this.logger = makeLogger(opts.logger);
    if (opts.streamTransport || opts.jsonTransport || this._unusable) return;
    const problem = checkOptions(opts);
    if (problem) throw toError(problem);
    this._record = Boolean(opts.logger && opts.debug); // the SMTP transcript, for the logger
    this._native = nativeTransport(opts, this._record);
    const auth = opts.auth || {};
    if (String(auth.type || '').toLowerCase() === 'oauth2') this._oauth2 = new OAuth2Tokens(auth, this);
    if (typeof opts.getSocket === 'function' || opts.proxy) this._relay = null; // started on first use
    // Nodemailer's pool says it has room as soon as it exists: the 'idle' send loop starts.
    if (opts.pool) setImmediate(() => this.isIdle() && this.emit('idle'));
  }

  /** Nodemailer's `transporter.set(key, value)`: `oauth2_provision_cb`, `proxy_socks_module`. */
  set(key, value) {
    this._meta.set(key, value);
    return this;
  }

  get(key) {
    return this._meta.get(key);
  }

  /** The engine; with `getSocket`/`proxy`, one that dials the loopback relay. */
  async _engine() {
    if (this._unusable) throw this._unusable;
    if (this._relay === undefined) return this._native;
    if (!this._relay) {
      this._relay = startRelay(this).then((server) => {
        this._relayServer = server;
        const { port } = server.address();
        this._native = nativeTransport({ ...this.options, connectTo: `127.0.0.1:${port}` }, this._record);
        if (this._oauth2 && this._oauth2.token) this._native.setAccessToken(this._oauth2.token);
        return this._native;
      });
    }
    return this._relay;
  }

  /** sendMail(mail[, callback]): a Promise when no callback is given. */
  sendMail(mail, callback) {
    return settle(this._send({ ...this._defaults, ...mail }, this._closed), callback);
  }

  /**
   * Nodemailer's plugins: `compile` ones get `mail.data` before the message is built, `stream`
   * ones the built message (`mail.message.transform(stream)`, `processFunc(fn)`), each called
   * as `plugin(mail, callback)` in the order given.
   */
  use(step, plugin) {
    const key = String(step || '');
    (this._plugins[key] = this._plugins[key] || []).push(plugin);
    return this;
  }

  async _plugin(step, mail) {
    for (const plugin of this._plugins[step] || []) {
      await new Promise((resolve, reject) => plugin(mail, (err) => (err ? reject(err) : resolve())));
    }
  }

  async _send(mail, generation) {
    let input;
    try {
      if (this._plugins.compile) {
        const plugged = pluginMail(this, mail);
        await this._plugin('compile', plugged);
        mail = plugged.data;
      }
      checkSourceAccess(mail, this.options);
      input = await resolveSources(mail);
      if (this._plugins.stream && !this.options.jsonTransport) input = await this._streamPlugins(mail, input);
    } catch (e) {
      e.code = e.code || 'EMESSAGE';
      throw e;
    }
    if (this.options.streamTransport) return this._stream(input);
    if (this.options.jsonTransport) return this._json(mail, input);
    if (generation !== this._closed) {
      throw Object.assign(new Error('Connection pool was closed'), { code: 'ECONNECTION', kind: 'connection' });
    }
    const engine = await this._engine();
    let outcome;
    for (let attempt = 0; ; attempt++) {
      if (this._oauth2) await this._oauth2.get(attempt > 0);
      outcome = await engine.send(input);
      // An access token the server refused is renewed once, as Nodemailer's XOAuth2 does.
      const refused = outcome.error && outcome.error.code === 'EAUTH' && this._oauth2 && attempt === 0;
      if (!refused || !(this._oauth2.auth.refreshToken || typeof this.get('oauth2_provision_cb') === 'function')) break;
    }
    this._log(outcome);
    if (this.options.pool && this.listenerCount('idle') > 0 && this._native.isIdle()) setImmediate(() => this.emit('idle'));
    if (outcome.error) throw toError(outcome.error);
    return outcome.info;
  }

  /**
   * `stream` plugins: the message is built, handed to them, and what their transforms make of
   * it is sent as raw bytes with the built envelope (the engine still checks both).
   */
  async _streamPlugins(mail, input) {
    const built = await native.buildMail(input);
    if (built.error) throw toError(built.error);
    const steps = [];
    const message = {
      transform: (t) => steps.push((source) => source.pipe(typeof t === 'function' ? t() : t)),
      processFunc: (fn) => steps.push(fn),
      getEnvelope: () => built.envelope,
      messageId: () => built.messageId,
      createReadStream: () => require('stream').Readable.from([built.message]),
    };
    await this._plugin('stream', { ...pluginMail(this, mail), message });
    if (!steps.length) return input;
    const raw = await collect(steps.reduce((source, step) => step(source), message.createReadStream()));
    return { raw, envelope: built.envelope };
  }

  /** streamTransport: the message as it would be sent (a Buffer with `buffer: true`, else a stream). */
  async _stream(input) {
    const built = await native.buildMail(input, this.options.dkim || undefined);
    if (built.error) throw toError(built.error);
    let message = built.message;
    const newline = String(this.options.newline || '').toLowerCase();
    if (newline && !['win', 'windows', 'dos', '\r\n'].includes(newline)) message = Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    return {
      envelope: built.envelope,
      messageId: built.messageId,
      message: this.options.buffer ? message : require('stream').Readable.from([message]),
    };
  }

  /**
   * jsonTransport: the mail as JSON, as Nodemailer's: addresses as `{name, address}`, bodies as
   * strings, contents base64, `messageId` and `envelope` from the engine (which validated it).
   */
  async _json(mail, input) {
    const built = await native.buildMail(input);
    if (built.error) throw toError(built.error);
    const resolved = await resolveSources(mail);
    const data = { ...resolved };
    delete data.envelope;
    for (const key of ['from', 'sender', 'to', 'cc', 'bcc', 'replyTo']) {
      if (!present(data[key])) continue;
      const list = jsonAddresses(data[key]);
      data[key] = key === 'from' || key === 'sender' ? list[0] : list;
    }
    for (const key of ['text', 'html', 'watchHtml', 'amp']) {
      if (Buffer.isBuffer(data[key])) data[key] = data[key].toString();
    }
    if (Array.isArray(data.attachments)) {
      data.attachments = await Promise.all(data.attachments.map(jsonAttachment));
    }
    if (data.icalEvent && typeof data.icalEvent === 'object') {
      const { path: file, content, ...rest } = data.icalEvent;
      const bytes = content !== undefined ? toBuffer(content) : await readLocal(file, 'icalEvent');
      data.icalEvent = { ...rest, content: bytes.toString('base64'), encoding: 'base64' };
    }
    data.headers = data.headers || {};
    data.messageId = built.messageId;
    return {
      envelope: built.envelope,
      messageId: built.messageId,
      message: this.options.skipEncoding ? data : JSON.stringify(data),
    };
  }

  /** Writes the recorded SMTP traffic and the outcome to the logger (`debug: true` for traffic). */
  _log(outcome) {
    if (!this.logger) return;
    const prefix = { client: 'C:', server: 'S:', message: 'C:', network: '' };
    for (const [tnx, line] of this._native.takeTranscript()) {
      this.logger.debug({ component: 'smtp-connection', tnx }, '%s %s', prefix[tnx] || '', line);
    }
    if (outcome.error) {
      this.logger.error({ tnx: 'send', err: outcome.error }, 'Send Error: %s', outcome.error.message);
    } else if (outcome.info) {
      const { messageId, envelope } = outcome.info;
      this.logger.info({ tnx: 'send', messageId }, 'Message %s sent to <%s>', messageId, envelope.to.join('>, <'));
    }
  }

  verify(callback) {
    const p = (async () => {
      if (this.options.streamTransport || this.options.jsonTransport) return true;
      const engine = await this._engine();
      if (this._oauth2) await this._oauth2.get(false);
      const o = await engine.verify();
      this._log(o);
      if (o.error) throw toError(o.error);
      return true;
    })();
    return settle(p, callback);
  }

  /**
   * The deliverability check of this transport's own setup: its DKIM key (published and
   * matching), its server as the sending host (SPF), and `options.domain` (default: the DKIM
   * domain). Other options as `checkDomain` takes them.
   */
  preflight(options, callback) {
    if (typeof options === 'function') [options, callback] = [{}, options];
    const { domain, ...rest } = options || {};
    const p = this._native.preflight(domain == null ? undefined : String(domain), rest).then(checkReport);
    return settle(p, callback);
  }

  isIdle() {
    return this._native ? this._native.isIdle() : true;
  }

  /**
   * Closes the pool as Nodemailer does: messages not yet handed to a connection fail with
   * "Connection pool was closed" (never sent), sends under way finish, connections QUIT.
   * The transporter can send again afterwards (a new pool is opened).
   */
  close(callback) {
    this._closed++;
    if (this._relayServer) this._relayServer.close();
    const p = (this._native ? this._native.close() : Promise.resolve()).then(() => {
      this.emit('close');
    });
    return settle(p, callback);
  }

  /**
   * Nodemailer's transport-plugin call, `send({ data, message }, callback)`, where `message`
   * is a built message (`getEnvelope()`, `messageId()`, `createReadStream()`): sent as raw
   * bytes with that envelope.
   */
  send(mail, callback) {
    const generation = this._closed;
    const p = (async () => {
      const m = mail.message;
      const envelope = m.getEnvelope();
      const raw = await collect(m.createReadStream());
      const info = await this._send({ ...(mail.data || {}), raw, envelope: { from: envelope.from, to: envelope.to } }, generation);
      return { ...info, messageId: info.messageId || (typeof m.messageId === 'function' ? m.messageId() : undefined) };
    })();
    return settle(p, callback);
  }
}

/** Nodemailer's `SMTPTransport` (one connection per message unless pooled). */
class SMTPTransport extends Transporter {
  constructor(options) {
    super(typeof options === 'string' ? options : { ...(options || {}), pool: false });
  }
}

/** Nodemailer's `SMTPPool`: `new SMTPPool(options)` is `createTransport({ ...options, pool: true })`. */
class SMTPPool extends Transporter {
  constructor(options) {
    // The URL is read by Transporter (a bad one fails at verify/sendMail, as Nodemailer's).
    super(typeof options === 'string' ? { url: options, pool: true } : { ...(options || {}), pool: true });
  }
}

function createTransport(options, defaults) {
  // A transport object made beforehand (`createTransport(new SMTPPool(...))`) is used as is.
  if (options instanceof Transporter) return options;
  return new Transporter(options, defaults);
}

const ETHEREAL_API = () => (process.env.ETHEREAL_API || 'https://api.nodemailer.com').replace(/\/+$/, '');
const ETHEREAL_WEB = () => (process.env.ETHEREAL_WEB || 'https://ethereal.email').replace(/\/+$/, '');
let testAccount = null;

/**
 * Nodemailer's `createTestAccount([apiUrl], [callback])`: an Ethereal account
 * (`{ user, pass, smtp, imap, pop3, web }`) from the Ethereal API, over HTTPS with the
 * certificate verified. Cached for the process (ETHEREAL_CACHE=no turns that off).
 */
function createTestAccount(apiUrl, callback) {
  if (typeof apiUrl === 'function') [apiUrl, callback] = [undefined, apiUrl];
  const cache = !['no', 'false', 'n', '0'].includes(String(process.env.ETHEREAL_CACHE || 'yes').trim().toLowerCase());
  const p = (async () => {
    if (cache && testAccount) return testAccount;
    const url = new URL(String(apiUrl || ETHEREAL_API()).replace(/\/+$/, '') + '/user');
    const body = JSON.stringify({ requestor: 'polymailer', version: require('./package.json').version });
    const headers = { 'Content-Type': 'application/json' };
    const key = String(process.env.ETHEREAL_API_KEY || '').replace(/\s+/g, '');
    if (key) headers.Authorization = 'Bearer ' + key;
    const { data } = await postJson(url, body, headers).catch((e) => {
      throw Object.assign(e, { code: e.code || 'EFETCH' });
    });
    if (data.status !== 'success' || data.error) throw new Error(data.error || 'Request failed');
    delete data.status;
    if (cache) testAccount = data;
    return data;
  })();
  return settle(p, callback);
}

/**
 * The Ethereal web URL of a message sent through Ethereal (`info.response` ends with
 * `[STATUS=… MSGID=…]`), or false. Linear in the response length.
 */
function getTestMessageUrl(info) {
  if (!info || !info.response) return false;
  const response = String(info.response);
  if (!response.endsWith(']')) return false;
  const close = response.length - 1;
  const open = response.lastIndexOf('[', close);
  if (open < 0 || response.lastIndexOf(']', close - 1) > open) return false;
  const props = new Map();
  for (const part of response.slice(open + 1, close).split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && /^[A-Z0-9]+$/.test(part.slice(0, eq)) && eq < part.length - 1) props.set(part.slice(0, eq), part.slice(eq + 1));
  }
  if (!props.has('STATUS') || !props.has('MSGID')) return false;
  return `${(testAccount && testAccount.web) || ETHEREAL_WEB()}/message/${props.get('MSGID')}`;
}

function checkReport(o) {
  if (o.error) throw toError(o.error);
  const { elapsed_ms: elapsedMs, ...report } = JSON.parse(o.report);
  const table = o.table;
  return Object.defineProperty({ ...report, elapsedMs }, 'toString', { value: () => table });
}

/**
 * Checks a sending domain (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, blacklists). Options:
 * `selector` (string or array), `ip`, `host`, `envelopeDomain`, `dnsbl`, `domainDnsbl`,
 * `nameserver` ('127.0.0.1:5353'; default the system resolver), `timeout` (seconds), `tcp`,
 * `probeStarttls` (connect to the MX hosts; `probePort`),
 * `dkim` ({ domainName, keySelector, privateKey }, as createTransport takes it).
 * Resolves to `{ domain, ok, elapsedMs, findings: [{ check, subject, status, record, detail, fix }] }`.
 */
function checkDomain(domain, options, callback) {
  if (typeof options === 'function') [options, callback] = [{}, options];
  options = options || {};
  const p = native.checkDomain(String(domain), options).then(checkReport);
  return settle(p, callback);
}

/** A DKIM key pair ('rsa' 2048 bits, 'rsa3072', 'rsa4096', 'ed25519') and its TXT record. */
function dkimKeygen({ domain, selector, algorithm } = {}) {
  const o = native.dkimKeygen(String(domain), String(selector), algorithm === undefined ? undefined : String(algorithm));
  if (o.error) throw toError(o.error);
  return o.key;
}

/** snake_case keys (the core's JSON) as camelCase, all the way down. */
function camel(v) {
  if (Array.isArray(v)) return v.map(camel);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camel(x)]));
}

const secretBuffer = (s) => (s === undefined || s === null ? undefined : toBuffer(s));

/**
 * Parses a bounce (DSN), a complaint (ARF) or a DMARC aggregate report (the message, or the
 * report's XML/gzip/zip bytes). Never throws for bad input: `kind` is 'none' with a `note`.
 * Options: `verpSecret` (verifies VERP addresses), `maxSize` (bytes).
 */
function parseBounce(raw, options = {}) {
  const o = native.parseBounce(toBuffer(raw), secretBuffer(options.verpSecret), options.maxSize);
  const table = o.table;
  return Object.defineProperty(camel(JSON.parse(o.report)), 'toString', { value: () => table });
}

/** `bounces+alice=example.com-<tag>-<mac>@domain` → `{ recipient, messageTag, verified, ... }` or null. */
function decodeVerp(address, secret) {
  return camel(JSON.parse(native.decodeVerp(String(address), secretBuffer(secret))));
}

module.exports = {
  createTransport,
  Transporter,
  SMTPTransport,
  SMTPPool,
  wellKnown,
  parseConnectionUrl,
  getTestMessageUrl,
  createTestAccount,
  checkDomain,
  dkimKeygen,
  parseBounce,
  decodeVerp,
};
