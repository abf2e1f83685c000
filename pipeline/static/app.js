// vsearch's page: every string from the index (file names, subtitles, speech, screen text) is
// put on the page as text (textContent, text nodes), never parsed as HTML.
"use strict";
const $ = (id) => document.getElementById(id);

// The page's words in the browser's language: English, and Chinese for any zh-* browser.
const STRINGS = {
  en: {
    placeholder: "What are you looking for? e.g. the part about vector databases", search: "Search",
    slash: "Search (press / to come back here)",
    video: "video or folder", all: "all", source: "source", language: "language", speaker: "speaker", any: "any",
    frames: "seen", audio: "heard", asr: "said", ocr: "shown", subtitle: "subtitles", cues: "text",
    drop: "Drop a picture or a sound here (or click) to find where it is seen or heard",
    clip: "Download this clip", similar: "More like this", more: "More results", empty: "query is empty",
    exportAll: "Download all as an edit list:",
    nothing: "no matching moments", searching: "searching…", score: "score",
    closest: (name, when) => `closest under the bar: ${name} ${when}`, showAll: "Show all",
    external: "This browser cannot play this file; open it with:",
    gone: (n) => `${n} indexed videos are gone from disk and were left out`,
    leftOut: (signal, why) => `${signal} left out: ${why}`,
    thin: (signal, rows) => `${signal}: ${rows} are too few for a background`,
    measured: (kind, model, fails, script) => `the ${kind} model ${model} does not ${fails} (measured)`,
    reads: (model, scripts, script) => `the sound model ${model} reads ${scripts} text, and this query is ${script}`,
  },
  zh: {
    placeholder: "想找什么？例如：讲到向量数据库的部分", search: "搜索",
    slash: "搜索（按 / 回到这里）",
    video: "视频或文件夹", all: "全部", source: "来源", language: "语言", speaker: "说话人", any: "不限",
    frames: "画面", audio: "声音", asr: "语音", ocr: "屏幕文字", subtitle: "字幕", cues: "文本",
    drop: "把图片或声音拖到这里（或点击），找出它在哪里出现或被听到",
    clip: "下载这一段", similar: "找相似画面", more: "更多结果", empty: "查询为空",
    exportAll: "全部下载为剪辑列表：",
    nothing: "没有匹配的片段", searching: "搜索中…", score: "得分",
    closest: (name, when) => `最接近但未达标的：${name} ${when}`, showAll: "全部显示",
    external: "浏览器无法播放此文件，请用以下命令打开：",
    gone: (n) => `${n} 个已索引的视频已不在磁盘上，已略去`,
    leftOut: (signal, why) => `已略去${signal}信号：${why}`,
    thin: (signal, rows) => `${signal}：${rows}，太少，无法衡量查询的背景`,
    measured: (kind, model, fails, script) => `${ZH_KIND[kind] || kind}模型 ${model} 无法${ZH_FAILS[fails.replace(script, "{script}")] || fails}（实测），查询为${ZH_SCRIPT[script] || script}`,
    reads: (model, scripts, script) => `声音模型 ${model} 只读${scripts.split(", ").map((s) => ZH_SCRIPT[s] || s).join("、")}文本，而此查询为${ZH_SCRIPT[script] || script}`,
  },
};
const ZH_KIND = { image: "图像", text: "文本", sound: "声音" };
const ZH_SCRIPT = { han: "中文", latin: "拉丁字母", other: "其他文字" };
const ZH_FAILS = { "match {script} text to pictures": "将该文字与画面对应", "tell {script} paraphrases apart": "分辨该文字的近义表达",
                   "match {script} text to sounds": "将该文字与声音对应" };
const LANG = (navigator.languages || [navigator.language || "en"]).some((l) => /^zh\b/i.test(l)) ? "zh" : "en";
const T = STRINGS[LANG];
let results = [], lastQuery = null, active = -1, pendingSeek = null;
// Every video the page has heard of (path -> shown name), from /api/videos and from results: a name
// two of them share is shown with as much of its folder as tells them apart.
const known = new Map();
window.vsearch = { get results() { return results; }, lang: LANG };

function translatePage() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = T[node.dataset.i18n];
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = T[node.dataset.i18nPlaceholder];
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = T[node.dataset.i18nTitle];
}

const LOCAL = /^(?:\/|~[\\/]|\.{1,2}[\\/]|[A-Za-z]:[\\/]|\\\\)/;  // /x, ~/x, ./x, ../x, C:\x, \\host\x

function shortModel(model) {
  // A model loaded from a folder by its folder's name ("/home/u/.venv/lib/…/clip-vit" is "clip-vit"); a hub id
  // ("openai/clip-vit-base-patch32") or a registered name as it is.
  if (!LOCAL.test(model)) return model;
  const parts = model.split(/[\\/]+/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : model;
}

function note(signal, why) {
  // The server's notes are English sentences of three shapes (query/levels.py); anything else is shown as it came,
  // any local path in it by its last part.
  const name = T[signal] || signal, text = why.replace(/^left out: /, "");
  const thin = why.match(/^(\d+ [^:]+?) are too few to tell this query's background/);
  if (thin) return T.thin(name, thin[1]);
  let m = text.match(/^the (\w+) model (.+) does not (.+) \(measured\)$/);
  const script = m && (m[3].match(/\b(han|latin|other)\b/) || [])[1];
  if (m && script) return T.leftOut(name, T.measured(m[1], shortModel(m[2]), m[3], script));
  m = text.match(/^the sound model (.+) reads (.+) text, and this query is (\w+)$/);
  if (m) return T.leftOut(name, T.reads(shortModel(m[1]), m[2], m[3]));
  return T.leftOut(name, text.split(/(\s+)/).map(shortModel).join(""));
}

function say(text, kind = "note") {
  const box = $("status");
  box.textContent = text;
  box.className = text ? kind : "";
}

function closePlayer() {
  // No player until a result is opened, and none left over from the last search: stopped, emptied, hidden.
  const player = $("player");
  player.pause();
  if (pendingSeek) player.removeEventListener("loadedmetadata", pendingSeek);
  pendingSeek = null;
  if (player.hasAttribute("src")) { player.removeAttribute("src"); player.load(); }
  delete player.dataset.id;
  for (const old of document.querySelectorAll("#marks .chapter")) old.remove();
  Object.assign($("mark").style, { left: "0", width: "0" });
  $("now").textContent = "";
  $("external").hidden = true;
  $("clip").disabled = $("similar").disabled = true;
  $("viewer").hidden = true;
  active = -1;
  document.querySelectorAll(".card.active").forEach((c) => c.classList.remove("active"));
}

function clearResults() {
  closePlayer();
  $("results").textContent = "";
  $("export").hidden = true;
  results = [];
}

function hms(s) {
  const t = Math.floor(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), x = t % 60;
  return [h, m, x].map((n) => String(n).padStart(2, "0")).join(":");
}

function split(path) {
  // A path's folders and file name, split where the server's system splits them.
  const parts = path.split(path.includes("/") ? "/" : "\\");
  return { dirs: parts.slice(0, -1), sep: path.includes("/") ? "/" : "\\" };
}

function folders() {
  // path -> "" for a name no other known video has; else the fewest trailing folders that no other video of
  // that name ends with ("…/2023/" for /v/2023/friday.mp4 beside /v/2024/friday.mp4), or the whole folder.
  const named = new Map();
  for (const [path, name] of known) named.set(name, [...(named.get(name) || []), path]);
  const cache = new Map();
  return (path) => {
    if (cache.has(path)) return cache.get(path);
    const others = (named.get(known.get(path)) || []).filter((p) => p !== path).map((p) => split(p).dirs);
    const { dirs, sep } = split(path);
    let label = others.length ? dirs.join(sep) + sep : "";
    for (let d = 1; others.length && d < dirs.length; d++) {
      const tail = dirs.slice(-d).join(sep);
      if (others.every((o) => o.slice(-d).join(sep) !== tail)) { label = `…${sep}${tail}${sep}`; break; }
    }
    cache.set(path, label);
    return label;
  };
}

function relabel() {
  // Each card, the video filter's list and the line under the player: names that repeat, with their folders.
  const folder = folders();
  document.querySelectorAll("#results .card").forEach((node, i) => {
    if (results[i]) node.querySelector(".folder").textContent = folder(results[i].video);
  });
  for (const o of $("videos").options) o.label = folder(o.value) + known.get(o.value);
  if (results[active]) showNow(results[active], folder);
}

function showNow(r, folder = folders()) {
  $("now").textContent = `${folder(r.video)}${r.name}  ${hms(r.start)}–${hms(r.end)}`;
}

// As query/words.py splits words: letters and digits of scripts written with spaces; Han and kana are not
// part of such a word ("map" is a word in "map地图").
const LETTER = /[\p{L}\p{N}]/u;
const HAN = /[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/u;
const wordlike = (c) => c !== undefined && LETTER.test(c) && !HAN.test(c);

function terms(marks) {
  // The words the server marks in this cue (the query's distinctive words, stop words never among them:
  // query/words.py), longest first; none without them.
  return [...new Set((marks || []).filter((w) => typeof w === "string" && w).map((w) => w.toLowerCase()))]
    .sort((a, b) => b.length - a.length);
}

function lower(text) {
  // Lower case of the same length, so offsets in it are offsets in `text` ("İ" lowers to two characters).
  const low = text.toLowerCase();
  return low.length === text.length ? low : [...text].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join("");
}

function matchAt(low, i, t) {
  // A word matches whole ("stole" not inside "stolen"); a run of Han characters matches anywhere.
  if (!low.startsWith(t, i)) return false;
  if (HAN.test(t)) return true;
  return !wordlike(low[i - 1]) && !wordlike(low[i + t.length]);
}

function highlighted(text, marks) {
  // The cue as text nodes, with the words the server marks in <mark>; nothing is parsed as HTML.
  const box = document.createElement("span"), low = lower(text), found = terms(marks);
  let i = 0, plain = 0;
  const flush = (to) => { if (to > plain) box.appendChild(document.createTextNode(text.slice(plain, to))); };
  while (i < text.length) {
    const hit = found.find((t) => matchAt(low, i, t));
    if (!hit) { i++; continue; }
    flush(i);
    const mark = document.createElement("mark");
    mark.textContent = text.slice(i, i + hit.length);
    box.appendChild(mark);
    i = plain = i + hit.length;
  }
  flush(text.length);
  return box;
}

function card(r, n) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.querySelector(".thumb").src = r.thumb;
  node.querySelector(".name").textContent = r.name;
  node.querySelector(".when").textContent = `${hms(r.start)}–${hms(r.end)}`;
  if (r.cue) node.querySelector(".cue").appendChild(highlighted(r.cue, r.marks));
  node.querySelector(".sense").textContent = T[r.source] || r.source || T.frames;
  node.querySelector(".score").textContent = `${T.score} ${r.score.toFixed(3)}`;
  node.addEventListener("click", () => play(n));
  return node;
}

function render(body, append) {
  const box = $("results"), found = body.results || [];
  if (!append) clearResults();
  box.querySelector(".more")?.remove();
  const first = results.length;
  results.push(...found);
  for (const r of found) known.set(r.video, r.name);
  const frag = document.createDocumentFragment();
  found.forEach((r, i) => frag.appendChild(card(r, first + i)));
  box.appendChild(frag);
  relabel();
  // Why a signal was left out, and videos gone from disk: shown with the results or in place of them.
  const why = Object.entries(body.notes || {}).map(([signal, reason]) => note(signal, reason));
  if ((body.gone || []).length) why.push(T.gone(body.gone.length));
  if (!results.length) {
    const c = body.closest;
    if (c) why.unshift(T.closest(c.name, `${hms(c.start)}–${hms(c.end)}`));
    say([T.nothing, ...why].join(" · "));
    if (c && lastQuery.q !== undefined) offerAll();
  } else if (!append) say(why.join(" · "));
  if (lastQuery.q !== undefined && results.length) offerEditList();
  if (found.length === body.k && lastQuery.q !== undefined) {  // a full page: there may be more
    const more = document.createElement("button");
    more.className = "more";
    more.textContent = T.more;
    more.addEventListener("click", () => search(results.length));
    box.appendChild(more);
  }
}

function offerAll() {
  // Nothing passed the bar: one click asks again for every moment found, the closest first.
  const button = document.createElement("button");
  button.className = "all";
  button.textContent = T.showAll;
  button.addEventListener("click", () => search(0, true));
  $("status").append(" ", button);
}

function offerEditList() {
  // The moments shown for a text query, as /api/export writes them: the same query, filters and count.
  const params = queryParams(lastQuery.q);
  if (lastQuery.all) params.set("all", "1");
  params.set("k", Math.min(results.length, 1000));  // the most one request may ask for (request.py MAX_TOP_K)
  for (const link of $("export").querySelectorAll("a")) {
    params.set("format", link.dataset.format);
    link.href = `/api/export?${params}`;
  }
  $("export").hidden = false;
}

function queryParams(q) {
  const params = new URLSearchParams({ q });
  for (const name of ["video", "source", "lang", "speaker"]) if ($(name).value) params.set(name, $(name).value);
  return params;
}

async function answer(response) {
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function ask(url, init, append = false) {
  // One request's answer on the page; an error replaces old results, where the query is typed.
  if (!append) { closePlayer(); say(T.searching); }
  try {
    render(await answer(await fetch(url, init)), append);
  } catch (e) {
    clearResults();
    say(e.message, "error");
  }
}

function search(offset = 0, all = offset > 0 && lastQuery.all) {
  const q = $("q").value.trim();
  if (!q) { clearResults(); say(T.empty, "error"); $("q").focus(); return; }
  lastQuery = { q, all };
  const params = queryParams(q);
  params.set("offset", offset);
  if (all) params.set("all", "1");
  return ask(`/api/find?${params}`, undefined, offset > 0);
}

function searchFile(file) {
  // A sound goes to the sound model, anything else to the image model (which names what it cannot read).
  const field = /^(audio|video)\//.test(file.type) ? "audio" : "image";
  lastQuery = { [field]: file.name };
  const form = new FormData();
  form.append(field, file);
  return ask("/api/find", { method: "POST", body: form });
}

async function showChapters(videoId) {
  // A tick on the bar under the player where each chapter after the first begins, its title on hover.
  for (const old of document.querySelectorAll("#marks .chapter")) old.remove();
  const body = await fetch(`/api/chapters?${new URLSearchParams({ video_id: videoId })}`)
    .then((r) => (r.ok ? r.json() : { chapters: [] })).catch(() => ({ chapters: [] }));
  const found = body.chapters || [], length = found.length ? found[found.length - 1].end : 0;
  if ($("player").dataset.id !== String(videoId) || !length) return;  // another video is playing by now
  for (const c of found.slice(1)) {
    const tick = document.createElement("div");
    tick.className = "chapter";
    tick.title = `${hms(c.start)} ${c.title}`;
    tick.style.left = `${(100 * c.start) / length}%`;
    $("marks").appendChild(tick);
  }
}

function play(n) {
  const r = results[n], player = $("player");
  if (!r) return;
  active = n;
  document.querySelectorAll(".card").forEach((c, i) => c.classList.toggle("active", i === n));
  document.querySelectorAll(".card")[n].focus({ preventScroll: true });
  $("viewer").hidden = false;
  showNow(r);
  $("clip").disabled = $("similar").disabled = false;
  $("external").hidden = r.playable;
  if (pendingSeek) player.removeEventListener("loadedmetadata", pendingSeek);
  pendingSeek = null;
  if (!r.playable) {
    $("external").textContent = `${T.external} ${r.player}`;
    player.pause();
    player.removeAttribute("src");
    player.load();
    delete player.dataset.id;
    for (const old of document.querySelectorAll("#marks .chapter")) old.remove();
    return;
  }
  const seek = () => {
    player.currentTime = r.seek;
    const d = player.duration || r.end;
    Object.assign($("mark").style, { left: `${(100 * r.start) / d}%`, width: `${(100 * (r.end - r.start)) / d}%` });
    player.play().catch(() => {});
  };
  if (player.dataset.id === String(r.video_id)) seek();
  else {
    showChapters(r.video_id);
    player.dataset.id = r.video_id;
    player.src = r.media;
    pendingSeek = () => { pendingSeek = null; seek(); };
    player.addEventListener("loadedmetadata", pendingSeek, { once: true });
  }
}

translatePage();
$("search").addEventListener("submit", (e) => { e.preventDefault(); search(0); });
$("similar").addEventListener("click", () => {
  const r = results[active];
  if (!r) return;
  lastQuery = { similar: r.video_id };
  ask(`/api/similar?${new URLSearchParams({ video_id: r.video_id, t: r.best_frame ?? r.seek })}`);
});
$("clip").addEventListener("click", () => {
  const r = results[active];
  if (r) window.location.href = r.clip;
});
const NOT_TYPED = new Set(["button", "checkbox", "color", "file", "hidden", "image", "radio", "range", "reset", "submit"]);

function typing(node) {
  // Whether keys pressed on `node` type text (or pick from a list) there.
  return node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT" ||
    (node.tagName === "INPUT" && !NOT_TYPED.has(node.type));
}

document.addEventListener("keydown", (e) => {
  if (e.metaKey || e.ctrlKey !== e.altKey || e.isComposing) return;  // a shortcut of its own; Ctrl+Alt is AltGr
  if (typing(e.target)) {  // "/" and letters type there; ↓ goes to the results (from a field without suggestions)
    if (e.key === "ArrowDown" && results.length && e.target.tagName === "INPUT" && !e.target.list) { e.preventDefault(); play(0); }
    return;
  }
  if (e.key === "/") { e.preventDefault(); $("q").focus(); $("q").select(); }
  else if ((e.key === "ArrowDown" || e.key === "j") && active < results.length - 1) { e.preventDefault(); play(active + 1); }
  else if ((e.key === "ArrowUp" || e.key === "k") && active > 0) { e.preventDefault(); play(active - 1); }
  else if (e.key === " " && active >= 0) { e.preventDefault(); const p = $("player"); p.paused ? p.play() : p.pause(); }
});
const drop = $("drop");
drop.addEventListener("click", () => $("image").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter") $("image").click(); });
$("image").addEventListener("change", () => { if ($("image").files[0]) searchFile($("image").files[0]); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) searchFile(e.dataTransfer.files[0]);
});
fetch("/api/videos").then(answer).then((body) => {
  const list = $("videos");
  for (const v of body.videos) {
    known.set(v.path, v.name);
    const o = document.createElement("option");
    o.value = v.path;  // sent back as the filter
    list.appendChild(o);
  }
  relabel();
}).catch(() => {});
