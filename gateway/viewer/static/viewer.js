/**
 * The viewer page: filters of one user, a sample or pasted feed moderated through POST /get_feed, the
 * original and the moderated feed side by side, deferred images swapped live from the notifier, and a
 * status panel. All DOM is built with createElement/textContent (see render.js for why that matters).
 * Tests reach the state through window.diymodViewer.
 */
import { DiymodClient } from "./diymod-client.js";
import { appendText, extractFeed, platformForUrl } from "./render.js";

const INTENSITY = { 1: "1 blur", 2: "2 blur", 3: "3 warn", 4: "4 rewrite", 5: "5 rewrite" };
const CONTENT_TYPES = { all: "text+images", text: "text", image: "images" };
const DURATIONS = { permanent: "forever", day: "1 day", week: "1 week", month: "1 month" };
const STATUS_EVERY_MS = 2000;
const WAIT_TIMEOUT_MS = 120000;
const POLL_FALLBACK_MS = 15000;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

const $ = (id) => document.getElementById(id);

const state = {
  config: null,
  userId: "",
  token: "",
  filters: [],
  feed: null, // {platform, url, body, label}
  report: null,
  client: null,
  generation: 0,
  events: [],
  images: { pending: 0, replaced: 0, failed: 0 },
};

// -- small DOM helper: never innerHTML ---------------------------------------------------------------
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function fill(select, options, selected) {
  select.replaceChildren(...Object.entries(options).map(([value, label]) => h("option", { value, text: label })));
  if (selected !== undefined) select.value = String(selected);
}

function showError(id, err) {
  const box = $(id);
  box.hidden = !err;
  box.textContent = err ? String(err.message || err) : "";
}

// -- API -----------------------------------------------------------------------------------------------
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok || (data && data.status === "error")) {
    throw new Error((data && data.message) || `${method} ${path}: HTTP ${response.status}`);
  }
  return data;
}

const q = (params) => new URLSearchParams(params).toString();

// -- user and connection -------------------------------------------------------------------------------
function randomUser() {
  return `viewer-${Math.random().toString(36).slice(2, 8)}`;
}

function setConn(stateName, text) {
  $("conn").dataset.state = stateName;
  $("conn-text").textContent = text;
}

function startClient() {
  if (state.client) state.client.close();
  const client = new DiymodClient({
    url: state.config.public_notifier_url,
    userId: state.userId,
    getToken: () => state.token || null,
    minDelayMs: 250,
    maxDelayMs: 5000,
    waitTimeoutMs: WAIT_TIMEOUT_MS,
  });
  state.client = client;
  const connected = () => {
    const p = client.position;
    setConn("open", `connected${p ? ` · log ${p.epoch.slice(0, 6)}…:${p.offset}` : ""}`);
  };
  client.on("state", ({ state: s }) => {
    if (s === "open") connected();
    else setConn(s, { connecting: "connecting…", reconnecting: "reconnecting…", closed: "closed" }[s] || s);
  });
  client.on("reconnecting", ({ attempt, delayMs }) => setConn("reconnecting", `reconnecting (try ${attempt}, ${delayMs} ms)`));
  client.on("connected", (data) => {
    connected();
    logEvent({ type: "connected", detail: data.resumed ? `resumed, replayed ${data.replayed}` : "fresh" });
    refreshStatus();
  });
  client.on("unauthorised", ({ reason }) => setConn("reconnecting", `token refused: ${reason || "unauthorised"}`));
  client.on("gap", () => logEvent({ type: "gap", detail: "events older than the server's log were lost" }));
  for (const type of ["state", "connected", "event"]) client.on(type, () => renderLocalStatus());
  client.on("event", (frame) => {
    if (client.state === "open") connected();
    const data = frame.data || {};
    const url = String(data.image_url || "");
    logEvent({ type: frame.type, offset: frame.offset, detail: url.split("/").pop().slice(0, 40) });
  });
  client.connect();
}

function logEvent(entry) {
  state.events.push({ ...entry, at: new Date().toISOString() });
  if (state.events.length > 200) state.events.shift();
  const list = $("events");
  const item = h("li", { class: `ev ev-${entry.type}` },
    h("span", { class: "ev-type", text: entry.type }),
    entry.offset !== undefined ? h("span", { class: "ev-offset", text: `#${entry.offset}` }) : null,
    h("span", { class: "ev-detail", text: entry.detail || "" }));
  list.prepend(item);
  while (list.children.length > 12) list.lastChild.remove();
}

async function useUser(userId) {
  state.userId = userId;
  localStorage.setItem("diymod-viewer-user", userId);
  $("user-id").value = userId;
  startClient();
  await loadFilters();
  if (state.feed) await moderate();
}

// -- filters -------------------------------------------------------------------------------------------
async function loadFilters() {
  try {
    const data = await api("GET", `/filters?${q({ user_id: state.userId })}`);
    state.filters = data.filters || [];
    showError("filter-error", null);
  } catch (err) {
    state.filters = [];
    showError("filter-error", err);
  }
  renderFilters();
}

function renderFilters() {
  $("filter-count").textContent = state.filters.length ? `(${state.filters.length})` : "";
  const rows = state.filters.map((f) => {
    const text = h("input", { value: f.filter_text, maxlength: 500, "aria-label": "filter text", dataset: { field: "text" } });
    const intensity = h("select", { "aria-label": "intensity", dataset: { field: "intensity" } });
    fill(intensity, INTENSITY, f.intensity);
    const type = h("select", { "aria-label": "applies to", dataset: { field: "content_type" } });
    fill(type, CONTENT_TYPES, f.content_type);
    const duration = h("select", { "aria-label": "duration", dataset: { field: "duration" } });
    const current = f.is_temporary && f.expires_at ? `until ${f.expires_at.slice(5, 16).replace("T", " ")}` : "forever";
    fill(duration, { keep: `${current} (keep)`, ...DURATIONS }, "keep");
    const save = h("button", { type: "button", text: "Save", dataset: { testid: "filter-save" } });
    const remove = h("button", { type: "button", class: "danger", text: "Delete", dataset: { testid: "filter-delete" } });
    save.addEventListener("click", () => saveFilter(f, { text, intensity, type, duration }));
    remove.addEventListener("click", () => deleteFilter(f));
    return h("li", { class: "filter", dataset: { testid: "filter-row", filterId: f.id } },
      h("div", { class: "filter-id", text: `#${f.id}` }), text,
      h("div", { class: "row3" }, intensity, type, duration),
      h("div", { class: "filter-actions" }, save, remove));
  });
  $("filter-list").replaceChildren(...(rows.length ? rows : [h("li", { class: "empty", text: "No filters yet: the feed passes unchanged." })]));
}

async function addFilter(ev) {
  ev.preventDefault();
  const input = $("filter-text");
  const text = input.value.trim();
  if (!text) return;
  const button = document.querySelector('[data-testid="filter-add"]');
  button.disabled = true;
  try {
    await api("POST", "/filters", {
      user_id: state.userId,
      filter_text: text,
      intensity: Number($("filter-intensity").value),
      content_type: $("filter-content-type").value,
      duration: $("filter-duration").value,
    });
    if (input.value.trim() === text) input.value = "";
    showError("filter-error", null);
  } catch (err) {
    showError("filter-error", err);
    return;
  } finally {
    button.disabled = false;
  }
  await loadFilters();
  if (state.feed) await moderate();
}

async function saveFilter(f, fields) {
  const body = {
    user_id: state.userId,
    filter_text: fields.text.value.trim(),
    intensity: Number(fields.intensity.value),
    content_type: fields.type.value,
  };
  if (fields.duration.value !== "keep") body.duration = fields.duration.value;
  try {
    await api("PUT", `/filters/${encodeURIComponent(f.id)}`, body);
    showError("filter-error", null);
  } catch (err) {
    showError("filter-error", err);
    return;
  }
  await loadFilters();
  if (state.feed) await moderate();
}

async function deleteFilter(f) {
  try {
    await api("DELETE", `/filters/${encodeURIComponent(f.id)}?${q({ user_id: state.userId })}`);
    showError("filter-error", null);
  } catch (err) {
    showError("filter-error", err);
    return;
  }
  await loadFilters();
  if (state.feed) await moderate();
}

// -- feeds ---------------------------------------------------------------------------------------------
async function loadSample(platform) {
  const seed = Number($("seed").value) || 0;
  try {
    const sample = await api("GET", `/viewer/samples/${platform}?${q({ seed })}`);
    const names = { x: "X", reddit: "Reddit", mastodon: "Mastodon", bluesky: "Bluesky" };
    state.feed = { platform, url: sample.url, body: sample.body, label: `${names[platform] || platform} sample, seed ${seed}` };
    showError("feed-error", null);
  } catch (err) {
    showError("feed-error", err);
    return;
  }
  await moderate();
}

async function loadPasted() {
  const url = $("paste-url").value.trim();
  const body = $("paste-body").value;
  const platform = platformForUrl(url);
  if (!platform) {
    showError("feed-error", new Error("The URL must be a reddit.com, x.com or twitter.com request URL, or a Mastodon (/api/v1/timelines/…) or Bluesky (/xrpc/app.bsky.feed.get…) API URL: it decides the platform."));
    return;
  }
  if (!body.trim()) {
    showError("feed-error", new Error("Paste the response body of that request."));
    return;
  }
  state.feed = { platform, url, body, label: "pasted feed" };
  showError("feed-error", null);
  await moderate();
}

async function moderate() {
  const feed = state.feed;
  if (!feed) return;
  const generation = ++state.generation;
  $("remoderate").disabled = false;
  $("summary").textContent = `Moderating ${feed.label}…`;
  let answer;
  try {
    answer = await api("POST", "/get_feed", { user_id: state.userId, url: feed.url, data: { feed_info: { response: feed.body } } });
  } catch (err) {
    if (generation === state.generation) {
      showError("feed-error", err);
      $("summary").textContent = "Moderation failed.";
    }
    return;
  }
  if (generation !== state.generation) return; // a newer request is on its way
  showError("feed-error", null);
  state.report = answer.moderation || {};
  let original;
  let moderated;
  try {
    original = extractFeed(feed.platform, feed.body);
    moderated = extractFeed(feed.platform, String(answer.feed && answer.feed.response));
  } catch (err) {
    showError("feed-error", new Error(`Could not read the feed: ${err.message}`));
    return;
  }
  renderFeed(original, moderated, state.report, generation);
}

function summaryText(feed, report, posts) {
  const changed = (report.changed || []).length;
  const parts = [`${feed.label}: ${posts} posts`, `${changed} changed`];
  if (report.provider) parts.push(`provider ${report.provider} (${report.provider_calls} call${report.provider_calls === 1 ? "" : "s"}, ${report.cached_posts || 0} cached)`);
  else parts.push("no active filters");
  if (report.fallback) parts.push("fallback used");
  const undecided = Array.isArray(report.undecided) ? report.undecided.length : Number(report.undecided) || 0;
  if (undecided) parts.push(`${undecided} undecided`);
  if (report.elapsed_ms !== undefined) parts.push(`${Math.round(report.elapsed_ms)} ms`);
  return parts.join(" · ");
}

function renderFeed(original, moderated, report, generation) {
  state.images = { pending: 0, replaced: 0, failed: 0 };
  const byId = new Map(moderated.posts.map((p) => [p.id, p]));
  const reports = new Map((report.changed || []).map((c) => [c.post_id, c]));
  const rows = original.posts.map((post) => {
    const after = byId.get(post.id);
    const why = reports.get(post.id);
    const row = h("article", { class: `feed-row${why ? " changed" : ""}`, dataset: { testid: "feed-row", postId: post.id, changed: why ? "true" : "false" } },
      card(post, { side: "original", platform: original.platform }),
      after ? card(after, { side: "moderated", platform: original.platform, why, generation })
        : h("div", { class: "card missing", text: "This post is missing from the moderated feed." }));
    return row;
  });
  $("columns-head").hidden = false;
  const none = h("p", { class: "none-changed", text: "No post matched this user's filters: the moderated feed is the original." });
  $("feed").replaceChildren(...rows, ...(reports.size ? [] : [none]));
  $("feed").classList.toggle("only-changed", $("only-changed").checked);
  $("summary").textContent = summaryText(state.feed, report, original.posts.length);
  $("summary").dataset.changed = String((report.changed || []).length);
  $("summary").dataset.generation = String(generation);
}

function card(post, { side, platform, why, generation }) {
  const markers = side === "moderated";
  const el = h("div", { class: `card ${side} ${platform}`, dataset: { testid: `${side}-card` } });
  el.append(h("div", { class: "card-head" }, h("span", { text: post.header || "post" }),
    h("span", { class: "post-id", text: post.id })));
  if (post.title.length) {
    const title = h("h3", { class: "title" });
    for (const run of post.title) appendText(title, run, { markers });
    el.append(title);
  }
  // Mastodon's content warning: the client shows the warning and a "Show more" button over the content.
  let body = el;
  if (post.warning && post.warning.kind === "cw") {
    body = h("div", { class: "cw-body", hidden: true });
    const toggle = h("button", { type: "button", class: "cw-toggle", text: "Show more", dataset: { testid: "cw-toggle" } });
    toggle.addEventListener("click", () => {
      body.hidden = !body.hidden;
      toggle.textContent = body.hidden ? "Show more" : "Show less";
    });
    el.append(h("div", { class: "cw", dataset: { testid: "content-warning" } }, h("span", { text: post.warning.text }), toggle), body);
  }
  for (const paragraph of post.paragraphs) {
    const p = h("div", { class: "para" });
    for (const run of paragraph) appendText(p, run, { markers });
    body.append(p);
  }
  if (post.images.length) {
    const grid = h("div", { class: `media n${Math.min(post.images.length, 3)}` });
    for (const image of post.images) grid.append(imageBox(image, { side, post, generation }));
    if (post.veilMedia) {
      // Mastodon's "sensitive" and Bluesky's graphic-media label: media behind a cover the user clicks through.
      const veil = h("button", { type: "button", class: "media-veil", dataset: { testid: "media-veil" }, text: `${post.veilMedia} · click to show` });
      veil.addEventListener("click", () => veil.remove());
      grid.classList.add("veiled");
      grid.append(veil);
    }
    body.append(grid);
  }
  if (post.media === "video") el.append(h("div", { class: "note", text: "video post (thumbnails are not processed)" }));
  if (post.meta) el.append(h("div", { class: "card-meta", text: post.meta }));
  if (why) el.append(whyBox(why));
  return el;
}

function whyBox(why) {
  const box = h("div", { class: "why", dataset: { testid: "why" } });
  for (const m of why.matches || []) {
    const confidence = typeof m.confidence === "number" ? ` · confidence ${m.confidence.toFixed(2)}` : "";
    box.append(h("div", { class: "match" },
      h("span", { class: "tag", text: `filter #${m.filter_id}` }),
      h("strong", { text: `“${m.filter_text}”` }),
      h("span", { class: "on", text: ` on ${m.on}${confidence}` }),
      m.reason ? h("div", { class: "reason", text: m.reason }) : null));
  }
  const did = [];
  if (why.text_intervention) did.push(`text: ${why.text_intervention}`);
  if (why.image_intervention) {
    const statuses = Object.values(why.images || {});
    did.push(`image: ${why.image_intervention}${statuses.length ? ` (${statuses.join(", ")})` : ""}`);
  }
  if (did.length) box.append(h("div", { class: "did", text: did.join(" · ") }));
  for (const note of why.notes || []) box.append(h("div", { class: "note", text: note }));
  return box;
}

// -- images --------------------------------------------------------------------------------------------
function loadable(url) {
  const s = String(url || "");
  if (/^data:image\//i.test(s)) return true;
  let u;
  try {
    u = new URL(s, location.href);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return false;
  const gateway = state.config && state.config.public_gateway_url ? new URL(state.config.public_gateway_url).origin : "";
  return u.origin === location.origin || u.origin === gateway || u.hostname === location.hostname || LOOPBACK.has(u.hostname);
}

function picture(url, alt) {
  if (!loadable(url)) {
    let host = "another host";
    try {
      host = new URL(url).hostname;
    } catch {
      /* keep the default */
    }
    return h("div", { class: "external", dataset: { testid: "external-image" }, text: `Image on ${host} not loaded: the viewer only loads images from the gateway.` });
  }
  return h("img", { src: url, alt: alt || "", loading: "lazy", referrerpolicy: "no-referrer", decoding: "async" });
}

function badge(text, kind) {
  return h("div", { class: `img-badge ${kind || ""}`, text });
}

function imageBox(image, { side, post, generation }) {
  const box = h("figure", { class: "imgbox" });
  const config = side === "moderated" ? image.config : null;
  if (!config) {
    box.append(picture(image.src, image.alt));
    if (image.poster) box.append(badge("video poster", "muted"));
    return box;
  }
  const status = String(config.status || "").toUpperCase();
  const done = config.processedUrl || config.processed_image_url;
  if (config.invalid) {
    box.append(picture(image.src, image.alt), badge("unreadable diy-mod-image attribute", "failed"));
  } else if ((status === "COMPLETED" || config.type === "processed") && done) {
    const img = picture(done, image.alt);
    box.append(img, badge(`Modified by DIY-MOD · ${config.intervention || config.type}`));
    box.dataset.state = "replaced";
    box.dataset.testid = "image-replaced";
    box.dataset.initial = "COMPLETED";
    box.dataset.via = "feed";
  } else if (status === "DEFERRED") {
    pending(box, image, config, { post, generation });
  } else if ((config.type === "blur" || config.type === "overlay") && Array.isArray(config.coordinates)) {
    box.append(picture(image.src, image.alt));
    for (const c of config.coordinates) {
      const area = h("div", { class: `region ${config.type}` });
      area.style.left = `${Number(c.x1) || 0}px`;
      area.style.top = `${Number(c.y1) || 0}px`;
      area.style.width = `${Math.max(0, (Number(c.x2) || 0) - (Number(c.x1) || 0))}px`;
      area.style.height = `${Math.max(0, (Number(c.y2) || 0) - (Number(c.y1) || 0))}px`;
      box.append(area);
    }
  } else {
    box.append(picture(image.src, image.alt), badge(`marker: ${config.type || "?"} ${status}`.trim(), "muted"));
  }
  return box;
}

function pending(box, image, config, { generation }) {
  const filters = Array.isArray(config.filters) ? config.filters.map(String) : [];
  const original = picture(image.src, image.alt);
  original.classList.add("pending-img");
  const spinner = h("div", { class: "spinner-overlay" }, h("div", { class: "spinner" }), h("span", { text: "Transforming image…" }));
  box.append(original, spinner);
  Object.assign(box.dataset, { state: "pending", testid: "image-pending", initial: "DEFERRED", waitUrl: image.src, filters: JSON.stringify(filters) });
  state.images.pending += 1;
  queueMicrotask(renderLocalStatus);
  let settled = false;
  const finish = (ok, value, via) => {
    if (settled) return;
    settled = true;
    if (ok && !value.url) [ok, value] = [false, { reason: "no result URL" }];
    if (generation === state.generation) state.images.pending -= 1;
    queueMicrotask(renderLocalStatus);
    spinner.remove();
    original.classList.remove("pending-img");
    box.dataset.via = via;
    if (ok) {
      original.replaceWith(picture(value.url, image.alt));
      box.append(badge(`Modified by DIY-MOD · ${value.data && value.data.intervention ? value.data.intervention : config.intervention || "processed"}`));
      box.dataset.state = "replaced";
      box.dataset.testid = "image-replaced";
      if (generation === state.generation) state.images.replaced += 1;
    } else {
      box.append(badge(`Not transformed: ${value.reason || "failed"}`, "failed"));
      box.dataset.state = "failed";
      box.dataset.testid = "image-failed";
      box.dataset.reason = value.reason || "failed";
      if (generation === state.generation) state.images.failed += 1;
    }
  };
  state.client.waitForImage(image.src, filters, { timeoutMs: WAIT_TIMEOUT_MS })
    .then((result) => finish(true, result, "notifier"))
    .catch((err) => {
      if (err.reason === "timeout") return poll(image.src, filters).then((r) => finish(r.ok, r, "poll"));
      if (err.reason === "client closed") return undefined; // the user switched: this page of images is gone
      return finish(false, { reason: err.reason || err.message }, "notifier");
    });
  // Belt and braces: a job that failed before this page was listening never announces itself again.
  setTimeout(async () => {
    if (settled || generation !== state.generation) return;
    const r = await poll(image.src, filters);
    if (!r.ok && r.reason !== "pending") finish(false, r, "poll");
  }, POLL_FALLBACK_MS);
}

async function poll(url, filters) {
  try {
    const r = await api("GET", `/get_img_result?${q({ img_url: url, filters: JSON.stringify(filters) })}`);
    if (r.status === "COMPLETED") return { ok: true, url: r.base64_url || r.processed_value, data: r };
    if (r.status === "FAILED") return { ok: false, reason: r.reason || "failed" };
    return { ok: false, reason: "pending" };
  } catch (err) {
    return { ok: false, reason: err.message };
  }
}

// -- status panel ----------------------------------------------------------------------------------------
function fmt(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return typeof value === "number" ? value.toFixed(digits) : String(value);
}

async function refreshStatus() {
  let s;
  try {
    s = await api("GET", "/viewer/status");
  } catch (err) {
    $("status").replaceChildren(h("dt", { text: "status" }), h("dd", { class: "bad", text: err.message }));
    return;
  }
  const n = s.notifier || {};
  const jobs = s.jobs || {};
  const c = state.client;
  const rows = [
    ["notifier", n.ok ? "up" : `down: ${n.error || "?"}`, n.ok ? "ok" : "bad"],
    ["sockets held", fmt(n.sockets)],
    ["users connected", fmt(n.users)],
    ["events in /s", fmt(n.events_in_per_second, 2)],
    ["frames out /s", fmt(n.frames_out_per_second, 2)],
    ["events replayed", fmt(n.replayed_total)],
  ];
  if (jobs.ok) {
    rows.push(["jobs queued", fmt(jobs.queued)], ["jobs running", fmt(jobs.running)]);
    for (const [name, qd] of Object.entries(jobs.queues || {})) {
      rows.push([name, `${qd.queued} queued · ${qd.delayed} delayed · ${qd.claimed ?? "?"} taken · ${qd.dead} dead`]);
    }
  } else {
    rows.push(["jobs", jobs.error || "unknown", "bad"]);
  }
  const g = s.gateway || {};
  if (g.available) {
    const ij = g.image_jobs || {};
    rows.push(["gateway requests", fmt(g.requests_total)],
      ["image requests", Object.entries(ij).map(([k, v]) => `${k} ${v}`).join(" · ") || "–"]);
  } else {
    rows.push(["gateway metrics", g.reason || "not available", "muted"]);
  }
  $("status").replaceChildren(...rows.flatMap(([k, v, cls]) => [h("dt", { text: k }), h("dd", { class: cls || "", text: v })]));
}

function renderLocalStatus() {
  const c = state.client;
  if (!c) return;
  const p = c.position;
  const rows = [
    ["socket", c.state],
    ["log position", p ? `${p.epoch.slice(0, 8)}…:${p.offset}` : "none yet"],
    ["connects", `${c.stats.connects} · ${c.stats.replayed} replayed · ${c.stats.duplicates} duplicates dropped`],
    ["images", `${state.images.replaced} replaced · ${state.images.pending} pending · ${state.images.failed} failed`],
  ];
  $("local-status").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
}

// -- start -------------------------------------------------------------------------------------------------
async function main() {
  try {
    state.config = await api("GET", "/viewer/config");
  } catch (err) {
    document.body.prepend(h("p", { class: "error", text: `Cannot load /viewer/config: ${err.message}` }));
    return;
  }
  if (state.config.auth_mode === "token") for (const el of document.querySelectorAll(".token-only")) el.hidden = false;
  if (state.config.fetch_hint) {
    $("banner").hidden = false;
    $("banner").textContent = state.config.fetch_hint;
  }
  fill($("filter-intensity"), INTENSITY, 3);
  fill($("filter-content-type"), CONTENT_TYPES, "all");
  fill($("filter-duration"), DURATIONS, "permanent");
  $("filter-form").addEventListener("submit", addFilter);
  $("user-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("token").value.trim();
    const id = $("user-id").value.trim();
    if (id) useUser(id);
  });
  $("load-reddit").addEventListener("click", () => loadSample("reddit"));
  $("load-x").addEventListener("click", () => loadSample("x"));
  $("load-mastodon").addEventListener("click", () => loadSample("mastodon"));
  $("load-bluesky").addEventListener("click", () => loadSample("bluesky"));
  $("remoderate").addEventListener("click", () => moderate());
  $("paste-go").addEventListener("click", () => loadPasted());
  $("only-changed").addEventListener("change", (ev) => $("feed").classList.toggle("only-changed", ev.target.checked));
  window.addEventListener("online", () => state.client && state.client.reconnectNow());
  const params = new URLSearchParams(location.search);
  if (params.get("seed")) $("seed").value = params.get("seed");
  const user = params.get("user") || localStorage.getItem("diymod-viewer-user") || randomUser();
  await useUser(user);
  refreshStatus();
  setInterval(() => {
    if (document.visibilityState === "visible") refreshStatus();
  }, STATUS_EVERY_MS);
  document.body.dataset.ready = "true";
}

window.diymodViewer = { state, moderate, refreshStatus };
main();
