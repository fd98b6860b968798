/**
 * diymod-client.js: a dependency-free client for the DIY-MOD notifier (ES module, browsers and Node 22+).
 *
 *   import { DiymodClient } from "/viewer/static/diymod-client.js";
 *   const client = new DiymodClient({ url: "ws://127.0.0.1:8010", userId: "alice" });
 *   client.on("image_processed", (data, frame) => console.log(data.image_url, data.result));
 *   client.connect();
 *   const { url } = await client.waitForImage(imageUrl, ["spiders"]);   // url: data: URL or result URL
 *
 * Options (all but url and userId optional):
 *   url             notifier base URL: ws://host:8010 (http(s):// is turned into ws(s)://); "/ws/<user>" is appended
 *   userId          the user whose events to receive
 *   token           signed token for AUTH_MODE=token (sent as ?token=), or
 *   getToken        async () => token, asked before every (re)connect; wins over `token`
 *   pingIntervalMs  20000   the client sends {"type":"ping"} this often (the server closes sockets silent for
 *                           2 of its heartbeat intervals, 15 s each by default; server pings are answered too)
 *   deadAfterMs     50000   no frame at all for this long: the socket is presumed dead and replaced
 *   minDelayMs      250     reconnect backoff: delay n = d/2 + random(d/2) with d = min(maxDelayMs, minDelayMs * 2^n)
 *   maxDelayMs      15000   ("equal jitter": never two clients in lockstep, never a zero delay)
 *   waitTimeoutMs   160000  default timeout of waitForImage (the official extension waits 160 s)
 *   WebSocket       the WebSocket class to use (default globalThis.WebSocket)
 *
 * Methods:
 *   connect()                      open the socket (and keep it open until close())
 *   close()                        close for good: no reconnect; pending waits reject with "client closed"
 *   on(type, fn) -> off()          listen; fn(payload, frame). off() removes the listener
 *   waitForImage(imageUrl, filters, {timeoutMs}) -> Promise<{url, result, base64Url, data}>
 *                                  like the extension's wait_for_image: sent now if connected, and again after
 *                                  every reconnect until answered. Resolves on image_processed for that URL
 *                                  (exact, else equal without query string and trailing "/", as the extension
 *                                  matches) and those filters (compared lower-case, without trailing dots, in
 *                                  any order; an event without filters matches any); rejects with an Error
 *                                  whose .reason is set on image_failed, timeout ("timeout") or close().
 *                                  Results seen before the call (e.g. pushed while the page was busy) are
 *                                  remembered (the last 500) and answer at once.
 *   refreshToken(token) -> Promise token mode: replace the token without reconnecting (refresh_token frame)
 *   send(type, data)               send any frame now (returns false when not connected)
 *   state                          "idle" | "connecting" | "open" | "reconnecting" | "closed"
 *   position                       {epoch, offset} of the last event of the user's log seen, or null
 *   stats                          counters: connects, reconnects, events, duplicates, replayed, pingsSent, pongsSent
 *
 * Events (on): "state" {state, attempt}; "connected" the server's first frame {epoch, offset, resumed, recovered,
 *   replayed}; "disconnected" {code, reason}; "reconnecting" {attempt, delayMs}; "gap" {epoch, offset} when a resume
 *   could not replay everything (older than the server's log): waits are re-sent, other events are lost;
 *   "unauthorised" {code, reason} on close code 4401; "event" every log event (after de-duplication);
 *   "image_processed" / "image_failed" their data; "error" the data of server error frames; "frame" every frame.
 *
 * Resume: every event of the user's log carries (epoch, offset). The client keeps the last one and reconnects
 * with ?epoch=&offset=, so the server replays what was missed; events at or before that position are dropped
 * as duplicates. Until the first event the position is the one the "connected" frame gave. A socket that never
 * saw an epoch (the user's log was empty) reconnects without one; its waits are re-sent, so no image is lost.
 */

const CLOSE_UNAUTHORISED = 4401;
const RECENT_RESULTS = 500;

function normaliseFilters(filters) {
  return (filters || [])
    .map((f) => {
      const text = String(f).trim();
      if (text.startsWith("custom_")) return text;
      const core = text.toLowerCase().replace(/\.+$/, "").trim();
      return core ? core + "." : "";
    })
    .filter(Boolean)
    .sort()
    .join(" ");
}

function stripUrl(url) {
  return String(url).split("?")[0].replace(/\/$/, "");
}

function keyOf(url, filters) {
  return `${url}\n${normaliseFilters(filters)}`;
}

function frameId() {
  return `${Date.now()}-${Math.random().toString(36).slice(2, 11)}`;
}

export class DiymodClient {
  constructor(options) {
    const o = options || {};
    if (!o.url || !o.userId) throw new Error("DiymodClient needs url and userId");
    this.url = String(o.url).replace(/^http/, "ws").replace(/\/+$/, "");
    this.userId = String(o.userId);
    this.token = o.token || null;
    this.getToken = o.getToken || null;
    this.pingIntervalMs = o.pingIntervalMs ?? 20000;
    this.deadAfterMs = o.deadAfterMs ?? 50000;
    this.minDelayMs = o.minDelayMs ?? 250;
    this.maxDelayMs = o.maxDelayMs ?? 15000;
    this.waitTimeoutMs = o.waitTimeoutMs ?? 160000;
    this.WebSocket = o.WebSocket || globalThis.WebSocket;
    this.state = "idle";
    this.position = null;
    this.stats = { connects: 0, reconnects: 0, events: 0, duplicates: 0, replayed: 0, pingsSent: 0, pongsSent: 0 };
    this._listeners = new Map();
    this._waits = new Set();
    this._recent = new Map();
    this._ws = null;
    this._attempt = 0;
    this._timer = null;
    this._heartbeat = null;
    this._lastFrameAt = 0;
    this._everConnected = false;
    this._opening = false;
  }

  // -- listeners ---------------------------------------------------------------------------------
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type)?.delete(fn);
  }

  _emit(type, payload, frame) {
    for (const fn of [...(this._listeners.get(type) || [])]) {
      try {
        fn(payload, frame);
      } catch (err) {
        console.error(`diymod-client: a "${type}" listener threw`, err);
      }
    }
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", { state, attempt: this._attempt });
  }

  // -- connection ----------------------------------------------------------------------------------
  connect() {
    if (this.state === "closed") throw new Error("this client was closed; make a new one");
    if (this._ws || this._timer || this._opening) return;
    this._open();
  }

  close() {
    this._setState("closed");
    clearTimeout(this._timer);
    this._timer = null;
    this._stopHeartbeat();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      this._detach(ws);
      try {
        ws.close(1000, "client closed");
      } catch {
        /* already closing */
      }
    }
    for (const wait of [...this._waits]) this._settle(wait, null, "client closed");
  }

  async _socketUrl() {
    const params = new URLSearchParams();
    if (this.position && this.position.epoch) {
      params.set("epoch", this.position.epoch);
      params.set("offset", String(this.position.offset));
    }
    let token = this.token;
    if (this.getToken) {
      try {
        token = await this.getToken();
      } catch (err) {
        console.warn("diymod-client: getToken failed", err);
      }
    }
    if (token) params.set("token", token);
    const query = params.toString();
    return `${this.url}/ws/${encodeURIComponent(this.userId)}${query ? "?" + query : ""}`;
  }

  async _open() {
    this._setState(this._everConnected ? "reconnecting" : "connecting");
    this._opening = true;
    let ws;
    try {
      const url = await this._socketUrl();
      if (this.state === "closed") return;
      ws = new this.WebSocket(url);
    } catch (err) {
      console.warn("diymod-client: cannot open the socket", err);
      this._opening = false;
      this._scheduleReconnect();
      return;
    } finally {
      this._opening = false;
    }
    this._ws = ws;
    this._lastFrameAt = Date.now();
    this._startHeartbeat(); // also bounds the wait for the "connected" frame
    ws.onmessage = (ev) => this._onMessage(ws, ev.data);
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason);
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  _detach(ws) {
    ws.onmessage = ws.onclose = ws.onerror = ws.onopen = null;
  }

  _onClose(ws, code, reason) {
    if (ws !== this._ws) return;
    this._detach(ws);
    this._ws = null;
    this._stopHeartbeat();
    this._emit("disconnected", { code, reason });
    if (code === CLOSE_UNAUTHORISED) this._emit("unauthorised", { code, reason });
    if (this.state !== "closed") this._scheduleReconnect();
  }

  _drop(reason) {
    // Half-open sockets can take minutes to report a close: stop listening and move on.
    const ws = this._ws;
    if (!ws) return;
    this._detach(ws);
    this._ws = null;
    this._stopHeartbeat();
    try {
      ws.close(4000, reason);
    } catch {
      /* ignore */
    }
    this._emit("disconnected", { code: 4000, reason });
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this.state === "closed" || this._timer) return;
    const span = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this._attempt);
    const delayMs = Math.round(span / 2 + Math.random() * (span / 2));
    this._attempt += 1;
    this.stats.reconnects += 1;
    this._setState("reconnecting");
    this._emit("reconnecting", { attempt: this._attempt, delayMs });
    this._timer = setTimeout(() => {
      this._timer = null;
      if (this.state !== "closed") this._open();
    }, delayMs);
  }

  /** Reconnect now (e.g. the browser came back online), skipping the remaining backoff. */
  reconnectNow() {
    if (this.state === "closed" || this._ws || this._opening) return;
    clearTimeout(this._timer);
    this._timer = null;
    this._open();
  }

  // -- heartbeat -----------------------------------------------------------------------------------
  _startHeartbeat() {
    this._stopHeartbeat();
    const tick = Math.max(250, Math.min(this.pingIntervalMs, this.deadAfterMs / 2));
    let sinceLastPing = 0;
    this._heartbeat = setInterval(() => {
      if (Date.now() - this._lastFrameAt > this.deadAfterMs) {
        this._drop("heartbeat timeout");
        return;
      }
      sinceLastPing += tick;
      if (sinceLastPing >= this.pingIntervalMs) {
        sinceLastPing = 0;
        if (this.send("ping", { timestamp: new Date().toISOString() })) this.stats.pingsSent += 1;
      }
    }, tick);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeat);
    this._heartbeat = null;
  }

  // -- frames --------------------------------------------------------------------------------------
  send(type, data) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    const frame = { type, id: frameId() };
    if (data !== undefined) frame.data = data;
    ws.send(JSON.stringify(frame));
    return true;
  }

  _onMessage(ws, raw) {
    if (ws !== this._ws) return;
    this._lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    this._emit("frame", frame, frame);
    switch (frame.type) {
      case "connected":
        this._onConnected(frame.data || {});
        return;
      case "ping":
        if (this.send("pong", { timestamp: new Date().toISOString() })) this.stats.pongsSent += 1;
        return;
      case "pong":
        return;
      case "error":
        this._emit("error", frame.data || {}, frame);
        return;
      default:
        this._onEvent(frame);
    }
  }

  _onConnected(data) {
    const resumed = Boolean(data.resumed);
    if (!resumed || data.recovered === false || !this.position) {
      if (resumed && data.recovered === false) this._emit("gap", { epoch: data.epoch, offset: data.offset });
      this.position = data.epoch ? { epoch: data.epoch, offset: Number(data.offset) || 0 } : null;
    }
    this.stats.replayed += Number(data.replayed) || 0;
    this.stats.connects += 1;
    this._attempt = 0;
    this._everConnected = true;
    this._setState("open");
    this._emit("connected", data);
    for (const wait of this._waits) this._sendWait(wait);
  }

  _onEvent(frame) {
    const epoch = frame.epoch;
    const offset = Number(frame.offset);
    if (epoch && Number.isFinite(offset)) {
      const p = this.position;
      if (p && p.epoch === epoch && offset <= p.offset) {
        this.stats.duplicates += 1;
        return;
      }
      this.position = { epoch, offset };
    }
    this.stats.events += 1;
    this._emit("event", frame, frame);
    if (frame.type === "image_processed" || frame.type === "image_failed") this._onImage(frame);
    this._emit(frame.type, frame.data || {}, frame);
  }

  // -- images --------------------------------------------------------------------------------------
  _onImage(frame) {
    const data = frame.data || {};
    if (typeof data.image_url !== "string") return;
    const failed = frame.type === "image_failed";
    const outcome = failed ? { failed: true, reason: data.reason || "failed", data } : this._result(data);
    if (Array.isArray(data.filters)) {
      this._recent.delete(keyOf(data.image_url, data.filters));
      this._recent.set(keyOf(data.image_url, data.filters), outcome);
      while (this._recent.size > RECENT_RESULTS) this._recent.delete(this._recent.keys().next().value);
    }
    const wanted = normaliseFilters(data.filters);
    for (const wait of [...this._waits]) {
      const sameUrl = wait.url === data.image_url || stripUrl(wait.url) === stripUrl(data.image_url);
      const sameFilters = !Array.isArray(data.filters) || wait.filterKey === wanted;
      if (sameUrl && sameFilters) {
        if (failed) this._settle(wait, null, outcome.reason, data);
        else this._settle(wait, outcome);
      }
    }
  }

  _result(data) {
    let result = data.result;
    let url = data.base64_url || null;
    if (result && typeof result === "object") url = url || result.base64 || result.url || null;
    if (!url && typeof result === "string") url = result;
    return { url, result, base64Url: data.base64_url || null, data };
  }

  waitForImage(imageUrl, filters, options) {
    const list = Array.isArray(filters) ? filters.map(String) : filters ? [String(filters)] : [];
    const known = this._recent.get(keyOf(imageUrl, list));
    if (known) {
      if (known.failed) {
        const err = new Error(`image failed: ${known.reason}`);
        err.reason = known.reason;
        err.data = known.data;
        return Promise.reject(err);
      }
      return Promise.resolve(known);
    }
    if (this.state === "closed") return Promise.reject(Object.assign(new Error("client closed"), { reason: "client closed" }));
    const timeoutMs = (options && options.timeoutMs) ?? this.waitTimeoutMs;
    return new Promise((resolve, reject) => {
      const wait = { url: String(imageUrl), filters: list, filterKey: normaliseFilters(list), resolve, reject };
      wait.timer = setTimeout(() => this._settle(wait, null, "timeout"), timeoutMs);
      this._waits.add(wait);
      if (this.state === "open") this._sendWait(wait);
    });
  }

  _sendWait(wait) {
    this.send("wait_for_image", { image_url: wait.url, filters: wait.filters });
  }

  _settle(wait, value, reason, data) {
    if (!this._waits.delete(wait)) return;
    clearTimeout(wait.timer);
    if (value) {
      wait.resolve(value);
    } else {
      const err = new Error(reason === "timeout" ? "timed out waiting for the image" : `image failed: ${reason}`);
      err.reason = reason;
      err.data = data;
      wait.reject(err);
    }
  }

  get pendingWaits() {
    return this._waits.size;
  }

  // -- token mode ----------------------------------------------------------------------------------
  refreshToken(token) {
    this.token = token;
    if (this.state !== "open") return Promise.resolve({ deferred: true });
    return new Promise((resolve, reject) => {
      const done = (fn, value) => {
        clearTimeout(timer);
        offOk();
        offErr();
        fn(value);
      };
      const timer = setTimeout(() => done(reject, new Error("no answer to refresh_token")), 10000);
      const offOk = this.on("frame", (frame) => {
        if (frame.type === "token_refreshed") done(resolve, frame.data || {});
      });
      const offErr = this.on("error", (data) => {
        if (String(data.message || "").startsWith("token refused")) done(reject, new Error(data.message));
      });
      this.send("refresh_token", { token });
    });
  }
}

export { normaliseFilters };
