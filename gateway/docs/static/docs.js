// Renders the gateway's /openapi.json: one collapsible section per operation with its parameters,
// request body, responses (schemas with $refs resolved one level for reading) and a small "try it" form.
// Everything is built with DOM calls and textContent: nothing from the document is parsed as HTML.

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
};

let spec = null;

function resolve(schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 6) return schema;
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { title: name, ...resolve(spec.components.schemas[name], depth + 1) };
  }
  if (Array.isArray(schema)) return schema.map((s) => resolve(s, depth + 1));
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = resolve(value, depth + 1);
  return out;
}

function schemaBlock(schema) {
  return el("pre", {}, el("code", {}, JSON.stringify(resolve(schema), null, 2)));
}

function example(schema, depth = 0) {
  const s = resolve(schema);
  if (!s || depth > 4) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1) ?? {}));
  if (s.oneOf) return example(s.oneOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === "object") {
    const out = {};
    for (const name of s.required ?? Object.keys(s.properties ?? {}).slice(0, 3)) {
      out[name] = example((s.properties ?? {})[name] ?? {}, depth + 1);
    }
    return out;
  }
  if (type === "array") return [];
  if (type === "integer" || type === "number") return s.minimum ?? 1;
  if (type === "boolean") return false;
  if (type === "string") return s.format === "uri" ? "https://example.com/image.jpg" : "text";
  return null;
}

function tryForm(path, method, op) {
  const form = el("form", { class: "try" });
  const inputs = {};
  for (const p of op.parameters ?? []) {
    const input = el("input", { name: p.name, placeholder: `${p.in}: ${p.name}${p.required ? " (required)" : ""}` });
    inputs[p.name] = { input, where: p.in };
    form.append(input);
  }
  const json = op.requestBody?.content?.["application/json"];
  let textarea = null;
  if (json) {
    textarea = el("textarea", { "aria-label": "JSON body" });
    textarea.value = JSON.stringify(example(json.schema), null, 2);
    form.append(textarea);
  }
  const token = el("input", { placeholder: "bearer token (token mode)", autocomplete: "off" });
  const out = el("pre", { class: "hidden" });
  form.append(token, el("button", { type: "submit" }, "Send"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const [name, { input, where }] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (where === "path") url = url.replace(`{${name}}`, encodeURIComponent(input.value));
      else if (where === "query") query.set(name, input.value);
    }
    if ([...query].length) url += `?${query}`;
    const headers = {};
    if (textarea) headers["Content-Type"] = "application/json";
    if (token.value) headers.Authorization = `Bearer ${token.value}`;
    out.classList.remove("hidden");
    out.textContent = "…";
    try {
      const started = performance.now();
      const response = await fetch(url, { method: method.toUpperCase(), headers, body: textarea?.value });
      const text = await response.text();
      const ms = Math.round(performance.now() - started);
      out.className = response.ok ? "status-ok" : "status-bad";
      out.textContent = `${response.status} ${response.statusText} (${ms} ms)\n\n${text.slice(0, 20000)}`;
    } catch (error) {
      out.className = "status-bad";
      out.textContent = String(error);
    }
  });
  return form;
}

function operation(path, method, op) {
  const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, "-");
  const section = el("details", { class: "op", id });
  section.dataset.search = `${method} ${path} ${(op.tags ?? []).join(" ")} ${op.summary ?? ""}`.toLowerCase();
  section.append(el("summary", {}, el("span", { class: `method ${method}` }, method), el("span", { class: "path" }, path),
    el("span", { class: "summary" }, op.summary ?? "")));
  const body = el("div", { class: "body" });
  if (op.description) body.append(el("p", {}, op.description));
  if (op.parameters?.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "required"),
      el("th", {}, "schema")));
    for (const p of op.parameters) {
      table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, p.required ? "yes" : "no"),
        el("td", {}, el("code", {}, JSON.stringify(p.schema)))));
    }
    body.append(el("h3", {}, "Parameters"), table);
  }
  if (op.requestBody) {
    body.append(el("h3", {}, "Request body"));
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      body.append(el("p", {}, el("code", {}, type)), schemaBlock(media.schema));
    }
  }
  body.append(el("h3", {}, "Responses"));
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    body.append(el("p", {}, el("strong", {}, status), " ", response.description ?? ""));
    for (const [type, media] of Object.entries(response.content ?? {})) {
      if (type === "application/json") body.append(schemaBlock(media.schema));
      else body.append(el("p", {}, el("code", {}, type)));
    }
  }
  if (!path.includes("/static/")) body.append(el("h3", {}, "Try it"), tryForm(path, method, op));
  section.append(body);
  return section;
}

async function main() {
  const main = document.getElementById("operations");
  try {
    const response = await fetch("/openapi.json");
    spec = await response.json();
  } catch (error) {
    main.textContent = `Could not load /openapi.json: ${error}`;
    return;
  }
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
  document.getElementById("description").textContent = spec.info.description ?? "";
  document.getElementById("auth").textContent = spec.security ? "Token mode: send Authorization: Bearer <token>." :
    "Open mode: user_id fields are trusted.";
  main.replaceChildren();
  const toc = document.getElementById("toc");
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const section = operation(path, method, op);
      main.append(section);
      toc.append(el("a", { href: `#${section.id}` }, `${method.toUpperCase()} ${path}`));
    }
  }
  document.getElementById("search").addEventListener("input", (event) => {
    const words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const section of main.children) {
      section.classList.toggle("hidden", !words.every((w) => section.dataset.search.includes(w)));
    }
  });
}

main();
