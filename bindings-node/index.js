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
  return native.wellKnown(String(name)) || false;
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

/** PEM text as one Buffer (Node's tls options take a string, a Buffer or an array of them). */
const pem = (v) => (v === undefined || v === null ? undefined : Buffer.concat([].concat(v).map((x) => toBuffer(x))));

function nativeOptions(options) {
  const tls = options.tls || {};
  if (tls.pfx !== undefined) {
    throw Object.assign(new Error('tls.pfx is not supported: pass tls.cert and tls.key (PEM)'), { code: 'ETLS', kind: 'tls' });
  }
  const ca = tls.ca === undefined ? undefined : [].concat(tls.ca).map((c) => toBuffer(c));
  const num = (v) => (v === undefined || v === null || v === '' ? undefined : Number(v));
  const auth = options.auth
    ? { user: options.auth.user, pass: options.auth.pass, type: options.auth.type, accessToken: options.auth.accessToken }
    : undefined;
  return {
    host: options.host,
    port: num(options.port),
    secure: options.secure === undefined ? undefined : Boolean(options.secure),
    requireTLS: options.requireTLS,
    ignoreTLS: options.ignoreTLS,
    auth,
    name: options.name,
    connectionTimeout: num(options.connectionTimeout),
    greetingTimeout: num(options.greetingTimeout),
    socketTimeout: num(options.socketTimeout),
    tls: options.tls
      ? {
          rejectUnauthorized: tls.rejectUnauthorized,
          ca,
          servername: tls.servername,
          minVersion: tls.minVersion,
          cert: pem(tls.cert),
          key: pem(tls.key),
          passphrase: tls.passphrase === undefined ? undefined : String(tls.passphrase),
        }
      : undefined,
    pool: Boolean(options.pool),
    maxConnections: num(options.maxConnections),
    maxMessages: options.maxMessages === Infinity ? Number.MAX_SAFE_INTEGER : num(options.maxMessages),
    rateDelta: num(options.rateDelta),
    rateLimit: num(options.rateLimit),
    dkim: options.dkim
      ? {
          domainName: options.dkim.domainName,
          keySelector: options.dkim.keySelector,
          privateKey: String(options.dkim.privateKey),
        }
      : undefined,
    verp: options.verp
      ? { domain: String(options.verp.domain), secret: toBuffer(options.verp.secret), prefix: options.verp.prefix }
      : undefined,
    allowInsecureAuth: options.allowInsecureAuth,
    recordTranscript: Boolean(options.logger && options.debug),
  };
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

/** Address fields: string, "a, b" list, {name, address}, or nested arrays → flat list. */
function addressList(value) {
  if (value === undefined || value === null || value === false || value === '') return undefined;
  const out = [];
  (function walk(v) {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') out.push({ name: v.name || undefined, address: String(v.address) });
    else if (v !== undefined && v !== null && v !== '') out.push(String(v));
  })(value);
  return out;
}

function headerList(headers) {
  if (!headers) return undefined;
  const entries = Array.isArray(headers) ? headers.map((h) => [h.key, h.value]) : Object.entries(headers);
  const out = [];
  for (const [key, value] of entries) {
    for (const v of [].concat(value)) {
      out.push({ key, value: String(v && typeof v === 'object' && 'value' in v ? v.value : v) });
    }
  }
  return out;
}

/** An envelope value as given (the engine checks and parses it): a string, or {address}. */
function envelopeValue(v) {
  return v && typeof v === 'object' ? String(v.address) : String(v);
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
 * attachment-like { content } / { path } (a local file or a data: URI). URLs are not fetched.
 */
async function bodySource(v, field) {
  if (v === undefined || v === null || v === false || typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (isStream(v)) return collect(v);
  if (typeof v === 'object') {
    if (v.content !== undefined) return bodySource(v.content, field);
    if (v.href !== undefined) throw messageError(`${field}: fetching URLs (href) is not supported; pass content or a local path`);
    if (typeof v.path === 'string') {
      if (v.path.startsWith('data:')) return dataUri(v.path).content;
      if (v.path.includes('://')) throw messageError(`${field}: path ${JSON.stringify(v.path)}: only local files are read`);
      try {
        return await fs.promises.readFile(v.path);
      } catch (e) {
        throw messageError(`${field}: ${e.message}`);
      }
    }
  }
  return String(v);
}

/** Attachment streams and data: URIs become what the engine takes: a Buffer or a file path. */
async function attachmentSource(a) {
  if (a === null || typeof a !== 'object') return a;
  if (a.href !== undefined && a.content === undefined && a.path === undefined) {
    throw messageError(`attachment ${a.filename || ''}: fetching URLs (href) is not supported; pass content or a local path`);
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
  return a;
}

/** Resolves streams and attachment-like sources before the message goes to the engine. */
async function resolveSources(mail) {
  const out = { ...mail };
  for (const field of ['text', 'html', 'raw']) {
    if (mail[field] !== undefined) out[field] = await bodySource(mail[field], field);
  }
  if (Array.isArray(mail.attachments)) out.attachments = await Promise.all(mail.attachments.map(attachmentSource));
  return out;
}

function mailInput(mail) {
  const text = (v) => (v === undefined || v === null || v === false ? undefined : Buffer.isBuffer(v) ? v.toString() : String(v));
  const dsn = mail.dsn || {};
  const envelope = mail.envelope
    ? {
        from: present(mail.envelope.from) ? envelopeValue(mail.envelope.from) : undefined,
        to: [mail.envelope.to, mail.envelope.cc, mail.envelope.bcc].flat(Infinity).filter(present).map(envelopeValue),
      }
    : undefined;
  return {
    from: addressList(mail.from),
    sender: addressList(mail.sender),
    to: addressList(mail.to),
    cc: addressList(mail.cc),
    bcc: addressList(mail.bcc),
    replyTo: addressList(mail.replyTo),
    subject: text(mail.subject),
    text: text(mail.text),
    html: text(mail.html),
    attachments: (mail.attachments || []).map((a) => ({
      filename: a.filename === false ? undefined : a.filename,
      content: toBuffer(a.content, a.encoding),
      path: a.path,
      contentType: a.contentType,
      cid: a.cid,
      contentDisposition: a.contentDisposition,
    })),
    headers: headerList(mail.headers),
    messageId: mail.messageId,
    date: mail.date === undefined ? undefined : new Date(mail.date).getTime(),
    inReplyTo: mail.inReplyTo,
    references: mail.references === undefined ? undefined : [].concat(mail.references).flatMap((r) => String(r).split(/\s+/)).filter(Boolean),
    priority: mail.priority,
    envelope,
    raw: mail.raw === undefined ? undefined : toBuffer(mail.raw),
    dsnRet: dsn.return || dsn.ret,
    dsnEnvid: dsn.id || dsn.envid,
    dsnNotify: dsn.notify === undefined ? undefined : [].concat(dsn.notify).flatMap((n) => String(n).split(',')),
    dsnOrcpt: dsn.recipient || dsn.orcpt,
    list: listFields(mail.list),
    listOneClick: Boolean(mail.list && mail.list.oneClick),
  };
}

/**
 * Nodemailer's `list` object: each key a `List-*` header; an array value gives one header per
 * element, a nested array several URLs in one header; a URL is a string or `{ url, comment }`.
 * `oneClick: true` (polymailer) adds RFC 8058's `List-Unsubscribe-Post`.
 */
function listFields(list) {
  if (!list || typeof list !== 'object') return undefined;
  const entry = (v) => (typeof v === 'string' ? { url: v } : v && v.url ? { url: String(v.url), comment: v.comment == null ? undefined : String(v.comment) } : null);
  return Object.entries(list)
    .filter(([key]) => key !== 'oneClick')
    .flatMap(([key, value]) => [].concat(value || []).map((line) => ({ key, entries: [].concat(line || []).map(entry).filter(Boolean) })));
}

function toError(fields) {
  const err = new Error(fields.message);
  err.code = fields.code;
  if (fields.responseCode !== undefined && fields.responseCode !== null) err.responseCode = fields.responseCode;
  if (fields.response) err.response = fields.response;
  err.command = fields.command;
  if (fields.rejected && fields.rejected.length) err.rejected = fields.rejected;
  err.kind = fields.kind;
  err.transient = fields.transient;
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

class Transporter extends EventEmitter {
  constructor(options, defaults) {
    super();
    let opts = typeof options === 'string' ? parseConnectionUrl(options) : { ...(options || {}) };
    if (opts.url) opts = { ...parseConnectionUrl(opts.url), ...opts };
    if (opts.service) {
      const known = wellKnown(opts.service);
      if (!known) throw toError(native.unknownService(String(opts.service)));
      const { description, ...preset } = known; // eslint-disable-line no-unused-vars
      opts = { ...preset, ...opts };
    }
    this.options = opts;
    this._defaults = defaults || {};
    this.logger = makeLogger(opts.logger);
    const settings = nativeOptions(opts);
    const problem = checkOptions(settings);
    if (problem) throw toError(problem);
    this._native = new NativeTransport(settings);
  }

  /** sendMail(mail[, callback]): a Promise when no callback is given. */
  sendMail(mail, callback) {
    return settle(this._send({ ...this._defaults, ...mail }), callback);
  }

  async _send(mail) {
    let input;
    try {
      input = mailInput(await resolveSources(mail));
    } catch (e) {
      e.code = e.code || 'EMESSAGE';
      throw e;
    }
    const outcome = await this._native.send(input);
    this._log(outcome);
    if (this.options.pool && this._native.isIdle()) setImmediate(() => this.emit('idle'));
    if (outcome.error) throw toError(outcome.error);
    return outcome.info;
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
    const p = this._native.verify().then((o) => {
      this._log(o);
      if (o.error) throw toError(o.error);
      return true;
    });
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
    const p = this._native.preflight(domain == null ? undefined : String(domain), checkPairs(rest)).then(checkReport);
    return settle(p, callback);
  }

  isIdle() {
    return this._native.isIdle();
  }

  close(callback) {
    const p = this._native.close().then(() => {
      this.emit('close');
    });
    return settle(p, callback);
  }
}

function createTransport(options, defaults) {
  return new Transporter(options, defaults);
}

/** The options object as the core's option words, one pair per value (lists give several). */
function checkPairs(options) {
  const pairs = [];
  for (const [key, value] of Object.entries(options || {})) {
    if (key === 'dkim' || value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'boolean') pairs.push({ key, flag: v });
      else if (typeof v === 'number') pairs.push({ key, number: v });
      else pairs.push({ key, text: String(v) });
    }
  }
  return pairs;
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
  const p = native.checkDomain(String(domain), checkPairs(options), options.dkim || undefined).then(checkReport);
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

module.exports = { createTransport, Transporter, wellKnown, parseConnectionUrl, checkDomain, dkimKeygen, parseBounce, decodeVerp };
