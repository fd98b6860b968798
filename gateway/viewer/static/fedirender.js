/**
 * fedirender.js: read Mastodon and Bluesky feed bodies into the viewer's plain post objects, with the
 * native warnings those clients show: Mastodon's content warning (spoiler_text) and sensitive-media veil,
 * Bluesky's graphic-media self-label. Like render.js, feed text is hostile: Mastodon's HTML content is
 * parsed with DOMParser (inert) and only text is read; everything is shown with textContent.
 *
 * Post objects: {id, header, meta, title: [], paragraphs: [[run, ...]], images: [{src, alt, config}],
 * media: null, warning: {kind: "cw"|"label", text} | null, veilMedia: string | null}.
 */

/** node[path[0]][path[1]]..., undefined where the path leaves the JSON. */
export function get(node, ...path) {
  let cur = node;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[key];
  }
  return cur;
}

function config(raw) {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" ? value : { invalid: true };
  } catch {
    return { invalid: true };
  }
}

const str = (v) => (typeof v === "string" ? v : "");

// -- Mastodon ------------------------------------------------------------------------------------------

/** Paragraphs of a status's HTML content, each a list of text runs (one per DOM text node, as the client shows). */
function mastodonParagraphs(content) {
  const doc = new DOMParser().parseFromString(`<body>${content}</body>`, "text/html");
  const paragraphs = [];
  const blocks = doc.body.querySelectorAll("p");
  for (const block of blocks.length ? blocks : [doc.body]) {
    const runs = [];
    const walker = doc.createTreeWalker(block, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        if (node.parentElement && node.parentElement.classList.contains("invisible")) continue;
        runs.push(node.nodeValue);
      } else if (node.tagName === "BR") runs.push("\n");
    }
    if (runs.join("").trim()) paragraphs.push(runs);
  }
  return paragraphs;
}

function mastodonStatus(status, posts, index) {
  if (!status || typeof status !== "object") return;
  let shown = status;
  let boostedBy = null;
  if (status.reblog && typeof status.reblog === "object") {
    boostedBy = str(get(status, "account", "display_name")) || str(get(status, "account", "acct"));
    shown = status.reblog;
  }
  const author = [str(get(shown, "account", "display_name")), get(shown, "account", "acct") && `@${get(shown, "account", "acct")}`]
    .filter(Boolean).join(" ");
  const media = Array.isArray(shown.media_attachments) ? shown.media_attachments : [];
  const images = media.filter((m) => m && m.type === "image" && str(m.url)).map((m) => ({
    src: m.url, alt: str(m.description), config: config(m.diy_mod_config),
  }));
  const cw = str(shown.spoiler_text).trim();
  posts.push({
    id: str(shown.id) || `unknown_${index}`,
    header: boostedBy ? `${author} · boosted by ${boostedBy}` : author,
    meta: [shown.favourites_count != null && `${shown.favourites_count} favourites`,
      shown.reblogs_count != null && `${shown.reblogs_count} boosts`].filter(Boolean).join(" · "),
    title: [],
    paragraphs: typeof shown.content === "string" ? mastodonParagraphs(shown.content) : [],
    images,
    media: null,
    warning: cw ? { kind: "cw", text: cw } : null,
    veilMedia: shown.sensitive === true && images.length ? "Sensitive content" : null,
  });
}

export function extractMastodon(body) {
  const tree = JSON.parse(String(body));
  if (!Array.isArray(tree)) throw new Error("a Mastodon timeline is a JSON array of statuses");
  const posts = [];
  tree.forEach((status, i) => mastodonStatus(status, posts, i));
  return { platform: "mastodon", posts, ads: 0 };
}

// -- Bluesky -------------------------------------------------------------------------------------------

const IMAGES_VIEW = "app.bsky.embed.images#view";

function bskyImages(embed) {
  const view = get(embed, "$type") === IMAGES_VIEW ? embed
    : get(embed, "$type") === "app.bsky.embed.recordWithMedia#view" && get(embed, "media", "$type") === IMAGES_VIEW ? embed.media : null;
  const images = view && Array.isArray(view.images) ? view.images : [];
  return images.filter((i) => i && str(i.fullsize)).map((i) => ({ src: i.fullsize, alt: str(i.alt), config: config(i.diy_mod_config) }));
}

function bskyPost(view, record, embed, posts, extra) {
  if (!view || typeof view !== "object" || !record || typeof record !== "object") return;
  const author = [str(get(view, "author", "displayName")), get(view, "author", "handle") && `@${get(view, "author", "handle")}`]
    .filter(Boolean).join(" ");
  const did = get(view, "author", "did");
  const labels = Array.isArray(view.labels) ? view.labels : [];
  const graphic = labels.some((l) => l && l.val === "graphic-media" && l.src === did);
  const text = str(record.text);
  posts.push({
    id: str(view.uri) || `unknown_${posts.length}`,
    header: extra ? `${author} · ${extra}` : author,
    meta: [view.likeCount != null && `${view.likeCount} likes`, view.repostCount != null && `${view.repostCount} reposts`]
      .filter(Boolean).join(" · "),
    title: [],
    paragraphs: text.trim() ? text.trim().split(/\n{2,}/).map((p) => [p]) : [],
    images: bskyImages(embed),
    media: null,
    warning: null,
    veilMedia: graphic ? "Graphic Media" : null,
  });
}

export function extractBluesky(body) {
  const tree = JSON.parse(String(body));
  if (!tree || typeof tree !== "object" || !Array.isArray(tree.feed)) throw new Error('a Bluesky feed is an object with a "feed" array');
  const posts = [];
  const seen = new Set();
  const add = (view, record, embed, extra) => {
    const id = view && str(view.uri);
    if (id && seen.has(id)) return;
    if (id) seen.add(id);
    bskyPost(view, record, embed, posts, extra);
  };
  for (const item of tree.feed) {
    if (!item || typeof item !== "object") continue;
    for (const [key, label] of [["parent", "replied to"], ["root", "thread start"]]) {
      const view = get(item, "reply", key);
      if (view && view.record) add(view, view.record, view.embed, label);
    }
    const post = item.post;
    if (!post || typeof post !== "object") continue;
    const by = get(item, "reason", "by", "handle");
    add(post, post.record, post.embed, by ? `reposted by @${by}` : "");
    const kind = get(post, "embed", "$type");
    const quoted = kind === "app.bsky.embed.record#view" ? get(post, "embed", "record")
      : kind === "app.bsky.embed.recordWithMedia#view" ? get(post, "embed", "record", "record") : null;
    if (quoted && quoted.$type === "app.bsky.embed.record#viewRecord") {
      add(quoted, quoted.value, Array.isArray(quoted.embeds) ? quoted.embeds[0] : null, "quoted");
    }
  }
  return { platform: "bluesky", posts, ads: 0 };
}

// -- which platform ------------------------------------------------------------------------------------

const MASTODON_PATH = /^\/api\/v1\/timelines\/(?:home|public|tag\/[^/]+|list\/[^/]+)\/?$/;
const BLUESKY_PATH = /^\/xrpc\/app\.bsky\.feed\.(?:getTimeline|getFeed|getAuthorFeed)\/?$/;

/** "mastodon", "bluesky" or null from the request URL's path (any host), as the gateway decides. */
export function fediPlatformForUrl(url) {
  let path;
  try {
    path = new URL(url).pathname;
  } catch {
    return null;
  }
  if (MASTODON_PATH.test(path)) return "mastodon";
  if (BLUESKY_PATH.test(path)) return "bluesky";
  return null;
}
