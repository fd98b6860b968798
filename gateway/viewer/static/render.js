/**
 * render.js: read Reddit and X feed bodies into plain post objects, and render post text the way the
 * DIY-MOD extension renders its markers (docs/protocol.md §3), without ever parsing feed or
 * model text as HTML into the live page.
 *
 * Feed text is hostile input. Reddit bodies are parsed with DOMParser (an inert document: no scripts
 * run, no images load) and only text and attribute values are read from it; X bodies are JSON.
 * Everything shown is built with createElement/textContent.
 *
 * Why entities are decoded once more inside marked text: the backend escapes marked text for the
 * extension, which assigns the whole text node containing a marker to innerHTML (a second decode).
 * Here the second decode is done by decodeEntities() on plain strings, and the result goes into
 * textContent, so "<img onerror=...>" in a post is shown as text, exactly as the extension shows it.
 */

import { extractBluesky, extractMastodon, fediPlatformForUrl, get } from "./fedirender.js";

const START_RE = /__(BLUR|OVERLAY|REWRITE)_START__/g;
const LINE_BREAK_RE = /[\n\r\u2028\u2029]/;
const DEFAULT_WARNING = "Content filtered";
const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

export function hasMarker(text) {
  START_RE.lastIndex = 0;
  return START_RE.test(text || "");
}

/** One round of HTML character-reference decoding (what innerHTML does to text), on a plain string. */
export function decodeEntities(text) {
  return String(text).replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/g, (whole, ref) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(code);
    }
    return Object.prototype.hasOwnProperty.call(NAMED, ref) ? NAMED[ref] : whole;
  });
}

/**
 * Marker syntax to a tree: [{kind: "text", text} | {kind: "blur"|"rewrite", children} |
 * {kind: "overlay", warning, children}]. Same rules as the extension's regexes: the first END of a
 * kind closes it; an overlay's warning runs to the first "|" and must not cross a line break; a START
 * without its END (or an overlay without "|") stays visible as text.
 */
export function parseMarkers(text) {
  const out = [];
  const s = String(text);
  let i = 0;
  let plainFrom = 0;
  while (i < s.length) {
    START_RE.lastIndex = i;
    const m = START_RE.exec(s);
    if (!m) break;
    const kind = m[1];
    const bodyStart = m.index + m[0].length;
    const endToken = `__${kind}_END__`;
    const end = s.indexOf(endToken, bodyStart);
    let warning = null;
    let contentStart = bodyStart;
    let ok = end >= 0;
    if (ok && kind === "OVERLAY") {
      const bar = s.indexOf("|", bodyStart);
      const head = bar >= 0 ? s.slice(bodyStart, bar) : "";
      ok = bar >= 0 && bar < end && !LINE_BREAK_RE.test(head);
      warning = head;
      contentStart = bar + 1;
    }
    if (!ok) {
      i = bodyStart; // not a marker here: the token stays as text, look further on
      continue;
    }
    if (m.index > plainFrom) out.push({ kind: "text", text: s.slice(plainFrom, m.index) });
    const node = { kind: kind.toLowerCase(), children: parseMarkers(s.slice(contentStart, end)) };
    if (kind === "OVERLAY") node.warning = warning;
    out.push(node);
    i = plainFrom = end + endToken.length;
  }
  if (plainFrom < s.length) out.push({ kind: "text", text: s.slice(plainFrom) });
  return out;
}

function toggleOnActivate(element, toggle) {
  element.tabIndex = 0;
  element.addEventListener("click", (ev) => {
    ev.stopPropagation();
    toggle();
  });
  element.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      ev.stopPropagation();
      toggle();
    }
  });
}

function renderNodes(nodes, parent) {
  for (const node of nodes) {
    if (node.kind === "text") {
      parent.append(document.createTextNode(decodeEntities(node.text)));
    } else if (node.kind === "blur") {
      const span = document.createElement("span");
      span.className = "diymod-blur";
      span.dataset.testid = "blur";
      span.title = "Blurred by DIY-MOD: hover or click to reveal";
      renderNodes(node.children, span);
      toggleOnActivate(span, () => span.classList.toggle("revealed"));
      parent.append(span);
    } else if (node.kind === "overlay") {
      const warning = decodeEntities(node.warning || "").trim() || DEFAULT_WARNING;
      const box = document.createElement("div");
      box.className = "content-overlay diymod-overlay hidden";
      box.dataset.warning = warning;
      box.dataset.testid = "overlay";
      box.setAttribute("role", "button");
      box.setAttribute("aria-expanded", "false");
      const content = document.createElement("div");
      content.className = "content";
      renderNodes(node.children, content);
      const label = document.createElement("div");
      label.className = "warning";
      const strong = document.createElement("strong");
      strong.textContent = warning;
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = "click to reveal";
      label.append(strong, hint);
      box.append(content, label);
      toggleOnActivate(box, () => {
        const hidden = box.classList.toggle("hidden");
        box.setAttribute("aria-expanded", String(!hidden));
      });
      parent.append(box);
    } else if (node.kind === "rewrite") {
      const box = document.createElement("div");
      box.className = "diymod-rewritten";
      box.dataset.testid = "rewrite";
      renderNodes(node.children, box);
      const badge = document.createElement("div");
      badge.className = "modification-indicator";
      badge.textContent = "Modified by DIY-MOD";
      box.append(badge);
      parent.append(box);
    }
  }
}

/**
 * One DOM text node's worth of feed text, into `parent`. With `markers` (the moderated side), text
 * holding a START token is rendered as the extension renders it; anything else is shown as it is.
 */
export function appendText(parent, text, { markers }) {
  if (markers && hasMarker(text)) renderNodes(parseMarkers(text), parent);
  else parent.append(document.createTextNode(text));
}

// -- Reddit ----------------------------------------------------------------------------------------

const REDDIT_BASE = "https://www.reddit.com/";

function textRuns(element) {
  if (!element) return [];
  const walker = element.ownerDocument.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const runs = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) runs.push(node.data);
  return runs;
}

function trimRuns(runs) {
  const out = runs.map((r) => r.replace(/\s+/g, " "));
  while (out.length && !out[0].trim()) out.shift();
  while (out.length && !out[out.length - 1].trim()) out.pop();
  if (out.length) {
    out[0] = out[0].trimStart();
    out[out.length - 1] = out[out.length - 1].trimEnd();
  }
  return out;
}

function browserUrl(raw) {
  const url = String(raw || "").trim().replace(/[\t\n\r]/g, "");
  if (!url) return "";
  if (/^https?:\/\//i.test(url)) return url; // as the gateway keys it (urljoin leaves absolute URLs alone)
  try {
    return new URL(url, REDDIT_BASE).href;
  } catch {
    return url;
  }
}

function jsonAttribute(raw) {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return { invalid: true };
  }
}

function redditImages(post) {
  const box = post.querySelector('[slot="post-media-container"]');
  if (!box) return { images: [], media: null };
  const video = box.querySelector("shreddit-player-2, shreddit-player");
  const images = [];
  for (const img of box.querySelectorAll("img[src]")) {
    if ((img.getAttribute("class") || "").split(/\s+/).includes("post-background-image-filter")) continue;
    images.push({
      src: browserUrl(img.getAttribute("src")),
      alt: img.getAttribute("alt") || "",
      config: jsonAttribute(img.getAttribute("diy-mod-image")),
      poster: img.getAttribute("slot") === "poster",
    });
  }
  return { images, media: video ? "video" : images.length > 1 ? "gallery" : images.length ? "image" : null };
}

export function extractReddit(body) {
  const doc = new DOMParser().parseFromString(String(body), "text/html");
  const posts = [];
  for (const [n, el] of [...doc.querySelectorAll("shreddit-post")].entries()) {
    const title = el.querySelector('a[slot="title"]');
    const bodyEl = el.querySelector('[slot="text-body"]');
    let paragraphs = [];
    if (bodyEl) {
      const blocks = [...bodyEl.querySelectorAll("p, li, blockquote, pre, h1, h2, h3, h4, h5, h6")].filter(
        (b) => !b.parentElement.closest("p, li, blockquote, pre"),
      );
      paragraphs = (blocks.length ? blocks : [bodyEl]).map((b) => trimRuns(textRuns(b))).filter((p) => p.length);
    }
    const { images, media } = redditImages(el);
    posts.push({
      id: el.getAttribute("id") || `post-${n}`,
      header: [el.getAttribute("subreddit-prefixed-name"), el.getAttribute("author") && `u/${el.getAttribute("author")}`]
        .filter(Boolean)
        .join(" · "),
      meta: [el.getAttribute("score") && `${el.getAttribute("score")} points`,
        el.getAttribute("comment-count") && `${el.getAttribute("comment-count")} comments`].filter(Boolean).join(" · "),
      title: trimRuns(textRuns(title)),
      paragraphs,
      images,
      media,
    });
  }
  return { platform: "reddit", posts, ads: doc.querySelectorAll("shreddit-ad-post").length };
}

// -- X ---------------------------------------------------------------------------------------------

const X_ENTITY = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

export function xUnescape(raw) {
  return String(raw).replace(/&(amp|lt|gt|quot|#39);/g, (_, name) => X_ENTITY[name]);
}

function unwrap(result) {
  if (!result || typeof result !== "object") return null;
  if (result.__typename === "TweetWithVisibilityResults" || (!("legacy" in result) && result.tweet)) {
    result = result.tweet;
  }
  return result && typeof result === "object" && result.legacy && typeof result.legacy === "object" ? result : null;
}

function xUser(tweet) {
  const user = get(tweet, "core", "user_results", "result") || {};
  const name = get(user, "legacy", "name") || get(user, "core", "name") || "";
  const handle = get(user, "legacy", "screen_name") || get(user, "core", "screen_name") || "";
  return [name, handle && `@${handle}`].filter(Boolean).join(" ");
}

function xPhotos(legacy) {
  let media = get(legacy, "extended_entities", "media");
  if (!Array.isArray(media) || !media.length) media = get(legacy, "entities", "media");
  if (!Array.isArray(media)) return [];
  return media
    .filter((m) => m && m.type === "photo" && typeof m.media_url_https === "string" && m.media_url_https)
    .map((m) => ({
      src: m.media_url_https,
      alt: typeof m.ext_alt_text === "string" ? m.ext_alt_text : "",
      config: typeof m.diy_mod_config === "string" ? jsonAttribute(m.diy_mod_config) : null,
    }));
}

function xTweet(item, posts, entryId, index) {
  if (!item || typeof item !== "object" || item.promotedMetadata) return false;
  const tweet = unwrap(get(item, "tweet_results", "result"));
  if (!tweet || tweet.promotedMetadata) return false;
  let legacy = tweet.legacy;
  let author = xUser(tweet);
  let retweetedBy = null;
  const id = (typeof legacy.id_str === "string" && legacy.id_str) || tweet.rest_id || `unknown_${entryId}_${index}`;
  const inner = unwrap(get(legacy, "retweeted_status_result", "result"));
  if (inner) {
    retweetedBy = author;
    legacy = inner.legacy;
    author = xUser(inner);
  }
  const text = typeof legacy.full_text === "string" ? xUnescape(legacy.full_text) : "";
  const points = Array.from(text);
  let [start, end] = [0, points.length];
  const range = legacy.display_text_range;
  if (Array.isArray(range) && range.length === 2 && range.every(Number.isInteger) && range[0] >= 0
      && range[0] <= range[1] && range[1] <= points.length) {
    [start, end] = range;
  }
  const visible = points.slice(start, end).join("").trim();
  posts.push({
    id,
    header: retweetedBy ? `${author} · retweeted by ${retweetedBy}` : author,
    meta: [legacy.favorite_count != null && `${legacy.favorite_count} likes`,
      legacy.retweet_count != null && `${legacy.retweet_count} reposts`].filter(Boolean).join(" · "),
    title: [],
    paragraphs: visible ? visible.split(/\n{2,}/).map((p) => [p]) : [],
    images: xPhotos(legacy),
    media: null,
  });
  return true;
}

export function extractX(body) {
  const tree = JSON.parse(String(body));
  const posts = [];
  let ads = 0;
  const instructions = get(tree, "data", "home", "home_timeline_urt", "instructions");
  const entries = [];
  for (const ins of Array.isArray(instructions) ? instructions : []) {
    if (ins && ins.type === "TimelineAddEntries" && Array.isArray(ins.entries)) entries.push(...ins.entries);
    else if (ins && ins.type === "TimelinePinEntry" && ins.entry) entries.push(ins.entry);
  }
  for (const entry of entries) {
    const entryId = typeof get(entry, "entryId") === "string" ? entry.entryId : "";
    if (entryId.startsWith("promoted")) {
      ads += 1;
      continue;
    }
    const item = get(entry, "content", "itemContent");
    if (item && item.promotedMetadata) ads += 1;
    else if (item) xTweet(item, posts, entryId, 0);
    const items = get(entry, "content", "items");
    for (const [k, moduleItem] of (Array.isArray(items) ? items : []).entries()) {
      const subId = typeof get(moduleItem, "entryId") === "string" ? moduleItem.entryId : entryId;
      if (subId.includes("promoted")) continue;
      xTweet(get(moduleItem, "item", "itemContent"), posts, subId, k);
    }
  }
  return { platform: "x", posts, ads };
}

// -- both ------------------------------------------------------------------------------------------

/** "reddit", "x", "mastodon", "bluesky" or null, from the intercepted request URL (as the gateway decides). */
export function platformForUrl(url) {
  let host;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
  const under = (domain) => host === domain || host.endsWith("." + domain);
  if (under("reddit.com")) return "reddit";
  if (under("x.com") || under("twitter.com")) return "x";
  return fediPlatformForUrl(url);
}

export function extractFeed(platform, body) {
  if (platform === "mastodon") return extractMastodon(body);
  if (platform === "bluesky") return extractBluesky(body);
  return platform === "reddit" ? extractReddit(body) : extractX(body);
}
