// vsearch's page: every string from the index (file names, subtitles, speech, screen text) is
// put on the page as text (textContent, text nodes), never parsed as HTML.
"use strict";
const $ = (id) => document.getElementById(id);

// The page's words in the browser's language: English, and Chinese for any zh-* browser.
const STRINGS = {
  en: {
    placeholder: "What are you looking for? e.g. the part about vector databases", search: "Search",
    video: "video or folder", all: "all", source: "source", language: "language", speaker: "speaker", any: "any",
    frames: "seen", audio: "heard", asr: "said", ocr: "shown", subtitle: "subtitles", cues: "text",
    drop: "Drop a picture or a sound here (or click) to find where it is seen or heard",
    clip: "Download this clip", similar: "More like this", more: "More results", empty: "query is empty",
    exportAll: "Download all as an edit list:",
    nothing: "no matching moments", searching: "searching…", score: "score",
    external: "This browser cannot play this file; open it with:",
    gone: (n) => `${n} indexed videos are gone from disk and were left out`,
    leftOut: (signal, why) => `${signal} left out: ${why}`,
    measured: (kind, model, fails, script) => `the ${kind} model ${model} does not ${fails} (measured)`,
    reads: (model, scripts, script) => `the sound model ${model} reads ${scripts} text, and this query is ${script}`,
  },
  zh: {
    placeholder: "想找什么？例如：讲到向量数据库的部分", search: "搜索",
    video: "视频或文件夹", all: "全部", source: "来源", language: "语言", speaker: "说话人", any: "不限",
    frames: "画面", audio: "声音", asr: "语音", ocr: "屏幕文字", subtitle: "字幕", cues: "文本",
    drop: "把图片或声音拖到这里（或点击），找出它在哪里出现或被听到",
    clip: "下载这一段", similar: "找相似画面", more: "更多结果", empty: "查询为空",
    exportAll: "全部下载为剪辑列表：",
    nothing: "没有匹配的片段", searching: "搜索中…", score: "得分",
    external: "浏览器无法播放此文件，请用以下命令打开：",
    gone: (n) => `${n} 个已索引的视频已不在磁盘上，已略去`,
    leftOut: (signal, why) => `已略去${signal}信号：${why}`,
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
let results = [], lastQuery = null, active = -1;
window.vsearch = { get results() { return results; }, lang: LANG };

function translatePage() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = T[node.dataset.i18n];
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = T[node.dataset.i18nPlaceholder];
}

function note(signal, why) {
  // The server's notes are English sentences of two shapes (query/search.py); anything else is shown as it came.
  const name = T[signal] || signal, text = why.replace(/^left out: /, "");
  let m = text.match(/^the (\w+) model (.+) does not (.+) \(measured\)$/);
  const script = m && (m[3].match(/\b(han|latin|other)\b/) || [])[1];
  if (m && script) return T.leftOut(name, T.measured(m[1], m[2], m[3], script));
  m = text.match(/^the sound model (.+) reads (.+) text, and this query is (\w+)$/);
  if (m) return T.leftOut(name, T.reads(m[1], m[2], m[3]));
  return T.leftOut(name, text);
}

function say(text, kind = "note") {
  const box = $("status");
  box.textContent = text;
  box.className = text ? kind : "";
}

function clearResults() {
  $("results").textContent = "";
  $("export").hidden = true;
  results = [];
  active = -1;
  $("viewer").classList.remove("playing");
}

function hms(s) {
  const t = Math.floor(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), x = t % 60;
  return [h, m, x].map((n) => String(n).padStart(2, "0")).join(":");
}

const WORDLIKE = /[\p{L}\p{N}_]/u;
const HAN = /[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/u;

function terms(query) {
  // Words of the query, and its runs of Han characters (Chinese has no spaces between words).
  const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 1 && !HAN.test(w));
  const han = query.match(/[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]{2,}/gu) || [];
  return [...new Set([...words, ...han])].sort((a, b) => b.length - a.length);
}

function matchAt(low, i, t) {
  // A word matches whole ("stole" not inside "stolen"); a run of Han characters matches anywhere.
  if (!low.startsWith(t, i)) return false;
  if (HAN.test(t)) return true;
  return !(i > 0 && WORDLIKE.test(low[i - 1])) && !(i + t.length < low.length && WORDLIKE.test(low[i + t.length]));
}

function highlighted(text, query) {
  // The cue as text nodes, with the query's terms in <mark>; nothing is parsed as HTML.
  const box = document.createElement("span"), low = text.toLowerCase(), found = terms(query);
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
  if (r.cue) node.querySelector(".cue").appendChild(highlighted(r.cue, lastQuery.q || ""));
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
  const frag = document.createDocumentFragment();
  found.forEach((r, i) => frag.appendChild(card(r, first + i)));
  box.appendChild(frag);
  // Why a signal was left out, and videos gone from disk: shown with the results or in place of them.
  const why = Object.entries(body.notes || {}).map(([signal, reason]) => note(signal, reason));
  if ((body.gone || []).length) why.push(T.gone(body.gone.length));
  if (!results.length) say([T.nothing, ...why].join(" · "));
  else if (!append) say(why.join(" · "));
  if (lastQuery.q !== undefined && results.length) offerEditList();
  if (found.length === body.k && lastQuery.q !== undefined) {  // a full page: there may be more
    const more = document.createElement("button");
    more.className = "more";
    more.textContent = T.more;
    more.addEventListener("click", () => search(results.length));
    box.appendChild(more);
  }
}

function offerEditList() {
  // The moments shown for a text query, as /api/export writes them: the same query, filters and count.
  const params = queryParams(lastQuery.q);
  params.set("k", Math.min(results.length, 200));
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
  if (!append) say(T.searching);
  try {
    render(await answer(await fetch(url, init)), append);
  } catch (e) {
    clearResults();
    say(e.message, "error");
  }
}

function search(offset = 0) {
  const q = $("q").value.trim();
  if (!q) { clearResults(); say(T.empty, "error"); $("q").focus(); return; }
  lastQuery = { q };
  const params = queryParams(q);
  params.set("offset", offset);
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
  $("viewer").classList.add("playing");
  $("now").textContent = `${r.name}  ${hms(r.start)}–${hms(r.end)}`;
  $("clip").disabled = $("similar").disabled = false;
  $("external").hidden = r.playable;
  if (!r.playable) {
    $("external").textContent = `${T.external} ${r.player}`;
    player.removeAttribute("src");
    player.load();
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
    player.addEventListener("loadedmetadata", seek, { once: true });
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
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") {
    if (e.key === "ArrowDown" && results.length) { e.preventDefault(); play(0); }
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
  for (const v of body.videos) { const o = document.createElement("option"); o.value = v.path; list.appendChild(o); }
}).catch(() => {});
