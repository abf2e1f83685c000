// vsearch's page: every string from the index (file names, subtitles, speech, screen text) is
// put on the page as text (textContent, text nodes), never parsed as HTML.
"use strict";
const $ = (id) => document.getElementById(id);
const PAGE = 20;
const SENSES = { frames: "seen", audio: "heard", asr: "said", ocr: "shown", subtitle: "subtitle" };
let results = [], lastQuery = null, active = -1;
window.vsearch = { get results() { return results; } };

function hms(s) {
  const t = Math.floor(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), x = t % 60;
  return [h, m, x].map((n) => String(n).padStart(2, "0")).join(":");
}

function terms(query) {
  // Words of the query, and its runs of Han characters (Chinese has no spaces between words).
  const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 1);
  const han = query.match(/[\u3400-\u9fff]{2,}/g) || [];
  return [...new Set([...words, ...han])].sort((a, b) => b.length - a.length);
}

function highlighted(text, query) {
  // The cue as text nodes, with the query's terms in <mark>; nothing is parsed as HTML.
  const box = document.createElement("span"), low = text.toLowerCase(), found = terms(query);
  let i = 0;
  while (i < text.length) {
    let hit = null;
    for (const t of found) if (low.startsWith(t, i)) { hit = t; break; }
    if (hit) {
      const mark = document.createElement("mark");
      mark.textContent = text.slice(i, i + hit.length);
      box.appendChild(mark);
      i += hit.length;
    } else {
      let j = i + 1;
      while (j < text.length && !found.some((t) => low.startsWith(t, j))) j++;
      box.appendChild(document.createTextNode(text.slice(i, j)));
      i = j;
    }
  }
  return box;
}

function card(r, n) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.querySelector(".thumb").src = r.thumb;
  node.querySelector(".name").textContent = r.name;
  node.querySelector(".when").textContent = `${hms(r.start)}–${hms(r.end)}`;
  if (r.cue) node.querySelector(".cue").appendChild(highlighted(r.cue, lastQuery.q || ""));
  node.querySelector(".sense").textContent = SENSES[r.source] || r.source || "seen";
  node.querySelector(".score").textContent = `score ${r.score.toFixed(3)}`;
  node.addEventListener("click", () => play(n));
  return node;
}

function render(found, append, notes = {}) {
  const box = $("results");
  if (!append) { box.textContent = ""; results = []; active = -1; }
  box.querySelector(".more")?.remove();
  const first = results.length;
  results.push(...found);
  const frag = document.createDocumentFragment();
  found.forEach((r, i) => frag.appendChild(card(r, first + i)));
  box.appendChild(frag);
  // Why a signal was left out of the query, shown with the results or in place of them.
  const why = Object.entries(notes).map(([signal, reason]) => `${signal} ${reason}`).join("; ");
  if (!results.length) $("status").textContent = why ? `no matching moments: ${why}` : "no matching moments";
  else if (!append && why) $("status").textContent = why;
  if (found.length === PAGE && lastQuery.q !== undefined) {
    const more = document.createElement("button");
    more.className = "more";
    more.textContent = "More results";
    more.addEventListener("click", () => search(results.length));
    box.appendChild(more);
  }
}

async function answer(response) {
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function search(offset = 0) {
  const q = $("q").value.trim();
  if (!q) return;
  lastQuery = { q };
  $("status").textContent = "";
  const params = new URLSearchParams({ q, k: PAGE, offset });
  for (const name of ["video", "source", "lang", "speaker"]) if ($(name).value) params.set(name, $(name).value);
  try {
    const body = await answer(await fetch(`/api/find?${params}`));
    render(body.results, offset > 0, body.notes || {});
  } catch (e) { $("status").textContent = e.message; }
}

async function searchFile(file) {
  // A sound goes to the sound model, anything else to the image model (which names what it cannot read).
  const field = /^(audio|video)\//.test(file.type) ? "audio" : "image";
  lastQuery = { [field]: file.name };
  const form = new FormData();
  form.append(field, file);
  form.append("k", PAGE);
  $("status").textContent = "";
  try {
    render((await answer(await fetch("/api/find", { method: "POST", body: form }))).results, false);
  } catch (e) { $("status").textContent = e.message; }
}

function play(n) {
  const r = results[n], player = $("player");
  if (!r) return;
  active = n;
  document.querySelectorAll(".card").forEach((c, i) => c.classList.toggle("active", i === n));
  document.querySelectorAll(".card")[n].focus();
  $("now").textContent = `${r.name}  ${hms(r.start)}–${hms(r.end)}`;
  $("clip").disabled = $("similar").disabled = false;
  $("external").hidden = r.playable;
  if (!r.playable) {
    $("external").textContent = `This browser cannot play this file; open it with: ${r.player}`;
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
    player.dataset.id = r.video_id;
    player.src = r.media;
    player.addEventListener("loadedmetadata", seek, { once: true });
  }
}

$("search").addEventListener("submit", (e) => { e.preventDefault(); search(0); });
$("similar").addEventListener("click", async () => {
  const r = results[active];
  if (!r) return;
  lastQuery = { similar: r.video_id };
  const params = new URLSearchParams({ video_id: r.video_id, t: r.best_frame ?? r.seek, k: PAGE });
  try {
    render((await answer(await fetch(`/api/similar?${params}`))).results, false);
  } catch (e) { $("status").textContent = e.message; }
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
  if (e.key === "/") { e.preventDefault(); $("q").focus(); }
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
